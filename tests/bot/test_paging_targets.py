"""Hand-off to PagerDuty (Events API v2) and signed webhooks: trigger, acknowledge, resolve, each exactly once."""

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from freezegun import freeze_time
from sqlmodel import Session, select

from bot.errors import ConfigError
from bot.runtime import build_runtime
from storage.models import IncidentTimelineEntry, OutboxMessage
from tests.harness import Steward, make_settings, reply_text
from tests.pagerduty_server import PagerDuty, WebhookReceiver, validate

OWNER, PM, DATA, MLOPS, SPONSOR, IT = ("UOWNER0001", "UPM0000001", "UDATA00001", "UMLOPS0001", "USPONSOR01",
                                       "UITOWNER01")
ROUTING_KEY = "R0UT1NGKEY0123456789abcdefABCDEF"
SECRET = "webhook-secret-0123456789"
T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
DEDUP = "T0LOCAL-INC1"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture
def pagerduty():
    server = PagerDuty().start()
    yield server
    server.stop()


@pytest.fixture
def webhook():
    server = WebhookReceiver().start()
    yield server
    server.stop()


@pytest.fixture
def paged(tmp_path, database_url, slack, pagerduty, webhook):
    config = tmp_path / "steward.yaml"
    config.write_text(yaml.safe_dump({"pagerduty": {"initiatives": {"churn": {"routing_key": ROUTING_KEY}}},
                                      "webhooks": {"initiatives": {"churn": {"url": webhook.url, "secret": SECRET}}}}))
    bot = Steward(slack=slack, settings=make_settings(database_url=database_url, slack=slack, steward_config=config,
                                                      pagerduty_events_url=pagerduty.events_url))
    with freeze_time(T0 - timedelta(days=1)):
        bot.command("initiative create churn Churn predictor stage=operations since=2026-01-05", channel="C0OPS")
        bot.command("initiative create other Other model stage=operations since=2026-01-05", channel="C0OPS")
        for key in ("churn", "other"):
            for alias, user in (("owner", OWNER), ("pm", PM), ("data", DATA), ("mlops", MLOPS),
                                ("sponsor", SPONSOR), ("it", IT)):
                bot.command(f"role assign {key} {alias} <@{user}>")
    bot.drain(T0 - timedelta(days=1))
    yield bot
    bot.stop()


def command(bot, text, *, user, seconds):
    with freeze_time(at(seconds)):
        response = bot.command(text, user=user)
    return reply_text(response)


def paging_rows(bot) -> list[OutboxMessage]:
    with Session(bot.engine) as session:
        return list(session.exec(select(OutboxMessage).where(OutboxMessage.purpose.startswith("paging."))
                                 .order_by(OutboxMessage.id)))


def test_trigger_acknowledge_resolve_reach_pagerduty_exactly_once_through_429s_5xx_and_drops(paged, pagerduty,
                                                                                              webhook):
    pagerduty.answer_next("429", "drop")
    command(paged, "incident declare churn sev1 Scores are all zero", user=PM, seconds=0)
    paged.drain(at(0))  # 429: retried after a backoff, nothing else sent meanwhile
    assert pagerduty.actions() == []
    paged.drain(at(10))
    assert len(pagerduty.requests) == 1  # still waiting out the 429
    paged.drain(at(31))  # the connection is dropped: retried again
    paged.drain(at(60))
    assert pagerduty.actions() == [("trigger", DEDUP)]
    [trigger] = pagerduty.accepted
    assert trigger["routing_key"] == ROUTING_KEY
    assert trigger["payload"]["summary"] == "INC1 [sev1] churn: Scores are all zero"
    assert (trigger["payload"]["source"], trigger["payload"]["severity"]) == ("steward/churn", "critical")

    pagerduty.answer_next("503")
    command(paged, "incident ack INC1", user=MLOPS, seconds=300)
    paged.drain(at(300))
    paged.drain(at(320))
    command(paged, "incident resolve INC1 Rolled back the model", user=MLOPS, seconds=600)
    paged.drain(at(600))
    for later in (700, 3600, 86400):  # nothing is sent twice
        paged.drain(at(later))
    assert pagerduty.actions() == [("trigger", DEDUP), ("acknowledge", DEDUP), ("resolve", DEDUP)]
    assert [r["status"] for r in pagerduty.requests] == [429, None, 202, 503, 202, 202]
    assert pagerduty.alerts_opened == 1 and pagerduty.alerts[DEDUP].status == "resolved"
    # The other initiative has no paging service: nothing is queued for it.
    command(paged, "incident declare other sev2 Slow", user=PM, seconds=700)
    paged.drain(at(700))
    assert {r.initiative_id for r in paging_rows(paged)} == {paging_rows(paged)[0].initiative_id}
    # The timeline says what went to the paging services.
    with Session(paged.engine) as session:
        kept = [e.text for e in session.exec(select(IncidentTimelineEntry)
                                             .where(IncidentTimelineEntry.kind == "paging_service"))]
    assert "trigger sent to PagerDuty" in kept and "resolve sent to the webhook" in kept


