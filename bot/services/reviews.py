"""Flows for people and reviews: what is open, and completing one (command or button)."""

from __future__ import annotations

from datetime import UTC, datetime, time

from bot.domain import permissions
from bot.domain.commands import ReviewDone, ReviewList
from bot.domain.kpis import KPIS
from bot.errors import Conflict, NotFound, PermissionDenied
from bot.outbox import queue_message
from bot.services.cadence import prompt_key
from bot.services.context import Actor, Services
from bot.services.lookup import require_initiative
from messages.render import Message, local_time, render
from storage import records, repository, reviews
from storage.audit import append_event
from storage.db import read_scope, session_scope
from storage.models import Initiative


def list_open(services: Services, actor: Actor, command: ReviewList) -> Message:
    with read_scope(services.engine) as session:
        initiative_id = None
        if command.key:
            initiative_id = require_initiative(session, team_id=actor.team_id, key=command.key).id
        found = reviews.open_reviews_of_team(session, team_id=actor.team_id, initiative_id=initiative_id)
        initiatives = {i.id: i for i in repository.list_initiatives(session=session, team_id=actor.team_id,
                                                                     include_archived=True)}
    items = []
    for review in found:
        initiative = initiatives[review.initiative_id]
        rule = services.cadence.rule(review.kind)
        items.append({"number": review.number, "title": rule.title if rule else review.kind, "key": initiative.key,
                      "due": local_time(review.due_at, initiative.timezone), "status": review.status,
                      "reminders": review.reminders_sent})
    return render("review_list", items=items, key=command.key)


def complete(services: Services, actor: Actor, command: ReviewDone) -> Message:
    """Complete an open review, if the person holds a role that completes its kind."""
    refusal = None
    with session_scope(services.engine) as session:
        review, initiative, rule = load_open(services, session, actor, command.number)
        title = rule.title if rule else review.kind
        roles = repository.active_roles(session=session, initiative_id=initiative.id)
        allowed = rule.completers() if rule else ()
        held = permissions.roles_held(actor.user_id, roles)
        if not any(role in allowed for role in held):
            holders = [f"the {r.label} (<@{roles[r]}>)" if r in roles else f"the {r.label} (vacant)" for r in allowed]
            refusal = (f"Only {' or '.join(holders)} can complete R{review.number} ({title}).", held)
        else:
            check_completable(session, review, initiative)
            mark_completed(session, actor, review, initiative, title, command.notes, held)
    if refusal is not None:
        _record_refusal(services, actor, initiative.key, review, refusal[1])
        raise PermissionDenied(refusal[0])
    services.notify_outbox()
    return render("review_completed_reply", review=review, title=title, key=initiative.key)


def load_open(services: Services, session, actor: Actor, number: int):
    """The open review R<number> of the workspace, its initiative and cadence rule; or a refusal."""
    review = reviews.by_number(session, team_id=actor.team_id, number=number)
    if review is None:
        raise NotFound(f"There is no review R{number} in this workspace. `/steward review list` shows the open ones.")
    initiative = session.get(Initiative, review.initiative_id)
    if review.status not in reviews.OPEN:
        raise Conflict(_closed_reason(review, initiative))
    return review, initiative, services.cadence.rule(review.kind)


def check_completable(session, review, initiative) -> None:
    """A KPI checkpoint is completed with the five KPIs on record since launch."""
    if review.kind != "kpi-checkpoint":
        return
    since = datetime.combine(initiative.launch_date, time(0), UTC) if initiative.launch_date else review.due_at
    latest = records.latest_measurements(session, initiative_id=initiative.id)
    missing = [name for name in KPIS if name not in latest or latest[name].measured_at < since]
    if missing:
        raise Conflict(f"R{review.number} is a KPI checkpoint: record the five KPIs first; missing since launch: "
                       + ", ".join(f"`{name}`" for name in missing) + ".")


def mark_completed(session, actor: Actor, review, initiative, title: str, notes: str | None, held) -> None:
    """Close the review as completed, update its prompt in Slack and write the audit event (caller's transaction)."""
    if not reviews.close_review(session, review=review, status=reviews.COMPLETED, by=actor.user_id, at=actor.now,
                                notes=notes):
        raise Conflict(f"R{review.number} was completed a moment ago by someone else.")
    session.refresh(review)
    append_event(session, team_id=actor.team_id, actor=actor.user_id, action="review.completed",
                 target=initiative.key,
                 payload={"review": f"R{review.number}", "kind": review.kind, "notes": notes,
                          "roles": [r.value for r in held]}, at=actor.now)
    message = render("review_closed", review=review, initiative=initiative, outcome="completed",
                     by=actor.user_id, notes=notes, title=title)
    queue_message(session, team_id=actor.team_id, key=f"review:{review.id}:closed",
                  channel_id=initiative.channel_id, message=message, purpose="review.update",
                  method="chat.update", target_key=prompt_key(review), initiative_id=initiative.id,
                  subject_id=review.id, at=actor.now)


def _closed_reason(review, initiative) -> str:
    if review.status == reviews.COMPLETED:
        return (f"R{review.number} was already completed by <@{review.completed_by}> on "
                f"{local_time(review.completed_at, initiative.timezone)}.")
    return f"R{review.number} is closed: {review.notes or 'skipped'}."


def _record_refusal(services: Services, actor: Actor, key: str, review, held) -> None:
    """The refused attempt is itself evidence; it is written in a transaction of its own."""
    with session_scope(services.engine) as session:
        append_event(session, team_id=actor.team_id, actor=actor.user_id, action="review.completion_refused",
                     target=key, payload={"review": f"R{review.number}", "kind": review.kind,
                                          "roles": [r.value for r in held]}, at=actor.now)
