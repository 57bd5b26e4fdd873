"""Flows for incidents: declare, escalate (by time or by hand), acknowledge, resolve; one thread each."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlmodel import Session

from bot import metrics
from bot.domain import permissions
from bot.domain.commands import MAX_RESOLUTION, IncidentAck, IncidentDeclare, IncidentResolve
from bot.domain.escalation import (
    STATUS_UPDATE_MINUTES,
    IncidentEvent,
    IncidentKind,
    IncidentState,
    IncidentStatus,
    InvalidTransition,
    Level,
    PageFallback,
    PageLevel,
    RequestStatusUpdate,
    Severity,
    fallback_targets,
    is_raise,
    levels_for,
    matrix_from_data,
    matrix_to_data,
    median,
    next_action_at,
    plan,
    replan_from,
    transition,
    with_parallel_operation,
)
from bot.domain.paging import IncidentSeverityChange
from bot.domain.vocabulary import Role
from bot.errors import Conflict, NotFound, PermissionDenied, RefusedAttempt
from bot.outbox import queue_message
from bot.services import pages, paging_targets
from bot.services.context import Actor, Services
from bot.services.lookup import require_initiative
from bot.services.steps import StepResult, each_row
from messages import incidents as incident_messages
from messages import pages as page_messages
from messages.render import Message
from storage import audit, counters, incidents, repository, timeline
from storage.audit import append_event
from storage.db import read_scope, session_scope
from storage.models import Incident, Initiative

POSTMORTEM_SEVERITIES = (Severity.SEV1, Severity.SEV2)


def root_key(incident: Incident) -> str:
    return f"incident:{incident.id}:root"


def ladder(incident: Incident) -> tuple[Level, ...]:
    return matrix_from_data(json.loads(incident.levels))


def state_of(incident: Incident, services: Services | None = None) -> IncidentState:
    repeat = services.escalation.repeat_for(Severity(incident.severity)) if services else None  # C: repeats
    return IncidentState(severity=Severity(incident.severity), status=incident.status,
                         declared_at=incident.declared_at, levels=ladder(incident),
                         level_reached=incident.level_reached, acknowledged_at=incident.acknowledged_at,
                         status_requests=incident.status_requests,
                         last_update_at=incident.last_update_at,  # D: thread replies are status updates
                         ladder_from=incident.ladder_from, exhausted_at=incident.exhausted_at,
                         repeat_minutes=repeat, repeats=incident.repeats)


def declare(services: Services, actor: Actor, command: IncidentDeclare) -> Message:
    """Open an incident: root message in the initiative's channel, level 1 paged in its thread at once."""
    with session_scope(services.engine) as session:
        initiative = require_initiative(session, team_id=actor.team_id, key=command.key)
        incident = open_incident(session, services, initiative, severity=command.severity, kind=command.kind,
                                 title=command.title, declared_by=actor.user_id, now=actor.now)
        reply = incident_messages.declared_reply(incident, key=initiative.key, first_level=ladder(incident)[0].roles)
    services.notify_outbox()
    return reply


