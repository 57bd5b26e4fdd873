"""The business value an initiative committed to deliver, and what the monthly reviews say of it (issue 17 pt 7).

`/steward value <key> <committed value and target...>` records the commitment (the readiness gate needs one);
the monthly performance review's first question asks whether it is being delivered (yes, partly, no, with
evidence); two "no" in a row log a deviation and tell the business owner and executive sponsor.
"""

from __future__ import annotations

import json

from bot.domain import permissions
from bot.domain.commands import ValueCommit
from bot.domain.review_questions import VALUE_DELIVERED, from_json, not_delivered_twice
from bot.domain.vocabulary import Role
from bot.errors import PermissionDenied, RefusedAttempt
from bot.outbox import queue_message
from bot.services.context import Actor, Services
from bot.services.lookup import require_initiative
from messages import business_value as value_messages
from messages.render import Message
from storage import audit, incidents, repository, reviews
from storage.audit import append_event
from storage.db import session_scope

MONTHLY_REVIEW = "monthly-performance-review"


def commit(services: Services, actor: Actor, command: ValueCommit) -> Message:
    """Record what the initiative commits to deliver (the business owner or an admin); audited and bound."""
    with session_scope(services.engine) as session:
        initiative = require_initiative(session, team_id=actor.team_id, key=command.key)
        holders = repository.active_roles(session=session, initiative_id=initiative.id)
        if not permissions.may_manage_roles(actor.user_id, services.settings.steward_admins, holders):
            raise PermissionDenied(value_messages.only_owner_or_admins(initiative.key),
                                   attempt=RefusedAttempt("value.refused", initiative.key, {}))
        earlier = reviews.business_value(session=session, initiative_id=initiative.id)
        row = reviews.add_business_value(session=session, initiative=initiative, commitment=command.commitment,
                                         by=actor.user_id, at=actor.now)
        append_event(session=session, team_id=actor.team_id, actor=actor.user_id, action="value.committed",
                     target=initiative.key,
                     payload={"commitment": command.commitment, "replaces": earlier.id if earlier else None},
                     at=actor.now)
        audit.bind(session=session, team_id=actor.team_id, rows=[row])
        queue_message(session=session, team_id=actor.team_id, key=f"value:{row.id}", channel_id=initiative.channel_id,
                      message=value_messages.notice(initiative.key, command.commitment, actor=actor.user_id),
                      purpose="notice", initiative_id=initiative.id, at=actor.now)
    services.notify_outbox()
    return value_messages.recorded_reply(initiative.key, command.commitment, replaced=earlier is not None)


def committed(session, initiative_id: int) -> bool:
    """Whether the initiative has recorded the business value it commits to deliver (the readiness gate)."""
    return reviews.business_value(session=session, initiative_id=initiative_id) is not None


def after_answers(services: Services, session, actor: Actor, review, initiative, answers_row) -> str:
    """After a review's answers are stored (caller's transaction): a second "no" in a row on the committed value
    logs a deviation and tells the business owner and the executive sponsor. Returns a sentence for the reply."""
    if review.kind != MONTHLY_REVIEW or answers_row.delivery != "no":
        return ""
    previous = reviews.previous_of_kind(session=session, review=review)  # a missed one breaks the row
    earlier = reviews.answers_of(session=session, review_id=previous.id) if previous is not None else None
    if not not_delivered_twice(earlier.delivery if earlier else None, answers_row.delivery):
        return ""
    value = reviews.business_value(session=session, initiative_id=initiative.id)
    numbers = [previous.number, review.number]
    evidence = [_evidence(earlier), _evidence(answers_row)]
    text = value_messages.deviation_text(numbers, value.commitment if value else None)
    deviation = incidents.add_deviation(session=session, team_id=actor.team_id, initiative_id=initiative.id,
                                        text=text, by="steward", at=actor.now)
    append_event(session=session, team_id=actor.team_id, actor="steward", action="deviation.logged",
                 target=initiative.key,
                 payload={"deviation": deviation.id, "text": text, "reviews": [f"R{n}" for n in numbers]},
                 at=actor.now)
    holders = repository.active_roles(session=session, initiative_id=initiative.id)
    queue_message(session=session, team_id=actor.team_id, key=f"value:not-delivered:{review.id}",
                  channel_id=initiative.channel_id, purpose="notice", initiative_id=initiative.id, at=actor.now,
                  message=value_messages.not_delivered_notice(
                      initiative.key, numbers, evidence, owner=holders.get(Role.BUSINESS_OWNER),
                      sponsor=holders.get(Role.EXECUTIVE_SPONSOR), admins=sorted(services.settings.steward_admins),
                      deviation=deviation.id))
    return (f"This is the second monthly review in a row saying the committed value is not delivered: deviation "
            f"#{deviation.id} is logged and the business owner and executive sponsor are told.")


def _evidence(row) -> str:
    for answer in from_json(json.loads(row.answers)):
        if answer.question == VALUE_DELIVERED:
            return answer.text
    return ""
