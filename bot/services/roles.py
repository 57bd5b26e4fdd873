"""Flows for assigning and unassigning the production roles of an initiative."""

from __future__ import annotations

from bot.domain import permissions
from bot.domain.commands import RoleAssign, RoleUnassign
from bot.domain.vocabulary import Role
from bot.errors import Conflict, PermissionDenied
from bot.outbox import queue_message
from bot.services import cover
from bot.services.context import Actor, Services
from bot.services.lookup import require_initiative
from bot.services.signoff_voids import Cause, void_broken_stage_exit
from messages import roles as role_messages
from messages.render import Message
from storage import audit, repository
from storage.audit import append_event
from storage.db import session_scope
from storage.models import Initiative


def assign(services: Services, actor: Actor, command: RoleAssign) -> Message:
    """Give a role to a person, ending whoever held it before."""
    try:
        with session_scope(services.engine) as session:
            initiative = require_initiative(session, team_id=actor.team_id, key=command.key)
            holders = repository.active_roles(session=session, initiative_id=initiative.id)
            _authorize(services, actor, holders)
            current = repository.active_assignment(session=session, initiative_id=initiative.id,
                                                   role=command.role.value)
            if current is not None and current.user_id == command.user_id:
                raise Conflict(role_messages.already_holds(role=command.role, key=initiative.key,
                                                           user_id=command.user_id))
            if current is not None:
                repository.end_assignment(session=session, assignment=current, ended_by=actor.user_id,
                                          at=actor.now)
                cover.end_with_role(session, initiative, current, by=actor.user_id, at=actor.now,
                                    successor=command.user_id)
            assignment = repository.add_assignment(session=session, team_id=actor.team_id,
                                                   initiative_id=initiative.id, role=command.role.value,
                                                   user_id=command.user_id, assigned_by=actor.user_id, at=actor.now)
            holders[command.role.value] = command.user_id
            previous = current.user_id if current else None
            append_event(session=session, team_id=actor.team_id, actor=actor.user_id, action="role.assigned",
                         target=initiative.key,
                         payload={"role": command.role.value, "user": command.user_id, "previous": previous},
                         at=actor.now)
            audit.bind(session=session, team_id=actor.team_id, rows=[r for r in (current, assignment) if r])
            _queue_notice(session, initiative, actor, key=f"role:{assignment.id}:assigned", role=command.role,
                          user_id=command.user_id, previous=previous, holders=holders)
    except repository.Duplicate:
        raise Conflict(role_messages.changed_meanwhile()) from None
    services.notify_outbox()
    return role_messages.assigned(role=command.role, key=initiative.key, user_id=command.user_id)


def unassign(services: Services, actor: Actor, command: RoleUnassign) -> Message:
    """End the current holder's assignment; the history keeps it."""
    with session_scope(services.engine) as session:
        initiative = require_initiative(session, team_id=actor.team_id, key=command.key)
        holders = repository.active_roles(session=session, initiative_id=initiative.id)
        _authorize(services, actor, holders)
        current = repository.active_assignment(session=session, initiative_id=initiative.id,
                                                   role=command.role.value)
        if current is None:
            raise Conflict(role_messages.already_vacant(role=command.role, key=initiative.key))
        repository.end_assignment(session=session, assignment=current, ended_by=actor.user_id, at=actor.now)
        cover.end_with_role(session, initiative, current, by=actor.user_id, at=actor.now, successor=None)
        holders.pop(command.role.value, None)
        append_event(session=session, team_id=actor.team_id, actor=actor.user_id, action="role.unassigned",
                     target=initiative.key, payload={"role": command.role.value, "previous": current.user_id},
                     at=actor.now)
        audit.bind(session=session, team_id=actor.team_id, rows=[current])
        _queue_notice(session, initiative, actor, key=f"role:{current.id}:ended", role=command.role, user_id=None,
                      previous=current.user_id, holders=holders)
        void_broken_stage_exit(session, services, initiative, cause=Cause.ROLE, by=actor.user_id, now=actor.now)
    services.notify_outbox()
    return role_messages.vacated(role=command.role, key=initiative.key, previous=current.user_id)


def _authorize(services: Services, actor: Actor, holders: dict[str, str]) -> None:
    if not permissions.may_manage_roles(actor.user_id, services.settings.steward_admins, holders):
        raise PermissionDenied(role_messages.only_managers(holders.get(Role.BUSINESS_OWNER)))


def _queue_notice(session, initiative: Initiative, actor: Actor, *, key: str, role: Role, user_id: str | None,
                  previous: str | None, holders: dict[str, str]) -> None:
    notice = role_messages.changed_notice(role=role, key=initiative.key, user_id=user_id, previous=previous,
                                          actor=actor.user_id, holders=holders)
    queue_message(session=session, team_id=actor.team_id, key=key, channel_id=initiative.channel_id, message=notice,
                  purpose="notice", initiative_id=initiative.id, at=actor.now)
