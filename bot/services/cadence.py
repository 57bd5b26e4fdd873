"""Flows that turn the cadence into reviews and reminders, each written with its messages in one transaction."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.domain import cadence as rules
from bot.domain.cadence import Cadence, CadenceRule, Occurrence
from bot.domain.kpis import KpiPolicy
from bot.domain.vocabulary import Role
from bot.outbox import queue_message
from bot.services import rollout as rollout_flows
from bot.services.calendar import schedule_for
from bot.services.context import Services
from bot.services.kpis import CHART_DAYS, current_standings
from bot.services.steps import StepResult, each_due_row, each_row
from messages import reviews as review_messages
from states import OPEN_REVIEW, ReviewStatus
from storage import counters, records, repository, reviews
from storage.audit import append_event
from storage.db import read_scope, session_scope
from storage.models import Initiative, Review

log = logging.getLogger(__name__)
# Reviews that look at the numbers: their prompts carry the KPI table and a trend chart.
KPI_REVIEWS = ("kpi-checkpoint", "monthly-performance-review")
MONTHLY_REVIEW = "monthly-performance-review"  # its prompt also says the initiative's review compliance


def window_floor(initiative: Initiative) -> datetime:
    """Occurrences before this belong to history Steward did not run (an import) or an earlier stage."""
    return max(initiative.stage_entered_at, initiative.created_at)


def next_due_at(initiative: Initiative, cadence: Cadence, *, after: datetime) -> datetime | None:
    """When the initiative's next review falls due after `after` (None: nothing more in this stage)."""
    schedule = schedule_for(initiative)
    after = max(after, window_floor(initiative))
    candidates = [rules.next_due(rule, schedule, cadence, after=after) for rule in cadence.rules]
    return min((c for c in candidates if c is not None), default=None)


def refresh_next_due(engine, cadence: Cadence) -> StepResult:
    """Recompute every initiative's next due time from what was materialized (after a cadence change).

    Occurrences that fell due while Steward was down stay due, because each rule counts from the
    last review it produced, not from now. An initiative whose cadence cannot be computed keeps its
    due time and is reported; the others are refreshed.
    """
    result = StepResult("cadence_refresh")
    with session_scope(engine) as session:

        def refresh(initiative: Initiative) -> bool:
            schedule = schedule_for(initiative)
            floor = window_floor(initiative)
            last = reviews.last_due_by_kind(session=session, initiative_id=initiative.id)
            candidates = [rules.next_due(rule, schedule, cadence, after=max(floor, last.get(rule.kind, floor)))
                          for rule in cadence.rules]
            next_at = min((c for c in candidates if c is not None), default=None)
            if next_at == initiative.cadence_next_at:
                return False
            initiative.cadence_next_at = next_at
            session.add(initiative)
            return True

        each_row(result, repository.active_initiatives(session=session), _initiative_row, refresh)
    return result


def mentioned(roles: list[Role], holders: dict[str, str]) -> list[tuple[Role, str | None]]:
    """Pair each role a message names with its holder, or None when vacant."""
    return [(role, holders.get(role)) for role in roles]


def materialize_due(services: Services, *, now: datetime) -> StepResult:
    """Create the reviews due at `now` for every initiative whose cadence has work due, and queue their prompts.

    Each initiative runs in its own transaction: one that fails stays due and is reported, the others go on.
    """
    result = StepResult("reviews", counts={"missed": 0, "superseded": 0})

    def due() -> list[Initiative]:
        with read_scope(services.engine) as session:
            return reviews.initiatives_due(session=session, now=now)

    def materialize(initiative: Initiative) -> int:
        with session_scope(services.engine) as session:
            return _materialize_one(session, initiative, services.cadence, now, result, kpis=services.kpis)

    return each_due_row(result, due, _initiative_row, materialize, key=lambda initiative: initiative.id)


