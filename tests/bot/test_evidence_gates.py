"""Gates on evidence (issue 14, points 1 to 3): no decision on stale data, scope expansion on a stable period,
sign-offs bound to the criteria they approve. Driven as Slack drives the bot: signed commands at chosen moments
and sweeps."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from sqlmodel import Session, select

from storage.audit import verify_bindings, verify_chain
from storage.models import AuditEvent, Initiative, Review, SignOff, SignOffVoid
from tests.harness import ADMIN, message_text, reply_text

OWNER, PM, DATA, MLOPS, SPONSOR, PILOT = ("UOWNER0001", "UPM0000001", "UDATA00001", "UMLOPS0001", "USPONSOR01",
                                          "UPILOT0001")
THRESHOLDS = {"task-completion": 80, "exception-rate": 8, "data-quality": 95, "adoption": 60, "latency": 2}
GOOD = {"task-completion": 88, "exception-rate": 5, "data-quality": 97, "adoption": 71, "latency": 1.2}
DIMENSIONS = ("data", "integration", "governance", "baseline", "organization")


class Clock:
    """Commands typed at a moment; the moment moves on only when the test says so."""

    def __init__(self, steward, now):
        self.steward, self.now = steward, now

    def type(self, text, user=OWNER):
        with freeze_time(self.now):
            return reply_text(self.steward.command(text, user=user, channel="C0OPS"))

    def later(self, *, sweep=False, **delta):
        self.now += timedelta(**delta)
        if sweep:
            self.steward.runtime.sweep(self.now)

    def weekly_kpis(self, weeks, values=GOOD, skip=()):
        """Every KPI (but `skip`) recorded now, then once a week for `weeks` more weeks."""
        for week in range(weeks + 1):
            if week:
                self.now += timedelta(days=7)
            for kpi, value in values.items():
                if kpi not in skip:
                    self.type(f"kpi record triage {kpi} {value}", user=DATA)


def staff(clock, *, sponsor=SPONSOR):
    for alias, user in (("owner", OWNER), ("pm", PM), ("data", DATA), ("mlops", MLOPS), ("sponsor", sponsor),
                        ("pilot", PILOT)):
        clock.type(f"role assign triage {alias} <@{user}>", user=ADMIN)


def baseline(clock, **changed):
    for kpi, value in {**THRESHOLDS, **changed}.items():
        clock.type(f"kpi threshold triage {kpi} {value}", user=PM)
    return clock.type("signoff triage baseline approve")


@pytest.fixture
def operations(steward):
    """Invoice triage, imported into operations on Mon 4 Jan 2027, staffed, with its baseline signed."""
    clock = Clock(steward, datetime(2027, 1, 4, 11, 0, tzinfo=UTC))
    clock.type("initiative create triage Invoice triage stage=operations since=2026-12-01", user=ADMIN)
    staff(clock)
    assert "now in force" in baseline(clock)
    return clock


@pytest.fixture
def readiness(steward):
    clock = Clock(steward, datetime(2026, 11, 2, 11, 0, tzinfo=UTC))
    clock.type("initiative create triage Invoice triage", user=ADMIN)
    staff(clock)
    return clock


def rows(steward, model):
    with Session(steward.engine) as session:
        return list(session.exec(select(model).order_by(model.id)))


def events(steward, action):
    with Session(steward.engine) as session:
        return [json.loads(e.payload) for e in session.exec(select(AuditEvent).order_by(AuditEvent.seq))
                if e.action == action]


def scope_signoffs(steward):
    return [(s.signer_role, s.decision) for s in rows(steward, SignOff) if s.subject == "scope-expansion"]


# --- Point 2: scope expansion on evidence, not on a snapshot ----------------------------------------------------


def test_a_breach_41_days_ago_with_its_incident_still_open_refuses_scope_expansion_and_says_why(operations):
    clock = operations
    clock.weekly_kpis(12)  # twelve clean weeks: 84 days
    breach_day = clock.now + timedelta(days=7)
    clock.now = breach_day
    clock.type("kpi record triage adoption 30", user=DATA)  # outside 60%: INC1 opens
    clock.weekly_kpis(5, skip=("adoption",))  # the other KPIs go on; adoption is not measured again...
    clock.later(days=6)
    clock.type("kpi record triage adoption 75", user=DATA)  # ...until one good value, 41 days later
    assert clock.now - breach_day == timedelta(days=41)

    refused = clock.type("signoff triage scope-expansion approve")
    assert "Scope expansion needs 90 days of stable operations, and `triage` has not had them" in refused
    assert ":x: every measurement within the threshold in force" in refused
    assert ":x: no sev1 to sev3 incident open or opened" in refused
    assert ":white_check_mark: an approved baseline in force throughout" in refused
    day, today = f"{breach_day:%d %b %Y} UTC", f"{clock.now:%d %b %Y} UTC"
    assert f"user adoption rate 30% (≥ 60%) measured {day}, 41 d ago: outside its threshold" in refused
    assert (f"INC1 (sev3) opened {day}, 41 d ago, is still open: `/steward incident resolve INC1 "
            "<resolution>`") in refused
    assert f"user adoption rate was not measured from {day} to {today} (41 d, longer than 14 d)" in refused
    assert "The 90 days start once what is still going on has ended." in refused
    assert "Still needed" not in refused and scope_signoffs(clock.steward) == []
    [attempt] = events(clock.steward, "signoff.refused")
    assert attempt["subject"] == "scope-expansion" and "INC1 (sev3)" in attempt["reason"]

    # Resolved: the period restarts from the resolution, and the refusal says from when it can be approved.
    clock.type("incident resolve INC1 adoption campaign relaunched", user=MLOPS)
    resolved = clock.now
    refused = clock.type("signoff triage scope-expansion approve", user=SPONSOR)
    assert f"INC1 (sev3) was open from {day} to {today}" in refused
    expected = (resolved + timedelta(days=90)).strftime("%d %b %Y %H:%M")
    assert f"If nothing else breaks, scope expansion can be approved from {expected} UTC." in refused
    clock.weekly_kpis(13)
    assert clock.now >= resolved + timedelta(days=90)
    assert "Still needed: executive sponsor." in clock.type("signoff triage scope-expansion approve")
    assert "approved by both" in clock.type("signoff triage scope-expansion approve", user=SPONSOR)
    assert scope_signoffs(clock.steward) == [("business_owner", "approve"), ("executive_sponsor", "approve")]
    [approved] = events(clock.steward, "scope_expansion.approved")
    assert approved["pairing_days"] == 14


def test_nine_months_without_kpi_data_voids_an_old_approval_and_needs_a_new_stable_period(operations):
    clock = operations
    clock.weekly_kpis(13)  # 91 days of stable operations: April 2027
    clock.later(days=1)
    assert "Still needed: business owner." in clock.type("signoff triage scope-expansion approve", user=SPONSOR)
    sponsor_day = clock.now
    clock.later(days=270)  # nine months with no KPI data at all

    refused = clock.type("signoff triage scope-expansion approve")
    assert ":x: every KPI measured at least once every 14 d (the freshness window)" in refused
    assert "task completion rate was last measured 05 Apr 2027 UTC, 271 d ago: stale" in refused
    assert scope_signoffs(clock.steward) == [("executive_sponsor", "approve")]

    clock.weekly_kpis(13)  # measured again for 91 days
    clock.later(days=1)
    shown = clock.type("signoff triage scope-expansion approve")
    assert "Scope expansion is approved by both" not in shown
    assert "Still needed: executive sponsor." in shown
    assert (f"The executive sponsor's approval of {sponsor_day:%d %b %Y} UTC no longer counts: stable operations "
            "were broken after it.") in shown
    assert events(clock.steward, "scope_expansion.approved") == []
    assert "approved by both" in clock.type("signoff triage scope-expansion approve", user=SPONSOR)


def test_the_two_approvals_must_fall_within_the_pairing_window(operations):
    clock = operations
    clock.weekly_kpis(13)
    clock.type("signoff triage scope-expansion approve")
    clock.weekly_kpis(3)  # 21 days later
    shown = clock.type("signoff triage scope-expansion approve", user=SPONSOR)
    assert "Still needed: business owner. The business owner's approval of 05 Apr 2027 UTC no longer counts: the " \
           "two approvals must fall within 14 days of each other." in shown
    assert "month 12" in shown  # the framework's advice, which blocks nothing
    assert "approved by both" in clock.type("signoff triage scope-expansion approve")


def test_one_person_never_gives_both_approvals(operations):
    clock = operations
    clock.weekly_kpis(13)
    assert "Still needed: executive sponsor" in clock.type("signoff triage scope-expansion approve")
    clock.type(f"role assign triage sponsor <@{OWNER}>", user=ADMIN)  # the owner becomes the sponsor...
    clock.type(f"role assign triage owner <@{PM}>", user=ADMIN)  # ...and someone else the owner
    refused = clock.type("signoff triage scope-expansion approve")  # now signing as executive sponsor
    assert "the business owner and the executive sponsor must be two different people" in refused
    assert scope_signoffs(clock.steward) == [("business_owner", "approve")]
    assert "Still needed: executive sponsor" in clock.type("signoff triage scope-expansion approve", user=PM)
    assert "approved by both" in clock.type("signoff triage scope-expansion approve")  # the latest owner is PM


def test_an_admin_acting_for_a_vacant_role_still_cannot_give_both_approvals(operations):
    clock = operations
    clock.weekly_kpis(13)
    clock.type("role unassign triage owner", user=ADMIN)
    clock.type("role unassign triage sponsor", user=ADMIN)
    shown = clock.type("signoff triage scope-expansion approve", user=ADMIN)  # acting for the vacant owner
    assert "Still needed: executive sponsor" in shown
    clock.type(f"role assign triage owner <@{OWNER}>", user=ADMIN)  # the sponsor stays vacant
    refused = clock.type("signoff triage scope-expansion approve", user=ADMIN)  # now acting for the sponsor
    assert "must be two different people" in refused
    assert scope_signoffs(clock.steward) == [("business_owner", "approve")]
    assert "Still needed: executive sponsor" in clock.type("signoff triage scope-expansion approve")
    assert "approved by both" in clock.type("signoff triage scope-expansion approve", user=ADMIN)
    assert scope_signoffs(clock.steward)[-1] == ("executive_sponsor", "approve")


# --- Point 1: freshness ---------------------------------------------------------------------------------------


def test_the_monthly_review_shows_a_stale_value_as_stale_with_its_date_never_within(operations, slack):
    clock = operations
    clock.now = datetime(2027, 7, 12, 9, 0, tzinfo=UTC)
    clock.weekly_kpis(0)
    clock.now = datetime(2028, 4, 1, 9, 0, tzinfo=UTC)
    clock.type("kpi record triage latency 1.5", user=DATA)  # one value is fresh
    clock.steward.runtime.sweep(datetime(2028, 4, 3, 12, 0, tzinfo=UTC))
    prompt = [m for m in slack.posts("C0OPS") if "Monthly performance review" in message_text(m)
              and "thread_ts" not in m][-1]
    text = message_text(prompt)
    assert (":warning: *stale* task completion rate: 88% (≥ 80%), measured 12 Jul 2027 09:00 UTC, 266 d 3 h ago: "
            "older than the freshness window, so it counts as not measured") in text
    assert "within task completion rate" not in text
    assert ":white_check_mark: within decision latency: 1.5 s (≤ 2 s), measured 01 Apr 2028 09:00 UTC, 2 d 3 h ago" \
        in text

    clock.now = datetime(2028, 4, 3, 12, 0, tzinfo=UTC)
    shown = clock.type("initiative show triage")
    assert ":warning: *stale* user adoption rate: 71% (≥ 60%), measured 12 Jul 2027 09:00 UTC" in shown
    assert "within user adoption rate" not in shown


def test_the_launch_gate_treats_a_stale_kpi_as_missing(steward):
    clock = Clock(steward, datetime(2027, 4, 5, 11, 0, tzinfo=UTC))
    clock.type("initiative create triage Invoice triage stage=launch since=2027-01-02", user=ADMIN)
    staff(clock)
    baseline(clock)
    clock.now -= timedelta(days=20)
    clock.weekly_kpis(0)  # measured 20 days ago, within thresholds then
    clock.now += timedelta(days=20)
    shown = clock.type("initiative advance triage")
    assert ":x: 90-day KPI checkpoint within thresholds" in shown
    clock.weekly_kpis(0)
    assert ":white_check_mark: 90-day KPI checkpoint within thresholds" in clock.type("initiative advance triage")


def test_a_recorded_value_says_when_it_was_measured(operations):
    shown = operations.type("kpi record triage latency 1.1", user=DATA)
    assert "Recorded decision latency = 1.1 s for `triage` (measured 04 Jan 2027 11:00 UTC): within threshold" in shown


# --- Point 3: sign-offs bound to what they approve --------------------------------------------------------------


def test_a_stage_exit_with_two_of_five_dimensions_assessed_is_refused_with_the_checklist(readiness):
    clock = readiness
    clock.type("readiness triage data ready contracts signed", user=PM)
    clock.type("readiness triage integration ready", user=PM)
    baseline(clock)
    shown = clock.type("signoff triage stage-exit approve")
    assert "The stage exit can be approved only while every other exit criterion holds; not yet: Readiness: " \
           "governance documentation; Readiness: performance baselining; Readiness: organizational readiness" in shown
    assert ":white_check_mark: Readiness: data reliability — ready" in shown
    assert ":x: Readiness: governance documentation — not assessed" in shown
    assert [s.subject for s in rows(clock.steward, SignOff)] == ["baseline"]
    [attempt] = events(clock.steward, "signoff.refused")
    assert attempt["subject"] == "stage-exit" and "Readiness: governance documentation" in attempt["reason"]
    assert "Only the business owner" in clock.type("signoff triage stage-exit approve", user=PM)
    # A rejection is always possible: it approves nothing.
    assert "rejected `stage-exit`" in clock.type("signoff triage stage-exit reject not yet")


def ready(clock):
    """Every readiness exit criterion but the stage exit itself (issue 17 adds the committed business value)."""
    for dimension in DIMENSIONS:
        clock.type(f"readiness triage {dimension} ready evidence for {dimension}", user=PM)
    baseline(clock)
    clock.type("value triage Cut invoice handling time by 30% by Q3", user=OWNER)


def complete_posted(clock, kind, user=PM):
    with Session(clock.steward.engine) as session:
        review = session.exec(select(Review).where(Review.kind == kind, Review.status == "posted")).one()
    clock.type(f"review done R{review.number} fine", user=user)


def through_handoff(clock):
    """Every handoff exit criterion but the stage exit itself: governance, four weeks of parallel operation with
    their reviews, two retrospectives, the pilot's artifacts, a fallback and a first rollout share (issue 17)."""
    for item, text in (("use-case", "Invoices under 10k EUR"), ("compliance", "DPIA-2026-014"),
                       ("audit-spec", "Every decision logged")):
        clock.type(f"governance triage {item} {text}", user=PM)
    clock.type("signoff triage governance approve")
    for week in range(4):
        clock.later(days=7, sweep=True)
        complete_posted(clock, "parallel-ops-review")
        if week % 2:
            complete_posted(clock, "handoff-retrospective")
    for kind in ("acceptance-criteria", "edge-cases", "failure-modes"):
        clock.type(f"artifact triage {kind} wiki page for {kind}", user=PILOT)
    clock.type("fallback triage The AP team triages by hand from the shared inbox", user=PM)
    clock.type("rollout triage 10", user=PM)


