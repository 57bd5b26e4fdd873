"""Flows for people and reviews: what is open, and completing one (command or button)."""

from __future__ import annotations

from bot.domain import permissions
from bot.domain.commands import ReviewDone, ReviewList
from bot.errors import Conflict, NotFound, PermissionDenied
from bot.outbox import queue_message
from bot.services.cadence import prompt_key
from bot.services.context import Actor, Services
from bot.services.lookup import require_initiative
from messages.render import Message, local_time, render
from storage import repository, reviews
from storage.audit import append_event
from storage.db import session_scope
from storage.models import Initiative


def list_open(services: Services, actor: Actor, command: ReviewList) -> Message:
    with session_scope(services.engine) as session:
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
        review = reviews.by_number(session, team_id=actor.team_id, number=command.number)
        if review is None:
            raise NotFound(f"There is no review R{command.number} in this workspace. `/steward review list` "
                           "shows the open ones.")
        initiative = session.get(Initiative, review.initiative_id)
        rule = services.cadence.rule(review.kind)
        title = rule.title if rule else review.kind
        if review.status not in reviews.OPEN:
            raise Conflict(_closed_reason(review, initiative))
        roles = repository.active_roles(session=session, initiative_id=initiative.id)
        allowed = rule.completers() if rule else ()
        held = permissions.roles_held(actor.user_id, roles)
        if not any(role in allowed for role in held):
            holders = [f"the {r.label} (<@{roles[r]}>)" if r in roles else f"the {r.label} (vacant)" for r in allowed]
            refusal = (f"Only {' or '.join(holders)} can complete R{review.number} ({title}).", held)
        elif not reviews.close_review(session, review=review, status=reviews.COMPLETED, by=actor.user_id,
                                      at=actor.now, notes=command.notes):
            raise Conflict(f"R{review.number} was completed a moment ago by someone else.")
        else:
            session.refresh(review)
            append_event(session, team_id=actor.team_id, actor=actor.user_id, action="review.completed",
                         target=initiative.key,
                         payload={"review": f"R{review.number}", "kind": review.kind, "notes": command.notes,
                                  "roles": [r.value for r in held]}, at=actor.now)
            message = render("review_closed", review=review, initiative=initiative, outcome="completed",
                             by=actor.user_id, notes=command.notes, title=title)
            queue_message(session, team_id=actor.team_id, key=f"review:{review.id}:closed",
                          channel_id=initiative.channel_id, message=message, purpose="review.update",
                          method="chat.update", target_key=prompt_key(review), initiative_id=initiative.id,
                          subject_id=review.id, at=actor.now)
    if refusal is not None:
        _record_refusal(services, actor, initiative.key, review, refusal[1])
        raise PermissionDenied(refusal[0])
    services.notify_outbox()
    return render("review_completed_reply", review=review, title=title, key=initiative.key)


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