def open_incident(session: Session, services: Services, initiative: Initiative, *, severity: Severity,
                  kind: IncidentKind, title: str, declared_by: str, now: datetime, kpi: str | None = None,
                  monitor_links: str | None = None) -> Incident:
    """Write the incident with its frozen ladder, its root message and level 1's page (caller's transaction)."""
    levels = with_parallel_operation(levels_for(services.escalation.matrix_for(initiative.key), severity, kind),
                                     initiative.stage)
    incident = incidents.add(session=session, incident=Incident(
        team_id=initiative.team_id, initiative_id=initiative.id, severity=severity.value, kind=kind.value,
        title=title, declared_by=declared_by, declared_at=now, channel_id=initiative.channel_id,
        levels=json.dumps(matrix_to_data(levels)), kpi=kpi, monitor_links=monitor_links,
        number=counters.next_number(session=session, team_id=initiative.team_id, name="incident")))
    append_event(session=session, team_id=initiative.team_id, actor=declared_by, action="incident.declared",
                 target=initiative.key,
                 payload={"incident": f"INC{incident.number}", "severity": incident.severity, "kind": incident.kind,
                          "title": incident.title, "kpi": kpi, "matrix": json.loads(incident.levels)}, at=now)
    roles = repository.active_roles(session=session, initiative_id=initiative.id)
    outcome = plan(state_of(incident, services), roles, now)
    incident.level_reached, incident.status_requests = outcome.level_reached, outcome.status_requests
    incident.exhausted_at, incident.repeats = outcome.exhausted_at, outcome.repeats
    incident.next_escalation_at = outcome.next_at
    session.add(incident)
    session.flush()
    # The root goes first: every page is a reply in its thread.
    queue_message(session=session, team_id=initiative.team_id, key=root_key(incident), channel_id=incident.channel_id,
                  message=_root(incident, initiative), purpose="incident.root", initiative_id=initiative.id,
                  subject_id=incident.id, at=now)
    timeline.record(session=session, incident=incident, kind=timeline.DECLARED, actor=declared_by, at=now,
                    text=title, detail={"severity": severity.value, "kind": kind.value},
                    dedup=f"declared:{incident.id}")
    paging_targets.queue(session, services, incident, initiative, paging_targets.TRIGGER, now, by=declared_by)  # D
    _carry_out(session, services, incident, initiative, outcome.effects, now, by_hand=None)
    return incident


def note_in_thread(session: Session, incident: Incident, initiative: Initiative, name: str, message: Message,
                   now: datetime) -> None:
    """Queue a reply in the incident's thread (a KPI back within threshold, for instance), once per name."""
    queue_message(session=session, team_id=incident.team_id, key=f"incident:{incident.id}:{name}",
                  channel_id=incident.channel_id, message=message, purpose=f"incident.{name}",
                  thread_key=root_key(incident), initiative_id=initiative.id, subject_id=incident.id, at=now)


def escalate_due(services: Services, *, now: datetime) -> StepResult:
    """Carry out every escalation step due at `now`, each incident on its own; `done` counts incidents moved."""
    with read_scope(services.engine) as session:
        due = [(incident.id, incident.number) for incident in incidents.due(session=session, now=now)]
    return each_row(StepResult("escalations"), due, lambda row: f"incident {row[0]} (INC{row[1]})",
                    lambda row: _escalate_one(services, row[0], now))


def _escalate_one(services: Services, incident_id: int, now: datetime) -> bool:
    with session_scope(services.engine) as session:
        incident = incidents.get(session=session, incident_id=incident_id)
        if incident.next_escalation_at is None or incident.next_escalation_at > now:
            return False  # another sweep or a click got here first
        initiative = repository.initiative_by_id(session=session, initiative_id=incident.initiative_id)
        return _advance(session, services, incident, initiative, now, force_next=False, by_hand=None)


def _advance(session: Session, services: Services, incident: Incident, initiative: Initiative, now: datetime, *,
             force_next: bool, by_hand: str | None) -> bool:
    roles = repository.active_roles(session=session, initiative_id=initiative.id)
    outcome = plan(state_of(incident, services), roles, now, force_next=force_next)
    if not incidents.fenced_update(session=session, incident=incident, level_reached=outcome.level_reached,
                                   status_requests=outcome.status_requests, next_escalation_at=outcome.next_at,
                                   exhausted_at=outcome.exhausted_at, repeats=outcome.repeats):
        return False
    _carry_out(session, services, incident, initiative, outcome.effects, now, by_hand=by_hand)
    if any(isinstance(effect, PageLevel) for effect in outcome.effects):
        _queue_root_update(session, incident, initiative, now)
    return bool(outcome.effects)


