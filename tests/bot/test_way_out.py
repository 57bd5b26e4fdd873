"""No state without a way out (issue 14 points 4 and 5): every unmet criterion names the command that meets it,
imports record the reviews that fell due before Steward and an admin attests them, an import at any point of any
stage reaches the next stage, and a vacant role never freezes a review."""

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from sqlmodel import Session, select

from storage.models import AuditEvent, Initiative, Review, SignOff
from tests.harness import ADMIN, message_text, reply_text

OWNER, PM, DATA, MLOPS, SPONSOR, PILOT, OTHER = ("UOWNER0001", "UPM0000001", "UDATA00001", "UMLOPS0001",
                                                 "USPONSOR01", "UPILOT0001", "UOTHER0001")
START = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)  # a Monday, after the 10:00 prompts
THRESHOLDS = {"task-completion": 90, "exception-rate": 8, "data-quality": 95, "adoption": 60, "latency": 2}
GOOD = {"task-completion": 93, "exception-rate": 5, "data-quality": 97, "adoption": 71, "latency": 1.2}
ATTEST = re.compile(r"`/steward review attest (\S+) (\S+) (\d{4}-\d\d-\d\d) <evidence\.\.\.>`")
DONE = re.compile(r"`/steward review done R(\d+)`")
COMPLETER = {"parallel-ops-review": PM, "launch-review": OWNER, "handoff-retrospective": PM}


class Clock:
    """Commands typed at a moment; `later` moves on, sweeping at least once a week (every weekly prompt posts)."""

    def __init__(self, steward):
        self.steward, self.now = steward, START

    def type(self, text, user=OWNER):
        with freeze_time(self.now):
            return reply_text(self.steward.command(text, user=user, channel="C0OPS"))

    def later(self, days, step=7):
        while days > 0:
            self.now += timedelta(days=min(step, days))
            days -= min(step, days)
            self.steward.runtime.sweep(self.now)


def staff(clock, key, *, skip=()):
    for alias, user in (("owner", OWNER), ("pm", PM), ("data", DATA), ("mlops", MLOPS), ("sponsor", SPONSOR),
                        ("pilot", PILOT)):
        if alias not in skip:
            clock.type(f"role assign {key} {alias} <@{user}>", user=ADMIN)


def initiative(steward) -> Initiative:
    with Session(steward.engine) as session:
        return session.exec(select(Initiative)).one()


def reviews(steward, **where) -> list[Review]:
    with Session(steward.engine) as session:
        statement = select(Review).order_by(Review.number)
        for name, value in where.items():
            statement = statement.where(getattr(Review, name) == value)
        return list(session.exec(statement))


def events(steward, action):
    with Session(steward.engine) as session:
        return [json.loads(e.payload) for e in session.exec(select(AuditEvent).where(AuditEvent.action == action))]


def sign_baseline(clock, key):
    for kpi, value in THRESHOLDS.items():
        clock.type(f"kpi threshold {key} {kpi} {value}", user=PM)
    assert "now in force" in clock.type(f"signoff {key} baseline approve agreed")


def follow_review_way(clock, key, kind, check="reviews completed"):
    """Do what the checklist names for the reviews check until it holds: attest, complete, or wait a week."""
    for _ in range(20):
        shown = clock.type(f"initiative advance {key}")
        line = next((x for x in shown.split("\n") if check in x), "")
        if line.startswith(":white_check_mark:"):
            return shown
        attest = ATTEST.search(line)
        if attest:
            assert attest.group(1) == key and attest.group(2) == kind
            assert "Recorded" not in clock.type(f"review attest {key} {kind} {attest.group(3)} minutes: wiki/{kind}",
                                                user=ADMIN)
            continue
        done = DONE.search(line)
        if done:
            assert "recorded as completed" in clock.type(f"review done R{done.group(1)} fine",
                                                         user=COMPLETER[kind])
            continue
        assert "complete the next weekly prompt" in line or "complete the next retrospective" in line, line
        clock.later(7)
    raise AssertionError("the reviews check never held")


def leave(clock, key):
    shown = clock.type(f"signoff {key} stage-exit approve")
    assert "stage-exit" in shown or "Stage exit" in shown or "recorded" in shown.lower(), shown
    return clock.type(f"initiative advance {key}")


