"""Replayed signed requests (the same body again inside Slack's 5-minute window) never act twice, on any replica."""

from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from sqlmodel import Session, func, select

from bot.listeners.replay import request_key
from bot.localslack.requests import SlackSender
from bot.services import replay
from storage.models import AuditEvent, Deviation, Incident, KpiMeasurement, RequestReplay
from tests.harness import SIGNING_SECRET, TEAM, Steward, reply_text

OWNER, PM, MLOPS = "UOWNER0001", "UPM0000001", "UMLOPS0001"
T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


class Recording:
    """Wrap a sender's post so the exact signed request can be sent again (a replay, byte for byte)."""

    def __init__(self, sender: SlackSender):
        self.sent: list[dict] = []
        self._post = sender.post

        def post(body, *, content_type, timestamp=None, secret=None, extra_headers=None):
            timestamp = timestamp if timestamp is not None else int(datetime.now(UTC).timestamp())
            self.sent.append({"body": body, "content_type": content_type, "timestamp": timestamp,
                              "extra_headers": extra_headers})
            return self._post(body, content_type=content_type, timestamp=timestamp, secret=secret,
                              extra_headers=extra_headers)

        sender.post = post

    def replay(self, sender: SlackSender | None = None, index: int = -1):
        """Send the recorded request again with its own timestamp and signature (optionally to another replica)."""
        sent = self.sent[index]
        target = sender.post if sender is not None else self._post
        return target(sent["body"], content_type=sent["content_type"], timestamp=sent["timestamp"],
                      extra_headers=sent["extra_headers"])


@pytest.fixture
def staffed(steward):
    with freeze_time(T0 - timedelta(days=1)):
        steward.command("initiative create churn Churn predictor stage=operations since=2026-01-05",
                        channel="C0OPS")
        for alias, user in (("owner", OWNER), ("pm", PM), ("mlops", MLOPS)):
            steward.command(f"role assign churn {alias} <@{user}>")
    steward.drain(T0 - timedelta(days=1))
    return steward


def count(engine, model) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def audit_actions(engine, action: str) -> int:
    with Session(engine) as session:
        return len([e for e in session.exec(select(AuditEvent.action)) if e == action])


def test_three_replays_of_incident_declare_make_one_incident_and_one_page(staffed, slack):
    recording = Recording(staffed.sender)
    with freeze_time(T0):
        first = staffed.command("incident declare churn sev1 Scores are all zero", user=PM)
        replays = [recording.replay() for _ in range(3)]
    staffed.drain(T0)
    assert count(staffed.engine, Incident) == 1
    assert audit_actions(staffed.engine, "incident.declared") == 1
    assert len([m for m in slack.posts("C0OPS") if "INC1" in m.get("text", "")
                and "thread_ts" not in m]) == 1
    assert len([m for m in slack.posts("C0OPS") if "INC2" in m.get("text", "")]) == 0
    for again in replays:
        assert again.status == 200
        assert reply_text(again) == reply_text(first)  # the same answer, not a second incident


@pytest.mark.parametrize("text, model", [
    ("kpi record churn latency 2.5", KpiMeasurement),
    ("deviation log churn Scores drifted after the May release", Deviation),
])
def test_replayed_records_are_recorded_once(staffed, text, model):
    recording = Recording(staffed.sender)
    with freeze_time(T0):
        before = count(staffed.engine, model)
        staffed.command(text, user=MLOPS)
        recording.replay()
        recording.replay()
    assert count(staffed.engine, model) == before + 1


def test_a_replayed_click_does_not_act_again(staffed, slack):
    with freeze_time(T0):
        staffed.command("incident declare churn sev1 Scores are all zero", user=PM)
    staffed.drain(T0)
    root = next(m for m in slack.posts("C0OPS") if "thread_ts" not in m and "INC1" in m["text"])
    recording = Recording(staffed.sender)
    with freeze_time(T0 + timedelta(minutes=1)):
        staffed.sender.click(action_id="incident_ack", value="INC1", user=MLOPS, channel="C0OPS", message=root,
                             block_id="incident_actions")
        answered = len(slack.state.responses) + len(slack.state.ephemerals)
        again = recording.replay()
    assert again.status == 200 and again.body == b""
    # The first click was answered; the replay ran no flow, so nothing more was said ("already acknowledged").
    assert len(slack.state.responses) + len(slack.state.ephemerals) == answered
    assert audit_actions(staffed.engine, "incident.acknowledged") == 1