def _carry_out(session: Session, services: Services, incident: Incident, initiative: Initiative, effects,
               now: datetime, *, by_hand: str | None) -> None:
    levels = ladder(incident)
    for effect in effects:
        if isinstance(effect, PageLevel):
            # The thread names roles; who holds them is looked up when the page is sent (bot.services.pages).
            named = PageLevel(effect.level, tuple((role, page_messages.holder(role)) for role, _ in effect.holders),
                              effect.vacant, effect.early)
            message = incident_messages.page(incident, named, has_next=effect.level.number < len(levels),
                                             by_hand=by_hand)
            key = f"incident:{incident.id}:level:{effect.level.number}{pages.generation(incident)}"
            queue_message(session=session, team_id=incident.team_id, key=key, channel_id=incident.channel_id,
                          message=message, purpose="incident.page", thread_key=root_key(incident),
                          initiative_id=initiative.id, subject_id=incident.id, at=now)
            pages.queue_level(session, incident, initiative, effect, key, now)
            paging_targets.queue(session, services, incident, initiative, paging_targets.TRIGGER, now,
                                 level=effect.level.number)  # D: PagerDuty may take over from a level
            append_event(session=session, team_id=incident.team_id, actor=by_hand or "steward",
                         action="incident.escalated", target=initiative.key,
                         payload={"incident": f"INC{incident.number}", "level": effect.level.number,
                                  "paged": [user for _, user in effect.holders],
                                  "vacant": [role.value for role in effect.vacant], "early": effect.early},
                         at=now)
        elif isinstance(effect, PageFallback):
            pages.queue_fallback(session, services, incident, initiative, effect, now)
            append_event(session=session, team_id=incident.team_id, actor="steward", action="incident.fallback_paged",
                         target=initiative.key,
                         payload={"incident": f"INC{incident.number}", "repeat": effect.number,
                                  "level": effect.repeat_level.number if effect.repeat_level else None}, at=now)
        elif isinstance(effect, RequestStatusUpdate):
            message = incident_messages.status_update_requested(incident, since_ack=now - incident.acknowledged_at)
            queue_message(session=session, team_id=incident.team_id,
                          # D: a status update in the thread starts the count again; its moment keeps keys apart.
                          key=f"incident:{incident.id}:status:{effect.number}"
                              + (f"@{incident.last_update_at.isoformat()}" if incident.last_update_at else ""),
                          channel_id=incident.channel_id,
                          message=message, purpose="incident.status_request", thread_key=root_key(incident),
                          initiative_id=initiative.id, subject_id=incident.id, at=now)


def _root(incident: Incident, initiative: Initiative) -> Message:
    return incident_messages.root(incident, initiative, level_count=len(ladder(incident)))


def _queue_root_update(session: Session, incident: Incident, initiative: Initiative, now: datetime) -> None:
    queue_message(session=session, team_id=incident.team_id, key=f"{root_key(incident)}:v{incident.version}",
                  channel_id=incident.channel_id, message=_root(incident, initiative), purpose="incident.root_update",
                  method="chat.update", target_key=root_key(incident), initiative_id=initiative.id,
                  subject_id=incident.id, at=now)


def _load(session: Session, actor: Actor, number: int) -> tuple[Incident, Initiative, dict[str, str]]:
    incident = incidents.by_number(session=session, team_id=actor.team_id, number=number)
    if incident is None:
        raise NotFound(incident_messages.no_such_incident(number))
    initiative = repository.initiative_by_id(session=session, initiative_id=incident.initiative_id)
    roles = repository.active_roles(session=session, initiative_id=initiative.id)
    return incident, initiative, roles


def _require_role(actor: Actor, incident: Incident, initiative: Initiative, roles: dict[str, str],
                  verb: str, services: Services | None = None, action: str | None = None) -> list[Role]:
    """Return the roles the person holds on the initiative; refuse (and leave a trace) when none.

    Whoever the fallback pages (the configured people, else the admins) may act on the incident too: a
    page they cannot acknowledge would leave nobody able to stop it.
    """
    held = permissions.roles_held(actor.user_id, roles)
    if not held and services is not None:
        _channels, people = fallback_targets(services.escalation.fallback, services.settings.steward_admins)
        if actor.user_id in people or actor.user_id in services.settings.steward_admins:
            return held
    if not held:
        raise PermissionDenied(
            incident_messages.only_role_holders(key=initiative.key, verb=verb, number=incident.number),
            attempt=RefusedAttempt(f"incident.{action or verb}_refused", initiative.key,
                                   {"incident": f"INC{incident.number}"}))
    return held