def test_every_unmet_check_names_the_command_that_meets_it_with_the_real_key(steward):
    clock = Clock(steward)
    clock.type("initiative create triage Invoice triage", user=ADMIN)
    staff(clock, "triage", skip=("pm",))
    shown = clock.type("initiative advance triage")
    assert "`/steward readiness triage data ready <evidence>`" in shown
    assert "`/steward readiness triage organization ready <evidence>`" in shown
    assert "`/steward kpi threshold triage <task-completion|" in shown
    assert "then `/steward signoff triage baseline approve`" in shown
    assert "`/steward governance triage use-case <link or text>`" in shown
    assert "`/steward signoff triage stage-exit approve` while in readiness" in shown
    assert "<key>" not in shown and "(business owner) (business owner)" not in shown

    # In handoff: the vacant role, the day the 28 days hold, the weekly reviews and the governance sign-off.
    with Session(steward.engine) as session:
        row = session.exec(select(Initiative)).one()
        row.stage = "handoff"
        session.add(row)
        session.commit()
    shown = clock.type("initiative advance triage")
    assert "vacant: product manager — `/steward role assign triage product_manager @someone`" in shown
    assert "0 days so far — holds on Mon 30 Mar 2026" in shown
    assert "0 completed — complete the next weekly prompt" in shown
    assert "`/steward signoff triage governance approve`" in shown
    assert "<key>" not in shown


def test_an_import_five_weeks_into_launch_records_the_reviews_before_steward_and_an_admin_attests_them(steward):
    """Issue 14, seen: an import into launch could never leave it ("6 weekly launch reviews completed: 2")."""
    clock = Clock(steward)
    since = (START - timedelta(weeks=5, days=1)).date()
    clock.type(f"initiative create triage Invoice triage stage=launch since={since.isoformat()}", user=ADMIN)
    staff(clock, "triage")
    before = reviews(steward, before_steward=True)
    assert [r.kind for r in before].count("launch-review") == 5
    assert all(r.status == "skipped" and r.notes == "before Steward" for r in before)
    steward.drain(clock.now)
    notice = message_text(steward.slack.posts("C0OPS")[0])
    assert "6 reviews fell due before Steward tracked it" in notice
    assert "`/steward review attest triage <kind> <YYYY-MM-DD> <evidence...>`" in notice
    assert "Target: leave Stage 3: controlled production launch by" in notice

    shown = clock.type("initiative advance triage")
    first = before[0].due_at.date().isoformat()
    assert f"`/steward review attest triage launch-review {first} <evidence...>`" in shown

    # Refusals change nothing: not an admin, no such kind, no review that day, no evidence, a bad date.
    assert "Only Steward admins" in clock.type(f"review attest triage launch-review {first} minutes", user=OWNER)
    assert "`weekly` is not a review kind of the cadence" in clock.type(
        f"review attest triage weekly {first} minutes", user=ADMIN)
    refused = clock.type("review attest triage launch-review 2026-01-01 minutes", user=ADMIN)
    assert "is waiting to be attested" in refused and f"Waiting to be attested: {first}" in refused
    assert "Evidence is needed" in clock.type(f"review attest triage launch-review {first}", user=ADMIN)
    assert "is not a date" in clock.type("review attest triage launch-review 2026-02-30 minutes", user=ADMIN)
    assert all(r.status == "skipped" for r in reviews(steward, before_steward=True))
    assert events(steward, "review.attested") == []

    reply = clock.type(f"review attest triage launch-review {first} minutes in the wiki", user=ADMIN)
    assert f"is recorded as held on {first}, attested by you" in reply
    [attested] = [r for r in reviews(steward) if r.attested_on is not None]
    assert (attested.status, attested.completed_by, attested.notes) == ("completed", ADMIN, "minutes in the wiki")
    [event] = events(steward, "review.attested")
    assert event["kind"] == "launch-review" and event["evidence"] == "minutes in the wiki"
    again = clock.type(f"review attest triage launch-review {first} minutes in the wiki", user=ADMIN)
    assert "is waiting to be attested" in again  # once only

    shown = follow_review_way(clock, "triage", "launch-review")
    assert ":white_check_mark: 6 weekly launch reviews completed" in shown
    assert len(events(steward, "review.attested")) == 5 and len(events(steward, "review.completed")) == 1


IMPORTS = [
    ("readiness", 0), ("readiness", 20),
    ("handoff", 0), ("handoff", 22), ("handoff", 45),
    ("launch", 0), ("launch", 36), ("launch", 100),
    ("operations", 120),
]


