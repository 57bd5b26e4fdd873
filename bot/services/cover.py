"""Flows for cover: start one, end it early, end it by itself at its date (a sweep step), end it with the role.

While a cover runs, `storage.repository.active_roles` names the person covering as the role's holder,
so every prompt, reminder, page and permission check goes to them without knowing about covers.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.domain import cover as rules
from bot.domain import permissions
from bot.domain.commands import RoleCoverEnd, RoleCoverStart
from bot.domain.vocabulary import ROLE_ALIASES, Role
from bot.errors import Conflict, PermissionDenied
from bot.outbox import queue_message
from bot.services.context import Actor, Services
from bot.services.lookup import require_initiative
from bot.services.steps import StepResult, each_row
from messages import roles as role_messages
from storage import audit, covers, repository
from storage.audit import append_event
from storage.db import read_scope, session_scope
from storage.models import Initiative, RoleAssignment, RoleCover

STEWARD = "steward"


def alias_of(role: Role) -> str:
    return next((alias for alias, named in ROLE_ALIASES.items() if named is role), role.value)


def last_day(cover: RoleCover) -> str:
    return cover.until.strftime("%a %d %b %Y")


def start(services: Services, actor: Actor, command: RoleCoverStart):
    """Start a cover of a role's holder until a date."""
    role = command.role
    try:
        with session_scope(services.engine) as session:
            initiative = require_initiative(session, team_id=actor.team_id, key=command.key)
            holders = repository.assigned_roles(session=session, initiative_id=initiative.id)
            holder, owner = holders.get(role.value), holders.get(Role.BUSINESS_OWNER.value)
            running = covers.active(session=session, initiative_id=initiative.id, role=role.value)
            facts = rules.StartFacts(
                actor=actor.user_id, is_admin=permissions.is_admin(actor.user_id, services.settings.steward_admins),
                role=role, holder=holder, owner=owner, cover=command.user_id, until=command.until,
                today=rules.local_today(actor.now, initiative.timezone),
                running=running.cover_id if running else None)
            refusal = rules.check_start(facts)
            if refusal is rules.CoverRefusal.NOT_ALLOWED:
                raise PermissionDenied(role_messages.cover_not_allowed(role=role, key=initiative.key, holder=holder,
                                                                       owner=owner))
            if refusal is not None:
                raise Conflict(role_messages.cover_refused(
                    refusal.value, role=role, key=initiative.key, alias=alias_of(role), holder=holder,
                    running=facts.running, until=command.until, max_days=rules.MAX_COVER_DAYS))
            cover = covers.add(session=session, cover=RoleCover(
                team_id=actor.team_id, initiative_id=initiative.id, role=role.value, holder_id=holder,
                cover_id=command.user_id, reason=command.reason, until=command.until, starts_at=actor.now,
                ends_at=rules.ends_at(command.until, initiative.timezone), created_by=actor.user_id))
            append_event(session=session, team_id=actor.team_id, actor=actor.user_id, action="role.cover_started",
                         target=initiative.key,
                         payload={"role": role.value, "holder": holder, "cover": command.user_id,
                                  "until": command.until.isoformat(), "reason": command.reason}, at=actor.now)
            audit.bind(session=session, team_id=actor.team_id, rows=[cover])
            queue_message(session=session, team_id=actor.team_id, key=f"cover:{cover.id}:started",
                          channel_id=initiative.channel_id, purpose="notice", initiative_id=initiative.id,
                          at=actor.now, message=role_messages.cover_started_notice(
                              role=role, key=initiative.key, holder=holder, cover=cover.cover_id,
                              last_day=last_day(cover), reason=cover.reason, actor=actor.user_id))
    except repository.Duplicate:
        raise Conflict(role_messages.changed_meanwhile()) from None
    services.notify_outbox()
    return role_messages.cover_started(role=role, key=initiative.key, holder=holder, cover=command.user_id,
                                       last_day=last_day(cover))


