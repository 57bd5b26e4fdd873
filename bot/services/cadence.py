"""Flows that turn the cadence into reviews and reminders, each written with its messages in one transaction."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from bot.domain import cadence as rules
from bot.domain.cadence import Cadence, CadenceRule, Occurrence
from bot.domain.vocabulary import REQUIRED_ROLES, Role
from bot.outbox import queue_message
from bot.services.calendar import schedule_for
from bot.services.kpis import current_standings, standing_line
from messages.render import Message, render
from storage import counters, repository, reviews
from storage.audit import append_event
from storage.db import read_scope, session_scope
from storage.models import Initiative, Review

log = logging.getLogger(__name__)
# Reviews that look at the numbers: their prompts carry the KPI table and a trend chart.
KPI_REVIEWS = ("kpi-checkpoint", "monthly-performance-review")


def window_floor(initiative: Initiative) -> datetime:
    """Occurrences before this belong to history Steward did not run (an import) or an earlier stage."""
    return max(initiative.stage_entered_at, initiative.created_at)


def next_due_at(initiative: Initiative, cadence: Cadence, *, after: datetime) -> datetime | None:
    """When the initiative's next review falls due after `after` (None: nothing more in this stage)."""
    schedule = schedule_for(initiative)
    after = max(after, window_floor(initiative))
    candidates = [rules.next_due(rule, schedule, cadence, after=after) for rule in cadence.rules]
    return min((c for c in candidates if c is not None), default=None)


def refresh_next_due(engine, cadence: Cadence) -> int:
    """Recompute every initiative's next due time from what was materialized (after a cadence change).

    Occurrences that fell due while Steward was down stay due, because each rule counts from the
    last review it produced, not from now.
    """
    changed = 0
    with session_scope(engine) as session:
        for initiative in session.exec(select(Initiative).where(col(Initiative.archived).is_(False))):
            schedule = schedule_for(initiative)
            floor = window_floor(initiative)
            last = reviews.last_due_by_kind(session, initiative_id=initiative.id)
            candidates = [rules.next_due(rule, schedule, cadence, after=max(floor, last.get(rule.kind, floor)))
                          for rule in cadence.rules]
            next_at = min((c for c in candidates if c is not None), default=None)
            if next_at != initiative.cadence_next_at:
                initiative.cadence_next_at = next_at
                session.add(initiative)
                changed += 1
    return changed


def mentioned(rule: CadenceRule, roles: dict[str, str]) -> list[tuple[Role, str | None]]:
    """The roles a prompt names, each with its holder or None when vacant."""
    # A KPI checkpoint concerns everyone: every assigned role, and the required ones even when vacant.
    wanted = [r for r in Role if r in roles or r in REQUIRED_ROLES] if rule.mention_all_assigned else list(rule.mention)
    return [(role, roles.get(role)) for role in wanted]


@dataclass
class MaterializeReport:
    created: list[Review] = field(default_factory=list)
    missed: int = 0
    superseded: int = 0


def materialize_due(engine, cadence: Cadence, *, now: datetime) -> MaterializeReport:
    """Create the reviews due at `now` for every initiative whose cadence has work due, and queue their prompts."""
    report = MaterializeReport()
    with read_scope(engine) as session:
        due = reviews.initiatives_due(session, now=now)
    for initiative in due:
        try:
            with session_scope(engine) as session:
                _materialize_one(session, initiative, cadence, now, report)
        except Exception:
            # One broken initiative must not stop the cadence of the others; it stays due.
            log.exception("materializing the cadence of %s failed", initiative.key)
    return report


def _materialize_one(session: Session, initiative: Initiative, cadence: Cadence, now: datetime,
                     report: MaterializeReport) -> None:
    new_next = next_due_at(initiative, cadence, after=now)
    if not reviews.claim_initiative_cadence(session, initiative=initiative, new_next_at=new_next):
        return  # another sweep got here first
    schedule = schedule_for(initiative)
    floor = window_floor(initiative)
    last = reviews.last_due_by_kind(session, initiative_id=initiative.id)
    roles = repository.active_roles(session=session, initiative_id=initiative.id)
    for rule in cadence.rules:
        after = max(floor, last.get(rule.kind, floor))
        found = rules.occurrences(rule, schedule, cadence, after=after, until=now)
        if not found:
            continue
        # After downtime only the latest occurrence posts; the ones missed meanwhile are recorded as such.
        *missed, latest = found
        for occurrence in missed:
            _insert_review(session, initiative, occurrence, status=reviews.SKIPPED, now=now,
                           notes="missed: Steward was not running when it fell due")
            report.missed += 1
        for stale in reviews.open_reviews(session, initiative_id=initiative.id, kind=rule.kind):
            report.superseded += _supersede(session, initiative, stale, rule, now)
        review = _insert_review(session, initiative, latest, status=reviews.SCHEDULED, now=now)
        review.next_reminder_at = rules.reminder_moment(latest.due_at, cadence.reminder_days[0], schedule, cadence) \
            if cadence.reminder_days else None
        session.add(review)
        with_kpis = rule.kind in KPI_REVIEWS
        kpi_lines = [standing_line(s) for s in current_standings(session, initiative, until=now)] if with_kpis else []
        message = render("review_prompt", review=review, rule=rule, initiative=initiative,
                         people=mentioned(rule, roles), completers=[r.label for r in rule.completers()],
                         kpi_lines=kpi_lines)
        queue_message(session, team_id=initiative.team_id, key=prompt_key(review), channel_id=initiative.channel_id,
                      message=message, purpose="review.prompt", initiative_id=initiative.id, subject_id=review.id,
                      at=now, due_at=latest.due_at)
        if with_kpis:
            # The chart is drawn when it is sent, and goes into the prompt's thread.
            queue_message(session, team_id=initiative.team_id, key=f"review:{review.id}:chart",
                          channel_id=initiative.channel_id, message=Message("KPI trends", []), purpose="kpi.chart",
                          method="files.upload", thread_key=prompt_key(review), initiative_id=initiative.id,
                          subject_id=review.id, at=now, due_at=latest.due_at)
        append_event(session, team_id=initiative.team_id, actor="steward", action="review.scheduled",
                     target=initiative.key, payload={"review": f"R{review.number}", "kind": rule.kind,
                                                     "due_at": latest.due_at, "missed_before": len(missed)},
                     at=now)
        report.created.append(review)