@contextmanager
def _changing(services: Services, actor: Actor, number: int, event: IncidentEvent,
              verb: str) -> Iterator[tuple[Session, Incident, Initiative, dict[str, str], list[Role], IncidentStatus]]:
    """Authorize a person for an incident, then yield it with its next status in a transaction."""
    with session_scope(services.engine) as session:
        incident, initiative, roles = _load(session, actor, number)
        held = _require_role(actor, incident, initiative, roles, verb, services)
        try:
            status = transition(incident.status, event)
        except InvalidTransition:
            raise Conflict(incident_messages.already_done(incident, timezone=initiative.timezone)) from None
        yield session, incident, initiative, roles, held, status


def acknowledge(services: Services, actor: Actor, command: IncidentAck) -> Message:
    """Stop the climb: the incident is someone's now."""
    with _changing(services, actor, command.number, IncidentEvent.ACKNOWLEDGE, "acknowledge") as (
            session, incident, initiative, _roles, held, status):
        acknowledged = IncidentState(severity=Severity(incident.severity), status=status,
                                     declared_at=incident.declared_at, levels=ladder(incident),
                                     level_reached=incident.level_reached, acknowledged_at=actor.now)
        if not incidents.fenced_update(session=session, incident=incident, status=status,
                                       acknowledged_by=actor.user_id, acknowledged_at=actor.now, status_requests=0,
                                       next_escalation_at=next_action_at(acknowledged, incident.level_reached, 0)):
            raise Conflict(incident_messages.changed_meanwhile(incident.number))
        waited = actor.now - incident.declared_at
        note_in_thread(session, incident, initiative, "ack",
                       incident_messages.acknowledged_note(incident, by=actor.user_id, waited=waited), actor.now)
        _queue_root_update(session, incident, initiative, actor.now)
        pages.queue_direct_updates(session, incident, actor.now)
        timeline.record(session=session, incident=incident, kind=timeline.ACKNOWLEDGED, actor=actor.user_id,
                        at=actor.now, dedup=f"ack:{incident.id}",
                        detail={"level_reached": incident.level_reached, "waited_seconds": int(waited.total_seconds())})
        paging_targets.queue(session, services, incident, initiative, paging_targets.ACKNOWLEDGE, actor.now,
                             by=actor.user_id)  # D: PagerDuty, webhooks
        append_event(session=session, team_id=actor.team_id, actor=actor.user_id, action="incident.acknowledged",
                     target=initiative.key, payload={"incident": f"INC{incident.number}",
                                                     "roles": [r.value for r in held],
                                                     "level_reached": incident.level_reached}, at=actor.now)
        reply = incident_messages.acknowledged_reply(incident, waited=waited)
    metrics.observe_acknowledged(incident.severity, waited.total_seconds())
    services.notify_outbox()
    return reply


def log_postmortem_if_due(session: Session, incident: Incident, initiative: Initiative, *, resolution: str, by: str,
                          now: datetime) -> bool:
    """A resolved sev1/sev2 logs a deviation on the initiative's record, whoever resolved it: True when it did."""
    if Severity(incident.severity) not in POSTMORTEM_SEVERITIES:
        return False
    incidents.add_deviation(session=session, team_id=incident.team_id, initiative_id=initiative.id,
                            text=incident_messages.postmortem_deviation(incident, resolution=resolution),
                            by=by, at=now, incident_id=incident.id)
    return True