def end(services: Services, actor: Actor, command: RoleCoverEnd):
    """End a running cover before its date (the holder, the business owner, an admin, or the person covering)."""
    role = command.role
    with session_scope(services.engine) as session:
        initiative = require_initiative(session, team_id=actor.team_id, key=command.key)
        holders = repository.assigned_roles(session=session, initiative_id=initiative.id)
        holder, owner = holders.get(role.value), holders.get(Role.BUSINESS_OWNER.value)
        running = covers.active(session=session, initiative_id=initiative.id, role=role.value)
        is_admin = permissions.is_admin(actor.user_id, services.settings.steward_admins)
        if not (rules.may_arrange(actor.user_id, holder=holder, owner=owner, is_admin=is_admin)
                or (running is not None and running.cover_id == actor.user_id)):
            raise PermissionDenied(role_messages.cover_not_allowed(role=role, key=initiative.key, holder=holder,
                                                                   owner=owner))
        if running is None or not _end(session, initiative, running, by=actor.user_id, at=actor.now,
                                       reason="ended"):
            raise Conflict(role_messages.cover_refused("not-covered", role=role, key=initiative.key,
                                                       alias=alias_of(role)))
    services.notify_outbox()
    return role_messages.cover_ended(role=role, key=initiative.key, holder=running.holder_id, cover=running.cover_id)


def end_with_role(session: Session, initiative: Initiative, assignment: RoleAssignment, *, by: str, at: datetime,
                  successor: str | None) -> None:
    """The covered holder no longer holds the role (reassigned or unassigned): their cover ends with it."""
    running = covers.active(session=session, initiative_id=initiative.id, role=assignment.role)
    if running is not None and running.holder_id == assignment.user_id:
        _end(session, initiative, running, by=by, at=at, reason="reassigned", successor=successor)


def expire_due(services: Services, *, now: datetime) -> StepResult:
    """The sweep's step: end every cover whose last day is over, with a notice in the channel (once)."""
    with read_scope(services.engine) as session:
        due = [(cover.id, cover.role, cover.initiative_id) for cover in covers.due(session=session, now=now)]

    def work(row: tuple[int, str, int]) -> bool:
        with session_scope(services.engine) as session:
            cover = session.get(RoleCover, row[0])
            initiative = repository.initiative_by_id(session=session, initiative_id=cover.initiative_id)
            return cover.ended_at is None and _end(session, initiative, cover, by=STEWARD, at=now, reason="expired")

    result = each_row(StepResult("covers"), due, lambda row: f"cover {row[0]} ({row[1]}, initiative {row[2]})",
                      work)
    if result.done:
        services.notify_outbox()
    return result


def _end(session: Session, initiative: Initiative, cover: RoleCover, *, by: str, at: datetime, reason: str,
         successor: str | None = None) -> bool:
    if not covers.end(session=session, cover=cover, by=by, at=at, reason=reason):
        return False
    role = Role(cover.role)
    append_event(session=session, team_id=cover.team_id, actor=by, action="role.cover_ended", target=initiative.key,
                 payload={"role": cover.role, "holder": cover.holder_id, "cover": cover.cover_id, "reason": reason,
                          "until": cover.until.isoformat()}, at=at)
    audit.bind(session=session, team_id=cover.team_id, rows=[cover])
    queue_message(session=session, team_id=cover.team_id, key=f"cover:{cover.id}:ended",
                  channel_id=initiative.channel_id, purpose="notice", initiative_id=initiative.id, at=at,
                  message=role_messages.cover_ended_notice(role=role, key=initiative.key, holder=cover.holder_id,
                                                           cover=cover.cover_id, last_day=last_day(cover),
                                                           actor=by, reason=reason, successor=successor))
    return True


def covering(session: Session, *, initiative_id: int) -> dict[str, str]:
    """role -> the person covering it now, for messages that name a holder as "covered by …"."""
    return {role: cover.cover_id for role, cover in covers.active_for(session=session, initiative_id=initiative_id)
            .items()}


def counts_as(session: Session, *, initiative_id: int, user_id: str) -> frozenset[str]:
    """Whom `user_id` counts as on an initiative now, for separation of duties: themselves and whom they cover."""
    running = covers.active_for(session=session, initiative_id=initiative_id).values()
    return rules.counts_as(user_id, [c.holder_id for c in running if c.cover_id == user_id])


def arrange(services: Services, actor: Actor, command: RoleCoverStart | RoleCoverEnd):
    """`role cover`: start a cover, or end the running one."""
    if isinstance(command, RoleCoverEnd):
        return end(services, actor, command)
    return start(services, actor, command)


def home_blocks(session: Session, *, team_id: str, user_id: str) -> list[dict]:
    """The Home tab's covers: those the person holds and those they have given, running now."""
    running = covers.running_for_person(session=session, team_id=team_id, user_id=user_id)
    if not running:
        return []
    keys = {i.id: i.key for i in repository.initiatives_of(session=session, team_id=team_id,
                                                            ids=sorted({c.initiative_id for c in running}))}
    return role_messages.home_covers(running, user_id=user_id, keys=keys)
