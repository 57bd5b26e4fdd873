"""Nothing goes quiet (issue 14 points 6 and 8): overdue reviews escalate once and show as overdue, compliance is
shown, each stage says its target and its overrun is told once; during handoff incidents page the pilot lead."""

import json
from datetime import UTC, datetime, timedelta

from freezegun import freeze_time
from sqlmodel import Session, select

from storage.models import AuditEvent, Incident, Review
from tests.harness import ADMIN, message_text, reply_text

OWNER, PM, DATA, MLOPS, SPONSOR, PILOT = ("UOWNER0001", "UPM0000001", "UDATA00001", "UMLOPS0001", "USPONSOR01",
                                          "UPILOT0001")


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def type_(steward, text, *, at, user=ADMIN):
    with freeze_time(at):
        return reply_text(steward.command(text, user=user, channel="C0OPS"))


def staff(steward, key, *, at, skip=()):
    for alias, user in (("owner", OWNER), ("pm", PM), ("data", DATA), ("mlops", MLOPS), ("sponsor", SPONSOR),
                        ("pilot", PILOT)):
        if alias not in skip:
            type_(steward, f"role assign {key} {alias} <@{user}>", at=at)


def events(steward, action):
    with Session(steward.engine) as session:
        return [json.loads(e.payload) for e in session.exec(select(AuditEvent).where(AuditEvent.action == action))]


def posts_with(slack, words):
    return [m for m in slack.posts("C0OPS") if words in message_text(m)]


def operations(steward, *, skip=()):
    """Churn, imported into operations on Monday 5 January 2026; its first monthly review is due 5 February."""
    type_(steward, "initiative create churn Churn predictor stage=operations since=2026-01-05",
          at=utc(2026, 1, 5, 8))
    staff(steward, "churn", at=utc(2026, 1, 5, 8), skip=skip)


def sweep_days(steward, start, days):
    for day in range(days + 1):
        steward.runtime.sweep(start + timedelta(days=day))


def test_a_review_open_fourteen_days_after_it_fell_due_is_escalated_once_to_the_sponsor(steward, slack):
    """Issue 14, seen: nothing happened after the 7-day reminder; a biannual review stayed open six months."""
    operations(steward)
    due = utc(2026, 2, 5, 10)
    sweep_days(steward, due, 13)
    assert posts_with(slack, "Overdue") == [] and events(steward, "review.overdue_escalated") == []
    sweep_days(steward, due + timedelta(days=14), 10)  # and ten more days of sweeps
    [escalation] = posts_with(slack, "Overdue")
    text = message_text(escalation)
    assert "R1 (Monthly performance review, `churn`) fell due Thu 05 Feb 2026 10:00 UTC" in text
    assert "still open after 14 days" in text and f"Escalated to <@{SPONSOR}> (executive sponsor)" in text
    assert "`/steward review done R1 [notes]`" in text
    [event] = events(steward, "review.overdue_escalated")
    assert event["to"] == [SPONSOR] and event["review"] == "R1"

    # initiative show and the Home tab say it is overdue.
    shown = type_(steward, "initiative show churn", at=due + timedelta(days=20))
    assert ":rotating_light: *overdue* R1 Monthly performance review, due Thu 05 Feb 2026 10:00 UTC" in shown
    assert "Review compliance: 0 of 1 completed on time (0%) over the last 90 days." in shown
    with freeze_time(due + timedelta(days=20)):
        steward.sender.event({"type": "app_home_opened", "user": OWNER, "channel": "D0HOME", "tab": "home"})
    steward.drain(due + timedelta(days=20))
    [published] = slack.calls_to("views.publish")
    assert ":rotating_light: *overdue* R1 Monthly performance review" in json.dumps(published.args["view"])


def test_with_the_sponsor_vacant_the_admins_are_told_and_a_review_completed_in_time_is_not(steward, slack):
    operations(steward, skip=("sponsor",))
    due = utc(2026, 2, 5, 10)
    steward.runtime.sweep(due)
    steward.runtime.sweep(due + timedelta(days=15))
    [escalation] = posts_with(slack, "Overdue")
    assert f"the executive sponsor is vacant, so the Steward admins: <@{ADMIN}>" in message_text(escalation)

    # The next month's review is completed within its grace: no escalation, and compliance counts it on time.
    steward.runtime.sweep(utc(2026, 3, 5, 10))
    with Session(steward.engine) as session:
        march = session.exec(select(Review).where(Review.number == 2)).one()
    assert march.due_at == utc(2026, 3, 5, 10)
    type_(steward, "review done R2 fine", user=OWNER, at=utc(2026, 3, 6, 9))
    sweep_days(steward, utc(2026, 3, 6, 10), 20)
    assert len(posts_with(slack, "Overdue")) == 1
    shown = type_(steward, "initiative show churn", at=utc(2026, 3, 27, 10))
    assert "*overdue*" not in shown
    assert "Review compliance: 1 of 2 completed on time (50%) over the last 90 days." in shown
    # ... and the next monthly review's prompt says so.
    steward.runtime.sweep(utc(2026, 4, 6, 10))
    [april] = [m for m in slack.posts("C0OPS") if "Monthly performance review" in message_text(m)
               and "R3" in message_text(m) and "thread_ts" not in m]
    assert "Review compliance: 1 of 2 completed on time (50%) over the last 90 days." in message_text(april)


