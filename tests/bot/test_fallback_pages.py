"""Nobody is ever left unpaged (issue 15 point 2): a ladder that runs out, or whose remaining levels are vacant,
pages the fallback (the admins by default, or the channel and people in STEWARD_CONFIG) and repeats the last
level reached at the severity's interval until someone acknowledges; automatic incidents too."""

from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from sqlmodel import Session, select

from storage.models import AuditEvent, Incident
from tests.harness import ADMIN, Steward, make_settings, message_text
from tests.staffing import thread_texts

OWNER, PM, DATA, MLOPS, ONCALL = "UOWNER0001", "UPM0000001", "UDATA00001", "UMLOPS0001", "UONCALL001"
T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def setup(steward, roles):
    with freeze_time(T0 - timedelta(days=1)):
        steward.command("initiative create churn Churn predictor stage=operations since=2026-01-05",
                        channel="C0OPS")
        for alias, user in roles:
            steward.command(f"role assign churn {alias} <@{user}>")
    steward.drain(T0 - timedelta(days=1))
    return steward


def declare(steward, severity="sev1", minutes=0):
    with freeze_time(at(minutes)):
        steward.command(f"incident declare churn {severity} Scores are all zero", user=MLOPS)
    steward.drain(at(minutes))


def dms(slack, user):
    return slack.posts("D" + user[1:])


def test_a_sev1_with_its_upper_roles_vacant_reaches_the_fallback_and_keeps_reaching_people(steward, slack):
    setup(steward, [("mlops", MLOPS)])  # nobody holds levels 2, 3 and 4
    declare(steward)
    steward.runtime.sweep(at(15))
    texts = thread_texts(slack)
    assert "*Level 4* has nobody to page: executive sponsor is vacant. There is no level after it." in texts[3]
    assert ":sos: Every remaining level is vacant" in texts[4] and f"Paging the fallback: <@{ADMIN}>" in texts[4]
    assert "Repeated every 30 min until someone acknowledges." in texts[4]
    [admin_page] = dms(slack, ADMIN)
    assert "paged as the fallback: every remaining level of the ladder is vacant" in message_text(admin_page)

    steward.runtime.sweep(at(44))
    assert len(thread_texts(slack)) == 5  # not yet
    steward.runtime.sweep(at(45))
    texts = thread_texts(slack)
    assert "still unacknowledged after the whole ladder (repeat 1)" in texts[5]
    assert f"Paging level 1 again: <@{MLOPS}> (MLOps engineer)" in texts[5]
    assert len(dms(slack, MLOPS)) == 2 and len(dms(slack, ADMIN)) == 2
    assert "Paged again (repeat 1)" in message_text(dms(slack, MLOPS)[1])
    steward.runtime.sweep(at(45))  # a second sweep at the same moment pages nobody twice
    assert len(thread_texts(slack)) == 6

    # The admin holds no role, but the fallback may acknowledge: from the direct message.
    page = dms(slack, ADMIN)[1]
    with freeze_time(at(50)):
        steward.sender.click(action_id="incident_ack", value="INC1", user=ADMIN, channel=page["channel"],
                             message=page, block_id="page_actions")
    steward.drain(at(50))
    assert f"Acknowledged by <@{ADMIN}> after 50 min" in thread_texts(slack)[-1]
    for minutes in (75, 120, 600):
        steward.runtime.sweep(at(minutes))
    assert not any("repeat 2" in t for t in thread_texts(slack))
    assert all(m["edited"] for m in dms(slack, ADMIN) + dms(slack, MLOPS))
    with Session(steward.engine) as session:
        actions = [e.action for e in session.exec(select(AuditEvent))]
    assert actions.count("incident.fallback_paged") == 2


def test_an_exhausted_staffed_ladder_repeats_the_last_level_and_the_fallback(steward, slack):
    setup(steward, [("mlops", MLOPS), ("pm", PM)])
    declare(steward, "sev3")
    steward.runtime.sweep(at(240))  # level 2: the product manager; the ladder has run out
    assert len(thread_texts(slack)) == 2 and not dms(slack, ADMIN)
    steward.runtime.sweep(at(479))
    assert len(thread_texts(slack)) == 2
    steward.runtime.sweep(at(480))
    texts = thread_texts(slack)
    assert f"(repeat 1). Paging level 2 again: <@{PM}> (product manager). Fallback: <@{ADMIN}>." in texts[2]
    assert "Repeated every 240 min" in texts[2]
    with Session(steward.engine) as session:
        incident = session.exec(select(Incident)).one()
    assert incident.repeats == 1 and incident.next_escalation_at == at(720)