@pytest.mark.parametrize(("stage", "days_ago"), IMPORTS, ids=[f"{s}-{d}d" for s, d in IMPORTS])
def test_an_import_at_any_point_of_any_stage_can_reach_the_next_stage(steward, stage, days_ago):
    clock = Clock(steward)
    since = (START - timedelta(days=days_ago)).date()
    clock.type(f"initiative create triage Invoice triage stage={stage} since={since.isoformat()}", user=ADMIN)
    staff(clock, "triage")
    if stage == "readiness":
        for dimension in ("data", "integration", "governance", "baseline", "organization"):
            clock.type(f"readiness triage {dimension} ready evidence", user=PM)
        sign_baseline(clock, "triage")
        clock.type("value triage Cut invoice handling time by 30% within 6 months")  # I (issue 17)
    elif stage == "handoff":
        sign_baseline(clock, "triage")
        clock.type("governance triage use-case Invoices under 10k EUR")
        clock.type("governance triage compliance DPIA-2026-014", user=PM)
        clock.type("governance triage audit-spec every decision logged", user=MLOPS)
        clock.type("signoff triage governance approve")
        clock.type("fallback triage clerks key invoices by hand", user=PM)  # G (issue 17): launch needs both
        clock.type("rollout triage 10", user=PM)
        follow_review_way(clock, "triage", "parallel-ops-review")
        follow_review_way(clock, "triage", "handoff-retrospective", check="retrospectives held")  # issue 17
        for artifact in ("acceptance-criteria", "edge-cases", "failure-modes"):  # issue 17
            clock.type(f"artifact triage {artifact} https://wiki.example/{artifact}", user=PM)
        waited = max(0, 28 - (clock.now.date() - since).days)
        clock.later(waited)
    elif stage == "launch":
        sign_baseline(clock, "triage")
        clock.type("fallback triage clerks key invoices by hand", user=PM)  # G (issue 17): the exit needs 100%
        clock.type("signoff triage rollout:100 approve")
        clock.type("rollout triage 100", user=PM)
        follow_review_way(clock, "triage", "launch-review")
        clock.later(max(0, 90 - (clock.now.date() - since).days))
        for kpi, value in GOOD.items():
            clock.type(f"kpi record triage {kpi} {value}", user=DATA)
    shown = clock.type("initiative advance triage")
    assert [line for line in shown.split("\n") if line.startswith(":x:")] == [
        f":x: Stage exit signed by the business owner — `/steward signoff triage stage-exit approve` while in {stage}"
    ], shown
    shown = leave(clock, "triage")
    expected = {"readiness": "handoff", "handoff": "launch", "launch": "operations", "operations": "retired"}[stage]
    assert initiative(steward).stage == expected, shown


def test_an_admin_completes_a_review_for_a_vacant_business_owner_and_says_so(steward):
    """Issue 14, seen: `review done R34` by an admin: "Only the business owner (vacant) can complete R34"."""
    clock = Clock(steward)
    clock.type("initiative create churn Churn stage=operations since=2026-01-05", user=ADMIN)
    staff(clock, "churn", skip=("owner",))
    clock.later(4)  # 5 March: the monthly performance review falls due (completed by the business owner)
    [review] = reviews(steward, kind="monthly-performance-review", status="posted")

    refused = clock.type(f"review done R{review.number}", user=PM)
    assert f"Only the business owner (vacant) can complete R{review.number}" in refused
    assert "a Steward admin can complete it acting for them" in refused
    assert "`/steward role assign churn business_owner @someone`" in refused and "<key>" not in refused
    assert reviews(steward, number=review.number)[0].status == "posted"

    reply = clock.type(f"review done R{review.number} reviewed with the team", user=ADMIN)
    assert "is recorded as completed by you, acting for the vacant business owner" in reply
    [done] = reviews(steward, number=review.number)
    assert (done.status, done.completed_by, done.acting_for) == ("completed", ADMIN, "business_owner")
    [event] = events(steward, "review.completed")
    assert event["acting_for"] == "business_owner"
    assert event["acting"] == f"<@{ADMIN}> acting for the vacant business owner"
    steward.drain(clock.now)
    prompt = next(m for m in steward.slack.posts("C0OPS") if m.get("edited")
                  and "Monthly performance review" in message_text(m))
    assert f"*Completed* by <@{ADMIN}> acting for the vacant business owner" in message_text(prompt)