def test_a_replayed_form_submission_does_not_act_again(staffed, slack):
    with freeze_time(T0):
        staffed.command("incident declare churn sev2 Drift alarm", user=PM)
    staffed.drain(T0)
    root = next(m for m in slack.posts("C0OPS") if "thread_ts" not in m and "INC1" in m["text"])
    with freeze_time(T0 + timedelta(minutes=5)):
        staffed.sender.click(action_id="incident_resolve", value="INC1", user=PM, channel="C0OPS", message=root,
                             block_id="incident_actions")
        [opened] = slack.calls_to("views.open")
        recording = Recording(staffed.sender)
        first = staffed.sender.submit_view(
            callback_id="incident_resolve", user=PM, private_metadata=opened.args["view"]["private_metadata"],
            values={"resolution": {"text": {"type": "plain_text_input", "value": "Retrained on May data"}}})
        again = recording.replay()
    assert first.status == 200 and first.body == b""
    # Not "INC1 was already resolved" under the field: the same view (id and hash) is simply closed again.
    assert again.status == 200 and again.body == b""
    assert audit_actions(staffed.engine, "incident.resolved") == 1


def test_a_retried_event_with_the_same_event_id_is_handled_once(staffed, slack):
    event = {"type": "app_home_opened", "user": PM, "channel": "D0PM", "tab": "home", "event_ts": "1.0"}
    with freeze_time(T0):
        first = staffed.sender.event(event, event_id="Ev0REPLAY01")
        retried = staffed.sender.event(event, event_id="Ev0REPLAY01", retry_num=1)
        other = staffed.sender.event(event, event_id="Ev0REPLAY02")
    staffed.drain(T0)
    assert first.status == retried.status == other.status == 200
    with Session(staffed.engine) as session:
        keys = sorted(row.key for row in session.exec(select(RequestReplay)) if row.key.startswith("event:"))
    assert keys == ["event:Ev0REPLAY01", "event:Ev0REPLAY02"]  # the retry was answered from the first claim


def test_a_replay_sent_to_another_replica_does_not_act_again(staffed, settings, slack):
    other = Steward(slack=slack, settings=settings)
    try:
        to_other = SlackSender(bot_url=f"{other.url}/slack/events", signing_secret=SIGNING_SECRET, team_id=TEAM,
                               response_base=slack.base_url)
        recording = Recording(staffed.sender)
        with freeze_time(T0):
            staffed.command("incident declare churn sev1 Scores are all zero", user=PM)
            again = recording.replay(to_other)
        assert again.status == 200
        assert count(staffed.engine, Incident) == 1
        assert "Declared *INC1*" in reply_text(again)
    finally:
        other.stop()


def test_a_replay_while_the_first_is_still_running_is_not_run(staffed):
    services = staffed.runtime.services
    assert replay.claim(services, team_id=TEAM, key="command:trigger-slow", now=T0) is None
    earlier = replay.claim(services, team_id=TEAM, key="command:trigger-slow", now=T0 + timedelta(seconds=2))
    assert earlier is not None and not earlier.done and earlier.seen_at == T0
    replay.finish(services, team_id=TEAM, key="command:trigger-slow", now=T0 + timedelta(seconds=3), answer="{}")
    earlier = replay.claim(services, team_id=TEAM, key="command:trigger-slow", now=T0 + timedelta(minutes=9))
    assert earlier is not None and earlier.done and earlier.answer == "{}"


def test_ids_are_forgotten_after_their_window(staffed):
    services = staffed.runtime.services
    assert replay.claim(services, team_id=TEAM, key="command:old", now=T0) is None
    # After the window Slack refuses the old signature anyway; the id is free (and purged) again.
    later = T0 + replay.KEEP_REQUEST + timedelta(minutes=2)
    assert replay.claim(services, team_id=TEAM, key="command:new", now=later) is None
    with Session(staffed.engine) as session:
        assert sorted(row.key for row in session.exec(select(RequestReplay))
                      if row.key.startswith("command:") and row.key in ("command:old", "command:new")) == \
            ["command:new"]


def test_request_keys_of_each_kind():
    assert request_key({"command": "/steward", "team_id": "T1", "trigger_id": "tr1"}) == ("T1", "command:tr1")
    assert request_key({"type": "block_actions", "team": {"id": "T1"}, "user": {"id": "U1"},
                        "actions": [{"action_ts": "1.5"}]}) == ("T1", "action:1.5:U1")
    assert request_key({"type": "view_submission", "team": {"id": "T1"}, "user": {"id": "U1"},
                        "view": {"id": "V1", "hash": "h1"}})[1].startswith("view:V1:h1:")
    # The same form submitted again after an inline error, with new values, is not a replay.
    typed = [request_key({"type": "view_submission", "team": {"id": "T1"}, "user": {"id": "U1"},
                          "view": {"id": "V1", "hash": "h1", "state": {"values": {"r": {"t": {"value": text}}}}}})
             for text in ("", "Retrained")]
    assert typed[0] != typed[1]
    assert request_key({"type": "event_callback", "team_id": "T1", "event_id": "Ev1"}) == ("T1", "event:Ev1")
    assert request_key({"type": "url_verification", "challenge": "x"}) is None
    _team, key = request_key({"command": "/steward", "team_id": "T1", "trigger_id": "x" * 500})
    assert len(key) <= 200 and key.startswith("command:sha256:")