def test_a_sev4_with_its_only_level_vacant_pages_the_fallback_once(steward, slack):
    setup(steward, [("pm", PM)])
    with freeze_time(at(0)):
        steward.command("incident declare churn sev4 Small glitch", user=PM)
    steward.drain(at(0))
    texts = thread_texts(slack)
    assert "has nobody to page" in texts[0] and "Paging the fallback" in texts[1]
    assert "This severity is not paged again." in texts[1]
    for minutes in (60, 600, 6000):
        steward.runtime.sweep(at(minutes))
    assert len(thread_texts(slack)) == 2


@pytest.fixture
def configured(tmp_path, database_url, slack):
    config = tmp_path / "steward.yaml"
    config.write_text("escalation:\n  fallback: [CESCALATE1, UONCALL001]\n  repeat_minutes: {sev2: 20}\n")
    slack.add_channel("CESCALATE1", "escalations")
    bot = Steward(slack=slack, settings=make_settings(database_url=database_url, slack=slack,
                                                      steward_config=str(config)))
    yield bot
    bot.stop()


def test_the_configured_fallback_channel_and_people_are_paged_at_the_configured_interval(configured, slack):
    setup(configured, [("mlops", MLOPS)])
    declare(configured, "sev2")
    configured.runtime.sweep(at(30))  # level 2 (product manager) and 3 (business owner) are vacant
    [in_channel] = slack.posts("CESCALATE1")
    assert "INC1 · SEV2 · Scores are all zero" in message_text(in_channel)
    assert "This channel is paged as the fallback" in message_text(in_channel)
    assert [e["action_id"] for b in in_channel["blocks"] if b["type"] == "actions" for e in b["elements"]] == [
        "incident_ack"]
    assert len(dms(slack, ONCALL)) == 1 and not dms(slack, ADMIN)
    assert "Paging the fallback: <@UONCALL001>, <#CESCALATE1>" in thread_texts(slack)[-1]
    configured.runtime.sweep(at(50))
    assert len(slack.posts("CESCALATE1")) == 2 and len(dms(slack, ONCALL)) == 2
    # The on-call person named in the configuration may acknowledge without a role.
    with freeze_time(at(51)):
        configured.command("incident ack INC1", user=ONCALL)
    configured.drain(at(51))
    configured.runtime.sweep(at(80))
    assert len(slack.posts("CESCALATE1")) == 2
    for message in slack.posts("CESCALATE1"):  # updated in place, like the direct pages
        assert message["edited"] and f"Acknowledged by <@{ONCALL}>" in message_text(message)
        assert not [b for b in message["blocks"] if b["type"] == "actions"]


def test_a_bad_fallback_entry_stops_start_up_with_one_line(tmp_path):
    from bot.errors import ConfigError
    from bot.org_config import load_org_config

    config = tmp_path / "bad.yaml"
    config.write_text("escalation:\n  fallback: ['#escalations']\n")
    with pytest.raises(ConfigError, match="is not a Slack channel id"):
        load_org_config(config)
    config.write_text("escalation:\n  repeat_minutes: {sev1: 1}\n")
    with pytest.raises(ConfigError, match="repeat every 5 to 10080 minutes"):
        load_org_config(config)


def test_an_automatic_kpi_breach_incident_is_repeated_until_acknowledged(steward, slack):
    setup(steward, [("owner", OWNER), ("pm", PM), ("data", DATA), ("mlops", MLOPS)])
    with freeze_time(T0 - timedelta(hours=1)):
        for kpi, value in (("task-completion", 90), ("exception-rate", 8), ("data-quality", 95), ("adoption", 60),
                           ("latency", 2)):
            steward.command(f"kpi threshold churn {kpi} {value}", user=PM)
        steward.command("signoff churn baseline approve", user=OWNER)
        steward.command("kpi record churn exception-rate 12.5", user=DATA, channel="C0OPS")
    steward.drain(T0 - timedelta(hours=1))
    with Session(steward.engine) as session:
        incident = session.exec(select(Incident)).one()
    assert incident.declared_by == "steward" and incident.severity == "sev3"
    start = T0 - timedelta(hours=1)
    steward.runtime.sweep(start + timedelta(minutes=240))  # level 2
    steward.runtime.sweep(start + timedelta(days=84))  # 84 days later, after downtime: one repeat for all
    texts = thread_texts(slack)
    assert len(texts) == 3 and "(repeat 503)" in texts[2] and f"<@{PM}> (product manager)" in texts[2]
    steward.runtime.sweep(start + timedelta(days=84, minutes=240))
    assert "(repeat 504)" in thread_texts(slack)[3]