def test_an_admin_does_not_act_for_a_role_someone_holds(steward):
    clock = Clock(steward)
    clock.type("initiative create churn Churn stage=operations since=2026-01-05", user=ADMIN)
    staff(clock, "churn")
    clock.later(4)
    [review] = reviews(steward, kind="monthly-performance-review", status="posted")
    refused = clock.type(f"review done R{review.number}", user=ADMIN)
    assert f"Only the business owner (<@{OWNER}>) can complete R{review.number}" in refused
    assert "acting" not in refused
    assert reviews(steward, number=review.number)[0].status == "posted"


def test_handoff_exit_needs_four_completed_parallel_operation_reviews_not_only_28_days(steward):
    """Issue 14, seen: the handoff exit needed 28 days but not a single parallel-operation review."""
    clock = Clock(steward)
    clock.type("initiative create triage Invoice triage stage=handoff", user=ADMIN)
    staff(clock, "triage")
    sign_baseline(clock, "triage")
    clock.type("governance triage use-case Invoices under 10k EUR")
    clock.type("governance triage compliance DPIA-2026-014", user=PM)
    clock.type("governance triage audit-spec every decision logged", user=MLOPS)
    clock.type("signoff triage governance approve")
    clock.later(29)  # 28 days of parallel operation; the weekly reviews went by uncompleted
    shown = clock.type("initiative advance triage")
    assert ":white_check_mark: At least 28 days of parallel operation" in shown
    assert ":x: At least 4 weekly parallel-operation reviews completed — 0 completed" in shown
    open_review = reviews(steward, kind="parallel-ops-review", status="posted")[-1]
    assert f"`/steward review done R{open_review.number}`" in shown
    assert "/steward review attest triage parallel-ops-review" in shown  # the superseded ones can be attested
    leave(clock, "triage")
    assert initiative(steward).stage == "handoff"


def test_an_admin_signs_for_a_vacant_business_owner_and_the_record_says_so(steward):
    clock = Clock(steward)
    clock.type("initiative create triage Invoice triage", user=ADMIN)
    staff(clock, "triage", skip=("owner",))
    for kpi, value in THRESHOLDS.items():
        clock.type(f"kpi threshold triage {kpi} {value}", user=PM)
    refused = clock.type("signoff triage baseline approve", user=PM)
    assert "Only the business owner" in refused
    reply = clock.type("signoff triage baseline approve agreed in steering", user=ADMIN)
    assert f"Signed by <@{ADMIN}> acting for the vacant business owner." in reply
    with Session(steward.engine) as session:
        [signoff] = session.exec(select(SignOff)).all()
    evidence = json.loads(signoff.evidence)
    assert (signoff.signer, signoff.signer_role) == (ADMIN, "business_owner")
    assert evidence["acting_for"] == "business_owner"
    assert evidence["acting"] == f"<@{ADMIN}> acting for the vacant business owner"
    [event] = events(steward, "signoff.recorded")
    assert event["evidence"]["acting_for"] == "business_owner"
    steward.drain(clock.now)
    assert any(f"<@{ADMIN}> acting for the vacant business owner" in message_text(m)
               for m in steward.slack.posts("C0OPS"))


def test_one_person_never_gives_both_scope_expansion_approvals_acting_or_not(steward):
    clock = Clock(steward)
    clock.type("initiative create triage Invoice triage stage=operations", user=ADMIN)
    staff(clock, "triage", skip=("owner", "sponsor"))
    for kpi, value in THRESHOLDS.items():
        clock.type(f"kpi threshold triage {kpi} {value}", user=PM)
    clock.type("signoff triage baseline approve", user=ADMIN)  # acting for the vacant business owner
    for _ in range(8):  # 104 days of stable operations, every KPI measured within each 14-day window
        for kpi, value in GOOD.items():
            clock.type(f"kpi record triage {kpi} {value}", user=DATA)
        clock.now += timedelta(days=13)
        steward.runtime.sweep(clock.now)
    for kpi, value in GOOD.items():
        clock.type(f"kpi record triage {kpi} {value}", user=DATA)
    first = clock.type("signoff triage scope-expansion approve", user=ADMIN)
    assert f"Signed by <@{ADMIN}> acting for the vacant business owner" in first, first
    clock.type(f"role assign triage sponsor <@{ADMIN}>", user=ADMIN)
    clock.type("signoff triage scope-expansion approve", user=ADMIN)
    assert events(steward, "scope_expansion.approved") == []
    # Another person as sponsor approves: now it holds, by two different people.
    clock.type(f"role assign triage sponsor <@{SPONSOR}>", user=ADMIN)
    clock.type("signoff triage scope-expansion approve", user=SPONSOR)
    assert len(events(steward, "scope_expansion.approved")) == 1