def test_a_dimension_set_to_not_ready_voids_the_stage_exit_and_says_so(readiness, slack):
    clock = readiness
    ready(clock)
    clock.type("signoff triage stage-exit approve")
    [_, signed] = rows(clock.steward, SignOff)
    evidence = json.loads(signed.evidence)
    assert "Readiness: data reliability" in evidence["criteria_held"]
    assert "Baseline thresholds signed by the business owner" in evidence["criteria_held"]

    clock.later(days=2)
    clock.type("readiness triage data not-ready the upstream SLA lapsed", user=DATA)
    clock.steward.drain(clock.now)
    notice = message_text(slack.posts("C0OPS")[-1])
    assert f"The stage exit <@{OWNER}> approved for `triage` on 02 Nov 2026 UTC is *void*: Readiness: data " \
           "reliability (not ready)" in notice
    assert "`/steward signoff triage stage-exit approve`" in notice and f"Changed by <@{DATA}>" in notice
    shown = clock.type("initiative advance triage")
    assert ":x: Stage exit signed by the business owner" in shown
    with Session(clock.steward.engine) as session:
        assert session.exec(select(Initiative)).one().stage == "readiness"
    [void] = rows(clock.steward, SignOffVoid)
    assert (void.signoff_id, void.cause, void.voided_by) == (signed.id, "readiness", DATA)
    [voided] = events(clock.steward, "signoff.voided")
    assert voided["signoffs"] == [signed.id] and voided["broken"] == ["Readiness: data reliability"]
    # The voided sign-off stays in history, and the audit chain binds the void.
    assert [s.id for s in rows(clock.steward, SignOff)][-1] == signed.id
    with Session(clock.steward.engine) as session:
        assert verify_chain(session=session, team_id="T0LOCAL")[1] is None
        assert verify_bindings(session=session, team_id="T0LOCAL")[1] == []

    clock.type("readiness triage data not-ready still lapsed", user=DATA)  # nothing more to void
    assert len(rows(clock.steward, SignOffVoid)) == 1
    clock.type("readiness triage data ready SLA renewed", user=DATA)
    clock.type("signoff triage stage-exit approve")
    assert "moved to *Stage 2: ownership transfer*" in clock.type("initiative advance triage")