def prompt_key(review: Review) -> str:
    return f"review:{review.id}:prompt"


def _insert_review(session: Session, initiative: Initiative, occurrence: Occurrence, *, status: str,
                   now: datetime, notes: str | None = None) -> Review:
    review = Review(team_id=initiative.team_id, initiative_id=initiative.id, kind=occurrence.kind,
                    due_at=occurrence.due_at, status=status, notes=notes, created_at=now,
                    number=counters.next_number(session=session, team_id=initiative.team_id, name="review"))
    session.add(review)
    session.flush()
    return review


def _supersede(session: Session, initiative: Initiative, stale: Review, rule: CadenceRule, now: datetime) -> int:
    if not reviews.close_review(session, review=stale, status=reviews.SKIPPED, by=None, at=now,
                                notes="superseded: the next one fell due before it was completed"):
        return 0
    session.refresh(stale)
    message = render("review_closed", review=stale, initiative=initiative, outcome="superseded", by=None,
                     notes=None, title=rule.title)
    queue_message(session, team_id=initiative.team_id, key=f"review:{stale.id}:closed",
                  channel_id=initiative.channel_id, message=message, purpose="review.update", method="chat.update",
                  target_key=prompt_key(stale), initiative_id=initiative.id, subject_id=stale.id, at=now)
    append_event(session, team_id=initiative.team_id, actor="steward", action="review.superseded",
                 target=initiative.key, payload={"review": f"R{stale.number}", "kind": stale.kind}, at=now)
    return 1


def send_reminders(engine, cadence: Cadence, *, now: datetime) -> int:
    """Queue the reminders due at `now`; after downtime only the latest reminder of each review goes out."""
    sent = 0
    with read_scope(engine) as session:
        due = reviews.reminders_due(session, now=now)
    for review in due:
        with session_scope(engine) as session:
            initiative = session.get(Initiative, review.initiative_id)
            rule = cadence.rule(review.kind)
            schedule = schedule_for(initiative)
            moments = [rules.reminder_moment(review.due_at, days, schedule, cadence) for days in cadence.reminder_days]
            reached = sum(1 for moment in moments if moment <= now)
            next_at = moments[reached] if reached < len(moments) else None
            if reached <= review.reminders_sent:
                reviews.claim_reminder(session, review=review, sent=review.reminders_sent, next_at=next_at)
                continue
            if not reviews.claim_reminder(session, review=review, sent=reached, next_at=next_at):
                continue
            roles = repository.active_roles(session=session, initiative_id=initiative.id)
            people = mentioned(rule, roles) if rule else []
            final = reached == len(moments)
            if final and all(role is not Role.BUSINESS_OWNER for role, _ in people):
                # The last reminder escalates to the business owner.
                people.append((Role.BUSINESS_OWNER, roles.get(Role.BUSINESS_OWNER)))
            message = render("review_reminder", review=review, rule=rule, initiative=initiative, people=people,
                             days=cadence.reminder_days[reached - 1], final=final)
            queue_message(session, team_id=initiative.team_id, key=f"review:{review.id}:reminder:{reached}",
                          channel_id=initiative.channel_id, message=message, purpose="review.reminder",
                          thread_key=prompt_key(review), initiative_id=initiative.id, subject_id=review.id,
                          at=now)
            sent += 1
    return sent


def review_still_open(session: Session, row) -> bool:
    """Outbox check: a prompt or reminder is sent only while its review is open."""
    review = session.get(Review, row.subject_id)
    return review is not None and review.status in reviews.OPEN


def record_prompt_posted(session: Session, row, ts: str, now: datetime) -> None:
    """Outbox hook: the prompt is in Slack; remember where, so buttons and updates can find it."""
    review = session.get(Review, row.subject_id)
    if review is not None and review.message_ts is None:
        review.message_ts, review.channel_id, review.posted_at = ts, row.channel_id, now
        if review.status == reviews.SCHEDULED:
            review.status = reviews.POSTED
        session.add(review)


def upcoming(initiative: Initiative, cadence: Cadence, *, now: datetime, until: datetime) -> list[Occurrence]:
    """The prompts an initiative will get between now and `until`, if its stage does not change."""
    schedule = schedule_for(initiative)
    return rules.due_between(schedule, cadence, after=max(now, window_floor(initiative)), until=until)