def test_the_webhook_is_signed_and_delivered_once_through_a_dropped_connection(paged, webhook):
    webhook.answer_next("drop", "429")
    command(paged, "incident declare churn sev2 Slow scoring", user=PM, seconds=0)
    for seconds in (0, 10, 20, 60):
        paged.drain(at(seconds))
    [delivered] = webhook.delivered()
    assert [r["status"] for r in webhook.requests] == [None, 429, 200]
    body, headers = delivered["body"], delivered["headers"]
    event = json.loads(body)
    assert (event["event"], event["incident"], event["initiative"], event["severity"], event["dedup_key"]) == (
        "incident.triggered", "INC1", "churn", "sev2", DEDUP)
    stamp = headers["X-Steward-Timestamp"]
    expected = hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert headers["X-Steward-Signature"] == f"sha256={expected}"
    assert headers["Idempotency-Key"] == paging_rows(paged)[1].key


def test_a_refused_event_fails_and_initiative_show_says_so(paged, pagerduty):
    pagerduty.answer_next("400")
    command(paged, "incident declare churn sev3 Odd numbers", user=PM, seconds=0)
    for seconds in (0, 60, 600):
        paged.drain(at(seconds))
    assert pagerduty.actions() == [] and len(pagerduty.requests) == 1  # a 400 is not retried
    shown = command(paged, "initiative show churn", user=PM, seconds=700)
    assert "paging.pagerduty.trigger" in shown and "PagerDuty refused the event (400)" in shown
    assert "gave up" in shown


def test_a_bad_routing_key_stops_start_up_with_one_line(tmp_path, database_url, slack):
    config = tmp_path / "steward.yaml"
    config.write_text(yaml.safe_dump({"pagerduty": {"initiatives": {"churn": {"routing_key": "short"}}}}))
    with pytest.raises(ConfigError, match=r"pagerduty\.initiatives\.churn\.routing_key"):
        build_runtime(make_settings(database_url=database_url, slack=slack, steward_config=config),
                      with_app=False)


def test_the_local_events_api_validates_as_pagerduty_documents():
    good = {"routing_key": ROUTING_KEY, "event_action": "trigger", "dedup_key": "k",
            "payload": {"summary": "s", "source": "host", "severity": "error"}}
    assert validate(good) == []
    assert validate({"routing_key": ROUTING_KEY, "event_action": "resolve", "dedup_key": "k"}) == []
    assert "routing_key" in validate({**good, "routing_key": "short"})[0]
    assert "event_action" in validate({**good, "event_action": "snooze"})[0]
    assert "dedup_key" in validate({"routing_key": ROUTING_KEY, "event_action": "acknowledge"})[0]
    assert "dedup_key" in validate({**good, "dedup_key": "x" * 256})[0]
    assert "summary" in validate({**good, "payload": {**good["payload"], "summary": "x" * 1025}})[0]
    assert "source" in validate({**good, "payload": {**good["payload"], "source": ""}})[0]
    assert "severity" in validate({**good, "payload": {**good["payload"], "severity": "sev1"}})[0]
    assert "payload" in validate({k: v for k, v in good.items() if k != "payload"})[0]


def test_pagerduty_may_take_over_from_a_later_level(tmp_path, database_url, slack, pagerduty):
    config = tmp_path / "steward.yaml"
    config.write_text(yaml.safe_dump({"pagerduty": {"initiatives": {"churn": {"routing_key": ROUTING_KEY,
                                                                              "from_level": 2}}}}))
    bot = Steward(slack=slack, settings=make_settings(database_url=database_url, slack=slack, steward_config=config,
                                                      pagerduty_events_url=pagerduty.events_url))
    try:
        with freeze_time(T0 - timedelta(days=1)):
            bot.command("initiative create churn Churn predictor stage=operations since=2026-01-05", channel="C0OPS")
            for alias, user in (("owner", OWNER), ("pm", PM), ("data", DATA), ("mlops", MLOPS)):
                bot.command(f"role assign churn {alias} <@{user}>")
        command(bot, "incident declare churn sev1 Scores are all zero", user=PM, seconds=0)
        command(bot, "incident declare churn sev4 Typo in a label", user=PM, seconds=1)
        bot.drain(at(1))
        assert pagerduty.actions() == []  # level 1 is Steward's
        bot.runtime.sweep(at(16 * 60))  # level 2 of the sev1: PagerDuty takes over
        bot.runtime.sweep(at(31 * 60))  # level 3: nothing more
        command(bot, "incident ack INC1", user=MLOPS, seconds=32 * 60)
        command(bot, "incident ack INC2", user=MLOPS, seconds=32 * 60)  # never triggered: nothing to acknowledge
        bot.drain(at(32 * 60))
        assert pagerduty.actions() == [("trigger", DEDUP), ("acknowledge", DEDUP)]
    finally:
        bot.stop()