def _initiative_row(initiative: Initiative) -> str:
    return f"initiative {initiative.key} ({initiative.team_id})"


def _materialize_one(session: Session, initiative: Initiative, cadence: Cadence, now: datetime,
                     result: StepResult, *, kpis: KpiPolicy) -> int:
    new_next = next_due_at(initiative, cadence, after=now)
    if not reviews.claim_initiative_cadence(session=session, initiative=initiative, new_next_at=new_next):
        return 0  # another sweep got here first
    schedule = schedule_for(initiative)
    floor = window_floor(initiative)
    last = reviews.last_due_by_kind(session=session, initiative_id=initiative.id)
    holders = repository.active_roles(session=session, initiative_id=initiative.id)
    created = missed_count = superseded = 0
    for rule in cadence.rules:
        after = max(floor, last.get(rule.kind, floor))
        found = rules.occurrences(rule, schedule, cadence, after=after, until=now)
        if not found:
            continue
        # After downtime only the latest occurrence posts; the ones missed meanwhile are recorded as such.
        *missed, latest = found
        for occurrence in missed:
            _insert_review(session, initiative, occurrence, status=ReviewStatus.SKIPPED, now=now,
                           notes="missed: Steward was not running when it fell due")
        missed_count += len(missed)
        for stale in reviews.open_reviews(session=session, initiative_id=initiative.id, kind=rule.kind):
            superseded += _supersede(session, initiative, stale, rule, now)
        review = _insert_review(session, initiative, latest, status=ReviewStatus.SCHEDULED, now=now)
        review.next_reminder_at = rules.reminder_moment(latest.due_at, cadence.reminder_days[0], schedule, cadence) \
            if cadence.reminder_days else None
        session.add(review)
        with_kpis = rule.kind in KPI_REVIEWS
        standings = current_standings(session, initiative, now=now, policy=kpis) if with_kpis else []
        kept = compliance(session, initiative, now=now) if rule.kind == MONTHLY_REVIEW else None
        message = review_messages.prompt(review, rule, initiative, standings=standings, compliance=kept,
                                         people=mentioned(rules.mentioned_roles(rule, holders), holders),
                                         launch_lines=rollout_flows.review_lines(session, initiative, rule.kind))
        queue_message(session=session, team_id=initiative.team_id, key=prompt_key(review),
                      channel_id=initiative.channel_id, message=message, purpose="review.prompt",
                      initiative_id=initiative.id, subject_id=review.id, at=now, due_at=latest.due_at)
        if with_kpis and records.has_measurements(session=session, initiative_id=initiative.id,
                                                  since=now - timedelta(days=CHART_DAYS), until=now):
            # The chart is drawn when it is sent, and goes into the prompt's thread; with no measurement in its
            # window there is nothing to draw, and the prompt's table already says "no measurement".
            queue_message(session=session, team_id=initiative.team_id, key=f"review:{review.id}:chart",
                          channel_id=initiative.channel_id, message=review_messages.chart_placeholder(),
                          purpose="kpi.chart", method="files.upload", thread_key=prompt_key(review),
                          initiative_id=initiative.id, subject_id=review.id, at=now, due_at=latest.due_at)
        append_event(session=session, team_id=initiative.team_id, actor="steward", action="review.scheduled",
                     target=initiative.key, payload={"review": f"R{review.number}", "kind": rule.kind,
                                                     "due_at": latest.due_at, "missed_before": len(missed)},
                     at=now)
        created += 1
    # Counted only once the whole initiative went through: a failed one rolls back and counts nothing.
    result.count("missed", missed_count)
    result.count("superseded", superseded)
    return created


def prompt_key(review: Review) -> str:
    return f"review:{review.id}:prompt"


def _insert_review(session: Session, initiative: Initiative, occurrence: Occurrence, *, status: ReviewStatus,
                   now: datetime, notes: str | None = None) -> Review:
    return reviews.add(session=session, initiative=initiative, kind=occurrence.kind, due_at=occurrence.due_at,
                       status=status, at=now, notes=notes,
                       number=counters.next_number(session=session, team_id=initiative.team_id, name="review"))