def test_entering_a_stage_says_its_target_and_an_overrun_is_told_once_with_what_is_missing(steward, slack):
    start = utc(2026, 3, 2, 11)
    type_(steward, "initiative create triage Invoice triage", at=start)
    staff(steward, "triage", at=start)
    steward.drain(start)
    [notice] = posts_with(slack, "started tracking")
    assert ("Target: leave Stage 1: production readiness assessment by Mon 30 Mar 2026 (the framework's weeks 1 "
            "to 4, 4 weeks).") in message_text(notice)

    sweep_days(steward, start, 28)  # the target day itself is not an overrun
    assert posts_with(slack, "overrun") == []
    sweep_days(steward, start + timedelta(days=29), 10)
    [overrun] = posts_with(slack, "overrun")
    text = message_text(overrun)
    assert "*Stage 1: production readiness assessment* of `triage` has overrun the framework's timeline" in text
    assert "its target was Mon 30 Mar 2026" in text
    assert f"<@{OWNER}> (business owner) and <@{SPONSOR}> (executive sponsor): still missing:" in text
    assert "• Readiness: data reliability — not assessed — `/steward readiness triage data ready <evidence>`" in text
    assert "`/steward signoff triage stage-exit approve`" in text
    [event] = events(steward, "stage.overrun")
    assert event["stage"] == "readiness" and "Readiness: data reliability" in event["missing"]


def test_an_overrun_with_the_owner_and_sponsor_vacant_is_told_to_the_admins(steward, slack):
    start = utc(2026, 3, 2, 11)
    type_(steward, "initiative create triage Invoice triage", at=start)
    steward.drain(start)
    sweep_days(steward, start + timedelta(days=29), 2)
    [overrun] = posts_with(slack, "overrun")
    text = message_text(overrun)
    assert ("the business owner and the executive sponsor are vacant, so the Steward admins: "
            f"<@{ADMIN}>: still missing:") in text


def test_handoff_says_its_target_when_entered(steward, slack):
    start = utc(2026, 3, 2, 11)
    type_(steward, "initiative create triage Invoice triage", at=start)
    staff(steward, "triage", at=start)
    for dimension in ("data", "integration", "governance", "baseline", "organization"):
        type_(steward, f"readiness triage {dimension} ready ok", user=PM, at=start)
    for kpi, value in {"task-completion": 90, "exception-rate": 8, "data-quality": 95, "adoption": 60,
                       "latency": 2}.items():
        type_(steward, f"kpi threshold triage {kpi} {value}", user=PM, at=start)
    type_(steward, "signoff triage baseline approve", user=OWNER, at=start)
    type_(steward, "value triage Cut invoice handling time by 30% within 6 months", user=OWNER, at=start)  # I
    type_(steward, "signoff triage stage-exit approve", user=OWNER, at=start)
    assert "moved to" in type_(steward, "initiative advance triage", user=OWNER, at=start)
    steward.drain(start)
    [moved] = posts_with(slack, "moved from")
    assert ("Target: leave Stage 2: ownership transfer by Mon 13 Apr 2026 (the framework's weeks 3 to 8, with 4 to "
            "6 weeks of parallel operation, 6 weeks).") in message_text(moved)


def incident_levels(steward):
    with Session(steward.engine) as session:
        incident = session.exec(select(Incident)).one()
        return json.loads(incident.levels)


def test_during_handoff_every_incident_pages_the_pilot_lead_alongside_level_1(steward, slack):
    """Issue 14, seen: during handoff the pilot lead was never paged for incidents."""
    start = utc(2026, 3, 2, 11)
    type_(steward, "initiative create triage Invoice triage stage=handoff", at=start)
    staff(steward, "triage", at=start)
    type_(steward, "incident declare triage sev3 Wrong vendor matched", user=MLOPS, at=start)
    levels = incident_levels(steward)
    assert set(levels[0]["roles"]) == {"mlops_engineer", "pilot_lead"}
    assert all("pilot_lead" not in level["roles"] for level in levels[1:])
    steward.drain(start)
    paged = [c for c in slack.calls_to("chat.postMessage") if PILOT in json.dumps(c.args)]
    assert paged, "the pilot lead was not paged"


def test_outside_handoff_the_pilot_lead_is_not_paged(steward, slack):
    start = utc(2026, 3, 2, 11)
    type_(steward, "initiative create triage Invoice triage stage=launch", at=start)
    staff(steward, "triage", at=start)
    type_(steward, "incident declare triage sev3 Wrong vendor matched", user=MLOPS, at=start)
    assert all("pilot_lead" not in level["roles"] for level in incident_levels(steward))
    steward.drain(start)
    assert not [c for c in slack.calls_to("chat.postMessage") if PILOT in json.dumps(c.args)
                and "incident" in json.dumps(c.args).lower()]


def test_initiatives_already_in_a_stage_get_their_overrun_moment_from_the_upgrade(empty_database_url):
    from sqlalchemy import text

    from storage.db import make_engine, upgrade
    from storage.models import Initiative

    engine = make_engine(empty_database_url)
    upgrade(engine, "0012")
    entered = utc(2026, 3, 2, 10)
    with engine.begin() as connection:
        for number, (key, stage) in enumerate([("churn", "readiness"), ("fraud", "operations")], 1):
            connection.execute(text(
                "INSERT INTO initiatives (id, team_id, key, name, channel_id, stage, stage_entered_at, timezone, "
                "created_by, created_at, archived) VALUES (:id, 'T1', :key, 'X', 'C1', :stage, :at, 'UTC', 'U1', "
                ":at, false)"), {"id": number, "key": key, "stage": stage, "at": entered})
    upgrade(engine)
    with Session(engine) as session:
        found = {i.key: i.overrun_at for i in session.exec(select(Initiative))}
    assert found == {"churn": entered + timedelta(days=29), "fraud": None}
    engine.dispose()