def resolve(services: Services, actor: Actor, command: IncidentResolve) -> Message:
    """Close the incident with its resolution; a sev1/sev2 logs a deviation and asks for a postmortem."""
    with _changing(services, actor, command.number, IncidentEvent.RESOLVE, "resolve") as (
            session, incident, initiative, roles, held, status):
        if not incidents.fenced_update(session=session, incident=incident, status=status, resolved_by=actor.user_id,
                                       resolved_at=actor.now, resolution=command.resolution, next_escalation_at=None):
            session.refresh(incident)  # what the winner wrote
            if incident.status is IncidentStatus.RESOLVED:  # the loser of a simultaneous resolve: who, and when
                raise Conflict(incident_messages.already_done(incident, timezone=initiative.timezone))
            raise Conflict(incident_messages.changed_meanwhile(incident.number))
        took = actor.now - incident.declared_at
        postmortem = log_postmortem_if_due(session, incident, initiative, resolution=command.resolution,
                                           by=actor.user_id, now=actor.now)
        note = incident_messages.resolved_note(incident, key=initiative.key, by=actor.user_id, took=took,
                                               resolution=command.resolution, postmortem=postmortem,
                                               owner=roles.get(Role.BUSINESS_OWNER))
        note_in_thread(session, incident, initiative, "resolved", note, actor.now)
        _queue_root_update(session, incident, initiative, actor.now)
        pages.queue_direct_updates(session, incident, actor.now)
        timeline.record(session=session, incident=incident, kind=timeline.RESOLVED, actor=actor.user_id,
                        at=actor.now, text=command.resolution, dedup=f"resolved:{incident.id}")
        paging_targets.queue(session, services, incident, initiative, paging_targets.RESOLVE, actor.now,
                             by=actor.user_id)  # D: PagerDuty, webhooks
        append_event(session=session, team_id=actor.team_id, actor=actor.user_id, action="incident.resolved",
                     target=initiative.key, payload={"incident": f"INC{incident.number}",
                                                     "roles": [r.value for r in held],
                                                     "resolution": command.resolution,
                                                     "postmortem_requested": postmortem}, at=actor.now)
        audit.bind(session=session, team_id=actor.team_id, rows=[incident])
        reply = incident_messages.resolved_reply(incident, took=took)
    metrics.observe_resolved(incident.severity, took.total_seconds())
    services.notify_outbox()
    return reply


def resolve_form(services: Services, actor: Actor, number: int) -> dict:
    """The modal asking for a resolution; the person's channel rides along for the reply."""
    with read_scope(services.engine) as session:
        incident = incidents.by_number(session=session, team_id=actor.team_id, number=number)
        if incident is None:
            raise NotFound(incident_messages.gone(number))
        return incident_messages.resolve_form(incident, channel_id=actor.channel_id, max_length=MAX_RESOLUTION)


def escalate_now(services: Services, actor: Actor, number: int, seen_level: int) -> Message:
    """Page the next level at once; a click made on a stale message (an older level) does nothing."""
    with session_scope(services.engine) as session:
        incident, initiative, roles = _load(session, actor, number)
        _require_role(actor, incident, initiative, roles, "escalate", services)
        if incident.status is not IncidentStatus.OPEN:
            raise Conflict(incident_messages.escalation_stopped(number, incident.status))
        if incident.level_reached != seen_level or seen_level >= len(ladder(incident)):
            raise Conflict(incident_messages.already_at_level(number, incident.level_reached))
        if not _advance(session, services, incident, initiative, actor.now, force_next=True, by_hand=actor.user_id):
            raise Conflict(incident_messages.escalation_raced(number))
        reached = incident.level_reached
    services.notify_outbox()
    return incident_messages.escalated_reply(number, level=reached)


def page_still_wanted(session: Session, row) -> bool:
    """Outbox check: an acknowledgement or resolution cancels pages already queued."""
    incident = incidents.get(session=session, incident_id=row.subject_id)
    return incident is not None and incident.status is IncidentStatus.OPEN


def status_request_still_wanted(session: Session, row) -> bool:
    incident = incidents.get(session=session, incident_id=row.subject_id)
    return incident is not None and incident.status is IncidentStatus.ACKNOWLEDGED


def root_update_still_wanted(session: Session, row) -> bool:
    """Only the newest picture of the incident is worth sending; older queued updates are dropped."""
    incident = incidents.get(session=session, incident_id=row.subject_id)
    return incident is not None and row.key.endswith(f":v{incident.version}")


def record_root_posted(session: Session, row, ts: str, now: datetime) -> None:
    incidents.record_root_ts(session=session, incident_id=row.subject_id, ts=ts)


def summary_lines(session: Session, initiative: Initiative) -> list[str]:
    """Incident numbers a business owner asks for: counts and median times to acknowledge and resolve."""
    rows = incidents.for_initiative(session=session, initiative_id=initiative.id)
    if not rows:
        return []
    return incident_messages.summary_lines(
        declared=len(rows), unresolved=[i for i in rows if i.status is not IncidentStatus.RESOLVED],
        median_to_ack=median([i.acknowledged_at - i.declared_at for i in rows if i.acknowledged_at]),
        median_to_resolve=median([i.resolved_at - i.declared_at for i in rows if i.resolved_at]))