def _supersede(session: Session, initiative: Initiative, stale: Review, rule: CadenceRule, now: datetime) -> int:
    if not reviews.close_review(session=session, review=stale, status=ReviewStatus.SKIPPED, by=None, at=now,
                                notes="superseded: the next one fell due before it was completed"):
        return 0
    session.refresh(stale)
    message = review_messages.closed(stale, initiative, outcome="superseded", title=rule.title)
    queue_message(session=session, team_id=initiative.team_id, key=f"review:{stale.id}:closed",
                  channel_id=initiative.channel_id, message=message, purpose="review.update", method="chat.update",
                  target_key=prompt_key(stale), initiative_id=initiative.id, subject_id=stale.id, at=now)
    append_event(session=session, team_id=initiative.team_id, actor="steward", action="review.superseded",
                 target=initiative.key, payload={"review": f"R{stale.number}", "kind": stale.kind}, at=now)
    return 1


def send_reminders(services: Services, *, now: datetime) -> StepResult:
    """Queue the reminders due at `now`; after downtime only the latest reminder of each review goes out."""
    result = StepResult("reminders")

    def due() -> list[Review]:
        with read_scope(services.engine) as session:
            return reviews.reminders_due(session=session, now=now)

    def remind(review: Review) -> bool:
        with session_scope(services.engine) as session:
            return _remind_one(session, review, services.cadence, now)

    return each_due_row(result, due, lambda review: f"review R{review.number} ({review.team_id})", remind,
                        key=lambda review: review.id)


def _remind_one(session: Session, review: Review, cadence: Cadence, now: datetime) -> bool:
    initiative = repository.initiative_by_id(session=session, initiative_id=review.initiative_id)
    rule = cadence.rule(review.kind)
    schedule = schedule_for(initiative)
    moments = [rules.reminder_moment(review.due_at, days, schedule, cadence) for days in cadence.reminder_days]
    reached = sum(1 for moment in moments if moment <= now)
    next_at = moments[reached] if reached < len(moments) else None
    if reached <= review.reminders_sent:
        reviews.claim_reminder(session=session, review=review, sent=review.reminders_sent, next_at=next_at)
        return False
    if not reviews.claim_reminder(session=session, review=review, sent=reached, next_at=next_at):
        return False
    holders = repository.active_roles(session=session, initiative_id=initiative.id)
    roles = rules.reminded_roles(rule, holders, reminder=reached, reminders=len(moments))
    message = review_messages.reminder(review, rule, people=mentioned(roles, holders),
                                       days=cadence.reminder_days[reached - 1], final=reached == len(moments))
    queue_message(session=session, team_id=initiative.team_id, key=f"review:{review.id}:reminder:{reached}",
                  channel_id=initiative.channel_id, message=message, purpose="review.reminder",
                  thread_key=prompt_key(review), initiative_id=initiative.id, subject_id=review.id, at=now)
    return True


def review_still_open(session: Session, row) -> bool:
    """Outbox check: a prompt or reminder is sent only while its review is open."""
    review = reviews.by_id(session=session, review_id=row.subject_id)
    return review is not None and review.status in OPEN_REVIEW


def record_prompt_posted(session: Session, row, ts: str, now: datetime) -> None:
    """Outbox hook: the prompt is in Slack; remember where, so buttons and updates can find it."""
    review = reviews.by_id(session=session, review_id=row.subject_id)
    if review is not None:
        reviews.mark_posted(session=session, review=review, ts=ts, channel_id=row.channel_id, at=now)


def upcoming(initiative: Initiative, cadence: Cadence, *, now: datetime, until: datetime) -> list[Occurrence]:
    """The prompts an initiative will get between now and `until`, if its stage does not change."""
    schedule = schedule_for(initiative)
    return rules.due_between(schedule, cadence, after=max(now, window_floor(initiative)), until=until)


