"""Flows for people and reviews: what is open, and completing one (command or button)."""

from __future__ import annotations

from datetime import UTC, datetime, time

from bot.domain import permissions
from bot.domain.commands import ReviewDone, ReviewList
from bot.domain.kpis import KPIS
from bot.errors import Conflict, NotFound, PermissionDenied, RefusedAttempt
from bot.outbox import queue_message
from bot.services.cadence import prompt_key
from bot.services.context import Actor, Services
from bot.services.lookup import require_initiative
from messages import reviews as review_messages
from messages.render import Message
from states import OPEN_REVIEW, ReviewStatus
from storage import audit, records, repository, reviews
from storage.audit import append_event
from storage.db import read_scope, session_scope


def list_open(services: Services, actor: Actor, command: ReviewList) -> Message:
    with read_scope(services.engine) as session:
        initiative_id = None
        if command.key:
            initiative_id = require_initiative(session, team_id=actor.team_id, key=command.key).id
        found = reviews.open_reviews_of_team(session=session, team_id=actor.team_id, initiative_id=initiative_id)
        initiatives = {i.id: i for i in repository.list_initiatives(session=session, team_id=actor.team_id,
                                                                     include_archived=True)}
    return review_messages.open_list([(review, initiatives[review.initiative_id], services.cadence.rule(review.kind))
                                      for review in found], key=command.key)


def complete(services: Services, actor: Actor, command: ReviewDone) -> Message:
    """Complete an open review, if the person holds a role that completes its kind."""
    with session_scope(services.engine) as session:
        review, initiative, rule = load_open(services, session, actor, command.number)
        holders = repository.active_roles(session=session, initiative_id=initiative.id)
        allowed = rule.completers() if rule else ()
        held = permissions.roles_held(actor.user_id, holders)
        if not any(role in allowed for role in held):
            raise PermissionDenied(
                review_messages.only_completers(review, rule, allowed=allowed, holders=holders),
                attempt=RefusedAttempt("review.completion_refused", initiative.key,
                                       {"review": f"R{review.number}", "kind": review.kind,
                                        "roles": [r.value for r in held]}))
        check_completable(session, review, initiative)
        mark_completed(session, actor, review, initiative, review_messages.title(review, rule), command.notes, held)
    services.notify_outbox()
    return review_messages.completed_reply(review, rule, key=initiative.key)


def load_open(services: Services, session, actor: Actor, number: int):
    """The open review R<number> of the workspace, its initiative and cadence rule; or a refusal."""
    review = reviews.by_number(session=session, team_id=actor.team_id, number=number)
    if review is None:
        raise NotFound(review_messages.no_such_review(number))
    initiative = repository.initiative_by_id(session=session, initiative_id=review.initiative_id)
    if review.status not in OPEN_REVIEW:
        raise Conflict(review_messages.not_open(review, initiative))
    return review, initiative, services.cadence.rule(review.kind)


def check_completable(session, review, initiative) -> None:
    """A KPI checkpoint is completed with the five KPIs on record since launch."""
    if review.kind != "kpi-checkpoint":
        return
    since = datetime.combine(initiative.launch_date, time(0), UTC) if initiative.launch_date else review.due_at
    latest = records.latest_measurements(session=session, initiative_id=initiative.id)
    missing = [name for name in KPIS if name not in latest or latest[name].measured_at < since]
    if missing:
        raise Conflict(review_messages.kpis_missing(review, missing))


def mark_completed(session, actor: Actor, review, initiative, title: str, notes: str | None, held) -> None:
    """Close the review as completed, update its prompt in Slack and write the audit event (caller's transaction)."""
    if not reviews.close_review(session=session, review=review, status=ReviewStatus.COMPLETED, by=actor.user_id,
                                at=actor.now, notes=notes):
        raise Conflict(review_messages.completed_meanwhile(review))
    session.refresh(review)
    append_event(session=session, team_id=actor.team_id, actor=actor.user_id, action="review.completed",
                 target=initiative.key,
                 payload={"review": f"R{review.number}", "kind": review.kind, "notes": notes,
                          "roles": [r.value for r in held]}, at=actor.now)
    audit.bind(session=session, team_id=actor.team_id, rows=[review])
    message = review_messages.closed(review, initiative, outcome="completed", title=title)
    queue_message(session=session, team_id=actor.team_id, key=f"review:{review.id}:closed",
                  channel_id=initiative.channel_id, message=message, purpose="review.update",
                  method="chat.update", target_key=prompt_key(review), initiative_id=initiative.id,
                  subject_id=review.id, at=actor.now)