def change_severity(services: Services, actor: Actor, command: IncidentSeverityChange) -> Message:
    """Re-plan the ladder from now with the new severity's matrix, frozen again; raising pages the next level at
    once, lowering pages no one. Says so in the thread and on the root."""
    with session_scope(services.engine) as session:
        incident, initiative, roles = _load(session, actor, command.number)
        held = _require_role(actor, incident, initiative, roles, "change the severity of", services,
                             action="severity")
        old, new = Severity(incident.severity), command.severity
        if incident.status is IncidentStatus.RESOLVED:
            raise Conflict(page_messages.resolved_cannot_change(incident.number))
        if old is new:
            raise Conflict(page_messages.same_severity(incident.number, new.value))
        levels = with_parallel_operation(
            levels_for(services.escalation.matrix_for(initiative.key), new, IncidentKind(incident.kind)),
            initiative.stage)
        raising = is_raise(old, new)
        ladder_from, reached = replan_from(levels, incident.level_reached, actor.now, raising=raising)
        requests = incident.status_requests
        if incident.status is IncidentStatus.ACKNOWLEDGED and new in STATUS_UPDATE_MINUTES:
            # The next status request comes a full new interval after the last one owed, not at once.
            since = max(filter(None, (incident.acknowledged_at, incident.last_update_at)))
            requests = int((actor.now - since) / timedelta(minutes=STATUS_UPDATE_MINUTES[new]))
        state = IncidentState(severity=new, status=incident.status, declared_at=incident.declared_at, levels=levels,
                              level_reached=reached, acknowledged_at=incident.acknowledged_at,
                              status_requests=requests, last_update_at=incident.last_update_at,
                              ladder_from=ladder_from, repeat_minutes=services.escalation.repeat_for(new))
        outcome = plan(state, roles, actor.now)
        if not incidents.fenced_update(session=session, incident=incident, severity=new.value,
                                       levels=json.dumps(matrix_to_data(levels)), ladder_from=ladder_from,
                                       level_reached=outcome.level_reached, status_requests=outcome.status_requests,
                                       exhausted_at=outcome.exhausted_at, repeats=outcome.repeats,
                                       next_escalation_at=outcome.next_at):
            raise Conflict(incident_messages.changed_meanwhile(incident.number))
        upcoming = [lv for lv in levels if lv.number > outcome.level_reached]
        next_in = (ladder_from + timedelta(minutes=upcoming[0].after_minutes) - actor.now) if upcoming else None
        paged_now = [e.level.number for e in outcome.effects if isinstance(e, PageLevel)]
        note = page_messages.severity_note(incident, old=old.value, new=new.value, by=actor.user_id,
                                           reason=command.reason, paged_now=paged_now,
                                           next_level=upcoming[0].number if upcoming else None, next_in=next_in)
        note_in_thread(session, incident, initiative, f"severity:{incident.version}", note, actor.now)
        _carry_out(session, services, incident, initiative, outcome.effects, actor.now, by_hand=None)
        _queue_root_update(session, incident, initiative, actor.now)
        timeline.record(session=session, incident=incident, kind=timeline.SEVERITY, actor=actor.user_id,
                        at=actor.now,
                        text=command.reason,
                        detail={"from": old.value, "to": new.value, "reason": command.reason},
                        dedup=f"severity:{incident.id}:{incident.version}")
        append_event(session=session, team_id=actor.team_id, actor=actor.user_id, action="incident.severity_changed",
                     target=initiative.key,
                     payload={"incident": f"INC{incident.number}", "from": old.value, "to": new.value,
                              "reason": command.reason, "roles": [r.value for r in held],
                              "matrix": json.loads(incident.levels), "level_reached": incident.level_reached},
                     at=actor.now)
        reply = page_messages.severity_reply(incident.number, old=old.value, new=new.value)
    services.notify_outbox()
    return reply