def record_before_steward(session: Session, initiative: Initiative, cadence: Cadence, *, now: datetime) -> int:
    """On import: the reviews of the current stage that fell due before it are recorded as "before Steward".

    They are closed (nobody is prompted for them); an admin may attest one that took place
    (`/steward review attest`), and an attested one counts where completed ones count (the gates).
    """
    found = rules.before_import(schedule_for(initiative), cadence, imported_at=now)
    for occurrence in found:
        reviews.add(session=session, initiative=initiative, kind=occurrence.kind, due_at=occurrence.due_at,
                    status=ReviewStatus.SKIPPED, at=now, notes=rules.BEFORE_STEWARD, before_steward=True,
                    number=counters.next_number(session=session, team_id=initiative.team_id, name="review"))
    return len(found)


def escalate_overdue(services: Services, *, now: datetime) -> StepResult:
    """Escalate, once, every review still open OVERDUE_DAYS after it fell due: to the executive sponsor, or the
    Steward admins while the sponsor is vacant. Each review in its own transaction; the claim makes it once."""
    result = StepResult("overdue_reviews")

    def due() -> list[Review]:
        with read_scope(services.engine) as session:
            return reviews.overdue(session=session, due_before=now - timedelta(days=rules.OVERDUE_DAYS))

    def escalate(review: Review) -> bool:
        with session_scope(services.engine) as session:
            return _escalate_one(session, services, review, now)

    return each_due_row(result, due, lambda review: f"review R{review.number} ({review.team_id})", escalate,
                        key=lambda review: review.id)


def _escalate_one(session: Session, services: Services, review: Review, now: datetime) -> bool:
    if not reviews.claim_escalation(session=session, review=review, at=now):
        return False
    initiative = repository.initiative_by_id(session=session, initiative_id=review.initiative_id)
    if initiative.archived:
        return False  # claimed, so it is not looked at again; nobody is told of an archived initiative
    holders = repository.active_roles(session=session, initiative_id=initiative.id)
    sponsor = holders.get(Role.EXECUTIVE_SPONSOR)
    admins = sorted(services.settings.steward_admins)
    message = review_messages.overdue(review, services.cadence.rule(review.kind), initiative, sponsor=sponsor,
                                      admins=admins, days=(now - review.due_at).days)
    # Sent only while the review is still open (the reminders' check), at the top of the channel.
    queue_message(session=session, team_id=initiative.team_id, key=f"review:{review.id}:overdue",
                  channel_id=initiative.channel_id, message=message, purpose="review.reminder",
                  initiative_id=initiative.id, subject_id=review.id, at=now)
    append_event(session=session, team_id=initiative.team_id, actor="steward", action="review.overdue_escalated",
                 target=initiative.key,
                 payload={"review": f"R{review.number}", "kind": review.kind, "due_at": review.due_at,
                          "to": [sponsor] if sponsor else admins, "sponsor_vacant": sponsor is None}, at=now)
    return True


def compliance(session: Session, initiative: Initiative, *, now: datetime) -> rules.Compliance:
    """The initiative's review compliance: completed on time out of due, over the last COMPLIANCE_DAYS."""
    rows = reviews.due_within(session=session, initiative_id=initiative.id,
                              since=now - timedelta(days=rules.COMPLIANCE_DAYS), until=now)
    return rules.compliance([(r.due_at, r.status, r.completed_at) for r in rows], now=now)


def overdue_open(session: Session, initiative_ids: list[int], *, now: datetime) -> list[Review]:
    """The open reviews of these initiatives that are overdue (OVERDUE_DAYS after they fell due)."""
    return [r for r in reviews.open_for_initiatives(session=session, initiative_ids=initiative_ids)
            if rules.is_overdue(r.due_at, now=now)]
