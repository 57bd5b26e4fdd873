"""Flows for assigning and unassigning the production roles of an initiative."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from bot.domain import permissions
from bot.domain.commands import RoleAssign, RoleUnassign
from bot.domain.vocabulary import REQUIRED_ROLES
from bot.errors import Conflict, PermissionDenied
from bot.outbox import queue_message
from bot.services.context import Actor, Services
from bot.services.lookup import require_initiative
from messages.render import Message, render
from storage import repository
from storage.audit import append_event
from storage.db import session_scope
from storage.models import RoleAssignment


def assign(services: Services, actor: Actor, command: RoleAssign) -> Message:
    """Give a role to a person, ending whoever held it before."""
    try:
        with session_scope(services.engine) as session:
            initiative = require_initiative(session, team_id=actor.team_id, key=command.key)
            roles = repository.active_roles(session=session, initiative_id=initiative.id)
            _authorize(services, actor, roles)
            current = repository.active_assignment(session=session, initiative_id=initiative.id,
                                                   role=command.role.value)
            if current is not None and current.user_id == command.user_id:
                raise Conflict(f"<@{command.user_id}> already is the {command.role.label} of `{initiative.key}`.")
            if current is not None:
                repository.end_assignment(session=session, assignment=current, ended_by=actor.user_id,
                                          at=actor.now)
            assignment = RoleAssignment(team_id=actor.team_id, initiative_id=initiative.id, role=command.role.value,
                                        user_id=command.user_id, assigned_by=actor.user_id, assigned_at=actor.now)
            session.add(assignment)
            session.flush()
            roles[command.role.value] = command.user_id
            previous = current.user_id if current else None
            append_event(session, team_id=actor.team_id, actor=actor.user_id, action="role.assigned",
                         target=initiative.key,
                         payload={"role": command.role.value, "user": command.user_id, "previous": previous},
                         at=actor.now)
            _queue_notice(session, initiative, actor, assignment.id, command.role, command.user_id, previous, roles)
    except IntegrityError:
        raise Conflict("Someone changed this role at the same moment; run the command again.") from None
    services.notify_outbox()
    summary = f"{command.role.label} of {initiative.key} is now <@{command.user_id}>"
    return render("role_changed", summary=summary, summary_mrkdwn=summary + ".")


def unassign(services: Services, actor: Actor, command: RoleUnassign) -> Message:
    """End the current holder's assignment; the history keeps it."""
    with session_scope(services.engine) as session:
        initiative = require_initiative(session, team_id=actor.team_id, key=command.key)
        roles = repository.active_roles(session=session, initiative_id=initiative.id)
        _authorize(services, actor, roles)
        current = repository.active_assignment(session=session, initiative_id=initiative.id,
                                               role=command.role.value)
        if current is None:
            raise Conflict(f"The {command.role.label} role of `{initiative.key}` is already vacant.")
        repository.end_assignment(session=session, assignment=current, ended_by=actor.user_id, at=actor.now)
        roles.pop(command.role.value, None)
        append_event(session, team_id=actor.team_id, actor=actor.user_id, action="role.unassigned",
                     target=initiative.key, payload={"role": command.role.value, "previous": current.user_id},
                     at=actor.now)
        _queue_notice(session, initiative, actor, current.id, command.role, None, current.user_id, roles,
                      ended=True)
    services.notify_outbox()
    summary = f"{command.role.label} of {initiative.key} is now vacant (was <@{current.user_id}>)"
    return render("role_changed", summary=summary, summary_mrkdwn=summary + ".")


def _authorize(services: Services, actor: Actor, roles: dict[str, str]) -> None:
    if not permissions.may_manage_roles(actor.user_id, services.settings.steward_admins, roles):
        owner = roles.get("business_owner")
        who = f"its business owner (<@{owner}>)" if owner else "its business owner (vacant)"
        raise PermissionDenied(f"Only Steward admins and {who} may change the roles of this initiative.")


def _queue_notice(session, initiative, actor, assignment_id, role, user_id, previous, roles, ended=False) -> None:
    notice = render("notice_role_changed", key=initiative.key, role_label=role.label, user_id=user_id,
                    previous_user_id=previous, actor=actor.user_id,
                    vacant_required=[r.label for r in REQUIRED_ROLES if r.value not in roles])
    suffix = "ended" if ended else "assigned"
    queue_message(session, team_id=actor.team_id, key=f"role:{assignment_id}:{suffix}",
                  channel_id=initiative.channel_id, message=notice, purpose="notice",
                  initiative_id=initiative.id, at=actor.now)
