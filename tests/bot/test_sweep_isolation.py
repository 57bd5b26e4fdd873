"""A poisoned row never stops a sweep: every healthy initiative still gets all its messages, and the bad rows
are named in the sweep's report and in /healthz."""

from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from sqlmodel import Session, select

from storage.models import OutboxMessage
from tests.harness import ADMIN, message_text
from tests.tamper import tamper

OWNER, PM, DATA, MLOPS = "UOWNER0001", "UPM0000001", "UDATA00001", "UMLOPS0001"
HEALTHY = {"alpha": "C0ALPHA", "bravo": "C0BRAVO", "charlie": "C0CHARLIE"}
ZONELESS, UNDRAWABLE = ("zoneless", "C0ZONE"), ("undrawable", "C0CHART")
CREATED = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
DUE = datetime(2026, 2, 5, 10, 0, tzinfo=UTC)  # the first monthly reviews (UTC initiatives)
REMINDED = datetime(2026, 2, 9, 10, 30, tzinfo=UTC)  # Thursday + 3 days is a Sunday: Monday's reminder


@pytest.fixture
def poisoned(steward, slack):
    """Three healthy initiatives, one with an invalid time zone in its row, one with a KPI no chart can draw."""
    slack.add_channel("C0AUDIT", "audit")
    runtime = steward.runtime
    runtime.services.settings = runtime.services.settings.model_copy(update={"steward_audit_channel": "C0AUDIT"})
    everything = {**HEALTHY, ZONELESS[0]: ZONELESS[1], UNDRAWABLE[0]: UNDRAWABLE[1]}
    with freeze_time(CREATED):
        for key, channel in everything.items():
            slack.add_channel(channel, key)
            steward.command(f"initiative create {key} {key.title()} stage=operations since=2026-01-05",
                            channel=channel)
            for alias, user in (("owner", OWNER), ("pm", PM), ("data", DATA), ("mlops", MLOPS)):
                steward.command(f"role assign {key} {alias} <@{user}>", user=ADMIN, channel=channel)
        recorded = steward.command("kpi record undrawable latency 5", user=DATA, channel=UNDRAWABLE[1])
        assert "Sorry" not in recorded.text
    steward.drain(CREATED)
    # A value no chart can draw, from before latency was bounded (the command now refuses it).
    tamper(steward.settings.database_url, "UPDATE kpi_measurements SET value = 1e308 WHERE kpi = 'latency'")
    tamper(steward.settings.database_url, "UPDATE initiatives SET timezone = 'Not/AZone' WHERE key = 'zoneless'")
    with freeze_time(DUE):
        for key, channel in {**HEALTHY, UNDRAWABLE[0]: UNDRAWABLE[1]}.items():
            steward.command(f"incident declare {key} sev1 Scores are all zero", user=PM, channel=channel)
    return steward


def texts(slack, channel) -> list[str]:
    return [message_text(m) for m in slack.posts(channel)]


def test_healthy_initiatives_get_every_message_while_poisoned_rows_are_reported(poisoned, slack):
    first = poisoned.runtime.sweep(DUE + timedelta(minutes=16))
    second = poisoned.runtime.sweep(REMINDED)

    for key, channel in HEALTHY.items():
        posted = texts(slack, channel)
        assert any("Monthly performance review" in t for t in posted), key  # the review prompt
        assert any("*Level 2*" in t for t in posted), key  # the escalation page
        assert any("no measurement" in t for t in posted), key  # the KPI silence prompt
        assert any("Reminder: R" in t for t in posted), key  # the first reminder
    assert len(slack.posts("C0AUDIT")) == 2  # each day's audit witness
    assert any("Monthly performance review" in t for t in texts(slack, UNDRAWABLE[1]))

    assert first.escalations == 4 and first.prompts >= 4
    zone_failures = [f for f in first.failures if "zoneless" in f.row]
    assert zone_failures and {f.step for f in zone_failures} <= {"reviews", "reminders", "kpi_silence"}
    assert all("zoneless" in f.row for f in first.failures + second.failures)
    assert "zoneless" in first.summary() and "failures in" in first.summary()

    assert first.failed == 1  # the chart, failed with its reason rather than left in sending
    with Session(poisoned.engine) as session:
        [chart] = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "kpi.chart",
                                                           OutboxMessage.initiative_id.is_not(None),
                                                           OutboxMessage.status == "failed")).all()
        sending = session.exec(select(OutboxMessage).where(OutboxMessage.status == "sending")).all()
    assert "cannot be drawn" in chart.last_error and sending == []

    from bot.server import health

    status, body = health(poisoned.runtime.services, now=REMINDED + timedelta(minutes=1))
    assert status == 200
    failing = {entry["step"]: entry for entry in body["sweep_failures"]}
    assert any("zoneless" in row["row"] for entry in failing.values() for row in entry["rows"])


def test_a_step_that_breaks_as_a_whole_stops_no_other_step(steward, slack):
    with freeze_time(CREATED):
        steward.command("initiative create alpha Alpha stage=operations since=2026-01-05", channel="C0OPS")
    steward.drain(CREATED)
    tamper(steward.settings.database_url, "ALTER TABLE incidents RENAME TO incidents_gone")
    report = steward.runtime.sweep(DUE + timedelta(minutes=1))
    [failure] = report.failures
    assert (failure.step, failure.row) == ("escalations", "the whole step")
    assert "escalations (1)" in report.summary() and "the whole step" in report.summary()
    assert report.prompts == 1 and report.sent >= 1
    assert any("Monthly performance review" in message_text(m) for m in slack.posts("C0OPS"))