def test_a_superseded_baseline_voids_the_stage_exit(readiness, slack):
    clock = readiness
    ready(clock)
    clock.type("signoff triage stage-exit approve")
    clock.later(days=1)
    assert "now in force" in baseline(clock, latency=3)
    clock.steward.drain(clock.now)
    assert any("is *void*: the baseline it rested on was superseded" in message_text(m) for m in slack.posts("C0OPS"))
    assert [v.cause for v in rows(clock.steward, SignOffVoid)] == ["baseline"]
    assert ":x: Stage exit signed by the business owner" in clock.type("initiative advance triage")


def test_a_required_role_vacated_voids_the_handoff_stage_exit(readiness, slack):
    clock = readiness
    ready(clock)
    clock.type("signoff triage stage-exit approve")
    clock.type("initiative advance triage")
    through_handoff(clock)
    clock.type("signoff triage stage-exit approve")
    [*_, signed] = [s for s in rows(clock.steward, SignOff) if s.subject == "stage-exit"]
    assert signed.stage == "handoff" and "The four production roles assigned" in json.loads(
        signed.evidence)["criteria_held"]

    clock.type("role unassign triage data", user=ADMIN)
    clock.steward.drain(clock.now)
    assert any("is *void*: The four production roles assigned (vacant: data engineer)" in message_text(m)
               for m in slack.posts("C0OPS"))
    assert ":x: Stage exit signed by the business owner" in clock.type("initiative advance triage")
    clock.type(f"role assign triage data <@{DATA}>", user=ADMIN)
    clock.type("signoff triage stage-exit approve")
    assert "moved to *Stage 3: controlled production launch*" in clock.type("initiative advance triage")
