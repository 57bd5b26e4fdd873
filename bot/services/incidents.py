"""Flows for incidents: declare, escalate (by time or by hand), acknowledge, resolve; one thread each."""

from __future__ import annotations

import json
import logging
from contextlib import contextmanager
from datetime import datetime

from sqlmodel import Session

from bot.domain import permissions
from bot.domain.commands import IncidentAck, IncidentDeclare, IncidentResolve
from bot.domain.escalation import (
    IncidentEvent,
    IncidentKind,
    IncidentState,
    IncidentStatus,
    InvalidTransition,
    Level,
    PageLevel,
    RequestStatusUpdate,
    Severity,
    levels_for,
    matrix_from_data,
    matrix_to_data,
    median,
    next_action_at,
    plan,
    transition,
)
from bot.domain.vocabulary import Role
from bot.errors import Conflict, NotFound, PermissionDenied
from bot.outbox import queue_message
from bot.services.context import Actor, Services
from bot.services.lookup import require_initiative
from messages.render import Message, duration, local_time, mrkdwn_escape, render, render_view
from storage import counters, incidents, repository
from storage.audit import append_event
from storage.db import read_scope, session_scope
from storage.models import Incident, Initiative

log = logging.getLogger(__name__)
POSTMORTEM_SEVERITIES = (Severity.SEV1, Severity.SEV2)


def root_key(incident: Incident) -> str:
    return f"incident:{incident.id}:root"


def ladder(incident: Incident) -> tuple[Level, ...]:
    return matrix_from_data(json.loads(incident.levels))


def state_of(incident: Incident) -> IncidentState:
    return IncidentState(severity=Severity(incident.severity), status=IncidentStatus(incident.status),
                         declared_at=incident.declared_at, levels=ladder(incident),
                         level_reached=incident.level_reached, acknowledged_at=incident.acknowledged_at,
                         status_requests=incident.status_requests)


def declare(services: Services, actor: Actor, command: IncidentDeclare) -> Message:
    """Open an incident: root message in the initiative's channel, level 1 paged in its thread at once."""
    with session_scope(services.engine) as session:
        initiative = require_initiative(session, team_id=actor.team_id, key=command.key)
        incident = open_incident(session, services, initiative, severity=command.severity, kind=command.kind,
                                 title=command.title, declared_by=actor.user_id, now=actor.now)
        who = ", ".join(f"the {role.label}" for role in ladder(incident)[0].roles)
    services.notify_outbox()
    return render("incident_declared_reply", incident=incident, key=initiative.key, first_level=who)


def open_incident(session: Session, services: Services, initiative: Initiative, *, severity: Severity,
                  kind: IncidentKind, title: str, declared_by: str, now: datetime, kpi: str | None = None) -> Incident:
    """Write the incident with its frozen ladder, its root message and level 1's page (caller's transaction)."""
    levels = levels_for(services.escalation.matrix_for(initiative.key), severity, kind)
    incident = Incident(team_id=initiative.team_id, initiative_id=initiative.id, severity=severity.value,
                        kind=kind.value, title=title, declared_by=declared_by, declared_at=now,
                        channel_id=initiative.channel_id, levels=json.dumps(matrix_to_data(levels)), kpi=kpi,
                        number=counters.next_number(session=session, team_id=initiative.team_id, name="incident"))
    session.add(incident)
    session.flush()
    append_event(session, team_id=initiative.team_id, actor=declared_by, action="incident.declared",
                 target=initiative.key,
                 payload={"incident": f"INC{incident.number}", "severity": incident.severity, "kind": incident.kind,
                          "title": incident.title, "kpi": kpi, "matrix": json.loads(incident.levels)}, at=now)
    roles = repository.active_roles(session=session, initiative_id=initiative.id)
    outcome = plan(state_of(incident), roles, now)
    incident.level_reached, incident.status_requests = outcome.level_reached, outcome.status_requests
    incident.next_escalation_at = outcome.next_at
    session.add(incident)
    session.flush()
    # The root goes first: every page is a reply in its thread.
    queue_message(session, team_id=initiative.team_id, key=root_key(incident), channel_id=incident.channel_id,
                  message=_root(incident, initiative), purpose="incident.root", initiative_id=initiative.id,
                  subject_id=incident.id, at=now)
    _carry_out(session, incident, initiative, outcome.effects, now, by_hand=None)
    return incident


def note_in_thread(session: Session, incident: Incident, initiative: Initiative, name: str, line: str,
                   now: datetime) -> None:
    """A reply in the incident's thread (a KPI back within threshold, for instance)."""
    _note(session, incident, initiative, name, line, now)


def escalate_due(engine, *, now: datetime) -> int:
    """Carry out every escalation step due at `now`; returns how many incidents moved."""
    moved = 0
    with read_scope(engine) as session:
        due_ids = [incident.id for incident in incidents.due(session, now=now)]
    for incident_id in due_ids:
        try:
            with session_scope(engine) as session:
                incident = session.get(Incident, incident_id)
                if incident.next_escalation_at is None or incident.next_escalation_at > now:
                    continue  # another sweep or a click got here first
                initiative = session.get(Initiative, incident.initiative_id)
                if _advance(session, incident, initiative, now, force_next=False, by_hand=None):
                    moved += 1
        except Exception:
            log.exception("escalating incident %s failed; it stays due", incident_id)
    return moved


def _advance(session: Session, incident: Incident, initiative: Initiative, now: datetime, *, force_next: bool,
             by_hand: str | None) -> bool:
    roles = repository.active_roles(session=session, initiative_id=initiative.id)
    outcome = plan(state_of(incident), roles, now, force_next=force_next)
    if not incidents.fenced_update(session, incident=incident, level_reached=outcome.level_reached,
                                   status_requests=outcome.status_requests, next_escalation_at=outcome.next_at):
        return False
    _carry_out(session, incident, initiative, outcome.effects, now, by_hand=by_hand)
    if any(isinstance(effect, PageLevel) for effect in outcome.effects):
        _queue_root_update(session, incident, initiative, now)
    return bool(outcome.effects)


def _carry_out(session: Session, incident: Incident, initiative: Initiative, effects, now: datetime, *,
               by_hand: str | None) -> None:
    levels = ladder(incident)
    for effect in effects:
        if isinstance(effect, PageLevel):
            has_next = effect.level.number < len(levels)
            message = render("incident_page", incident=incident, page=effect, has_next=has_next, by_hand=by_hand)
            queue_message(session, team_id=incident.team_id, key=f"incident:{incident.id}:level:{effect.level.number}",
                          channel_id=incident.channel_id, message=message, purpose="incident.page",
                          thread_key=root_key(incident), initiative_id=initiative.id, subject_id=incident.id, at=now)
            append_event(session, team_id=incident.team_id, actor=by_hand or "steward", action="incident.escalated",
                         target=initiative.key,
                         payload={"incident": f"INC{incident.number}", "level": effect.level.number,
                                  "paged": [user for _, user in effect.holders],
                                  "vacant": [role.value for role in effect.vacant], "early": effect.early},
                         at=now)
        elif isinstance(effect, RequestStatusUpdate):
            minutes = int((now - incident.acknowledged_at).total_seconds() // 60)
            line = (f":hourglass_flowing_sand: INC{incident.number} has been acknowledged for {minutes} min and is "
                    f"not resolved. <@{incident.acknowledged_by}>, please post a status update in this thread.")
            message = render("incident_note", text=f"INC{incident.number}: status update requested", line=line,
                             context_line=None)
            queue_message(session, team_id=incident.team_id, key=f"incident:{incident.id}:status:{effect.number}",
                          channel_id=incident.channel_id, message=message, purpose="incident.status_request",
                          thread_key=root_key(incident), initiative_id=initiative.id, subject_id=incident.id, at=now)


def _root(incident: Incident, initiative: Initiative) -> Message:
    return render("incident_root", incident=incident, initiative=initiative, level_count=len(ladder(incident)))


def _queue_root_update(session: Session, incident: Incident, initiative: Initiative, now: datetime) -> None:
    queue_message(session, team_id=incident.team_id, key=f"{root_key(incident)}:v{incident.version}",
                  channel_id=incident.channel_id, message=_root(incident, initiative), purpose="incident.root_update",
                  method="chat.update", target_key=root_key(incident), initiative_id=initiative.id,
                  subject_id=incident.id, at=now)


def _load(session: Session, actor: Actor, number: int) -> tuple[Incident, Initiative, dict[str, str]]:
    incident = incidents.by_number(session, team_id=actor.team_id, number=number)
    if incident is None:
        raise NotFound(f"There is no incident INC{number} in this workspace.")
    initiative = session.get(Initiative, incident.initiative_id)
    roles = repository.active_roles(session=session, initiative_id=initiative.id)
    return incident, initiative, roles


def _require_role(services: Services, actor: Actor, incident: Incident, initiative: Initiative,
                  roles: dict[str, str], verb: str) -> list[Role]:
    held = permissions.roles_held(actor.user_id, roles)
    if not held:
        with session_scope(services.engine) as session:
            append_event(session, team_id=actor.team_id, actor=actor.user_id, action=f"incident.{verb}_refused",
                         target=initiative.key, payload={"incident": f"INC{incident.number}"}, at=actor.now)
        raise PermissionDenied(f"Only people holding a role on `{initiative.key}` can {verb} INC{incident.number}. "
                               f"`/steward initiative show {initiative.key}` lists them.")
    return held


@contextmanager
def _changing(services: Services, actor: Actor, number: int, event: IncidentEvent, verb: str):
    """Authorize a person for an incident, then yield it with its next status in a fresh transaction."""
    with session_scope(services.engine) as session:
        incident, initiative, roles = _load(session, actor, number)
    held = _require_role(services, actor, incident, initiative, roles, verb)
    with session_scope(services.engine) as session:
        incident = session.get(Incident, incident.id)
        try:
            status = transition(IncidentStatus(incident.status), event)
        except InvalidTransition:
            raise Conflict(_already(incident, initiative)) from None
        yield session, incident, initiative, roles, held, status


def acknowledge(services: Services, actor: Actor, command: IncidentAck) -> Message:
    """Stop the climb: the incident is someone's now."""
    with _changing(services, actor, command.number, IncidentEvent.ACKNOWLEDGE, "acknowledge") as (
            session, incident, initiative, _roles, held, status):
        acknowledged = IncidentState(severity=Severity(incident.severity), status=status,
                                     declared_at=incident.declared_at, levels=ladder(incident),
                                     level_reached=incident.level_reached, acknowledged_at=actor.now)
        if not incidents.fenced_update(session, incident=incident, status=status.value,
                                       acknowledged_by=actor.user_id, acknowledged_at=actor.now, status_requests=0,
                                       next_escalation_at=next_action_at(acknowledged, incident.level_reached, 0)):
            raise Conflict(f"INC{incident.number} changed a moment ago; look at its thread and try again.")
        waited = duration(actor.now - incident.declared_at)
        line = f":eyes: Acknowledged by <@{actor.user_id}> after {waited}. Escalation stopped."
        _note(session, incident, initiative, "ack", line, actor.now)
        _queue_root_update(session, incident, initiative, actor.now)
        append_event(session, team_id=actor.team_id, actor=actor.user_id, action="incident.acknowledged",
                     target=initiative.key, payload={"incident": f"INC{incident.number}",
                                                     "roles": [r.value for r in held],
                                                     "level_reached": incident.level_reached}, at=actor.now)
    services.notify_outbox()
    return render("incident_note", text=f"INC{incident.number} acknowledged",
                  line=f":eyes: You acknowledged INC{incident.number} after {waited}; escalation stopped.",
                  context_line=f"Resolve it with `/steward incident resolve INC{incident.number} ...` or the Resolve "
                               "button.")


def resolve(services: Services, actor: Actor, command: IncidentResolve) -> Message:
    """Close the incident with its resolution; a sev1/sev2 logs a deviation and asks for a postmortem."""
    with _changing(services, actor, command.number, IncidentEvent.RESOLVE, "resolve") as (
            session, incident, initiative, roles, held, status):
        if not incidents.fenced_update(session, incident=incident, status=status.value, resolved_by=actor.user_id,
                                       resolved_at=actor.now, resolution=command.resolution, next_escalation_at=None):
            raise Conflict(f"INC{incident.number} changed a moment ago; look at its thread and try again.")
        took = duration(actor.now - incident.declared_at)
        line = f":white_check_mark: Resolved by <@{actor.user_id}> after {took}."
        postmortem = Severity(incident.severity) in POSTMORTEM_SEVERITIES
        context_line = None
        if postmortem:
            incidents.add_deviation(session, team_id=actor.team_id, initiative_id=initiative.id,
                                    text=f"{incident.severity.upper()} INC{incident.number}: {incident.title}. "
                                         f"Resolution: {command.resolution}",
                                    by=actor.user_id, at=actor.now, incident_id=incident.id)
            owner = roles.get(Role.BUSINESS_OWNER)
            addressee = f"<@{owner}>" if owner else "Business owner (vacant: assign one)"
            context_line = (f"{addressee}: a {incident.severity} needs a postmortem sign-off: "
                            f"`/steward signoff {initiative.key} postmortem:INC{incident.number} approve|reject "
                            f"[comment]`. A deviation was logged.")
        button = ({"action_id": "signoff_open", "text": "Sign off postmortem",
                   "value": f"{initiative.key}|postmortem:INC{incident.number}"} if postmortem else None)
        _note(session, incident, initiative, "resolved", line, actor.now, context_line=context_line,
              quote=command.resolution, button=button)
        _queue_root_update(session, incident, initiative, actor.now)
        append_event(session, team_id=actor.team_id, actor=actor.user_id, action="incident.resolved",
                     target=initiative.key, payload={"incident": f"INC{incident.number}",
                                                     "roles": [r.value for r in held],
                                                     "resolution": command.resolution,
                                                     "postmortem_requested": postmortem}, at=actor.now)
    services.notify_outbox()
    return render("incident_note", text=f"INC{incident.number} resolved",
                  line=f":white_check_mark: You resolved INC{incident.number} after {took}.", context_line=None)


def resolve_form(services: Services, actor: Actor, number: int, *, max_length: int) -> dict:
    """The modal asking for a resolution; the person's channel rides along for the reply."""
    with read_scope(services.engine) as session:
        incident = incidents.by_number(session, team_id=actor.team_id, number=number)
    if incident is None:
        raise NotFound(f"INC{number} does not exist any more.")
    view = render_view("incident_resolve_modal", incident=incident, max_length=max_length)
    view["private_metadata"] = f"INC{incident.number}|{actor.channel_id or ''}"
    return view


def escalate_now(services: Services, actor: Actor, number: int, seen_level: int) -> Message:
    """Page the next level at once; a click made on a stale message (an older level) does nothing."""
    with session_scope(services.engine) as session:
        incident, initiative, roles = _load(session, actor, number)
    _require_role(services, actor, incident, initiative, roles, "escalate")
    with session_scope(services.engine) as session:
        incident = session.get(Incident, incident.id)
        if incident.status != IncidentStatus.OPEN:
            raise Conflict(f"INC{number} is {incident.status}; escalation has stopped.")
        if incident.level_reached != seen_level or seen_level >= len(ladder(incident)):
            raise Conflict(f"INC{number} is already at level {incident.level_reached}; nothing more was paged.")
        if not _advance(session, incident, initiative, actor.now, force_next=True, by_hand=actor.user_id):
            raise Conflict(f"INC{number} changed a moment ago; look at its thread.")
        reached = incident.level_reached
    services.notify_outbox()
    return render("incident_note", text=f"INC{number} escalated",
                  line=f":mega: INC{number} escalated to level {reached}.", context_line=None)


def _already(incident: Incident, initiative: Initiative) -> str:
    if incident.status == IncidentStatus.RESOLVED:
        return (f"INC{incident.number} was already resolved by <@{incident.resolved_by}> on "
                f"{local_time(incident.resolved_at, initiative.timezone)}.")
    return (f"INC{incident.number} was already acknowledged by <@{incident.acknowledged_by}> on "
            f"{local_time(incident.acknowledged_at, initiative.timezone)}.")


def _note(session: Session, incident: Incident, initiative: Initiative, name: str, line: str, now: datetime, *,
          context_line: str | None = None, quote: str | None = None, button: dict | None = None) -> None:
    if quote:
        line += "\n>" + mrkdwn_escape(quote).replace("\n", "\n>")
    message = render("incident_note", text=f"INC{incident.number}: {name}", line=line, context_line=context_line,
                     button=button)
    queue_message(session, team_id=incident.team_id, key=f"incident:{incident.id}:{name}",
                  channel_id=incident.channel_id, message=message, purpose=f"incident.{name}",
                  thread_key=root_key(incident), initiative_id=initiative.id, subject_id=incident.id, at=now)


def page_still_wanted(session: Session, row) -> bool:
    """Outbox check: an acknowledgement or resolution cancels pages already queued."""
    incident = session.get(Incident, row.subject_id)
    return incident is not None and incident.status == IncidentStatus.OPEN


def status_request_still_wanted(session: Session, row) -> bool:
    incident = session.get(Incident, row.subject_id)
    return incident is not None and incident.status == IncidentStatus.ACKNOWLEDGED


def root_update_still_wanted(session: Session, row) -> bool:
    """Only the newest picture of the incident is worth sending; older queued updates are dropped."""
    incident = session.get(Incident, row.subject_id)
    return incident is not None and row.key.endswith(f":v{incident.version}")


def record_root_posted(session: Session, row, ts: str, now: datetime) -> None:
    incident = session.get(Incident, row.subject_id)
    if incident is not None and incident.root_ts is None:
        incident.root_ts = ts
        session.add(incident)


def summary_lines(session: Session, initiative: Initiative) -> list[str]:
    """Incident numbers a business owner asks for: counts and median times to acknowledge and resolve."""
    rows = incidents.for_initiative(session, initiative_id=initiative.id)
    if not rows:
        return []
    open_ones = [i for i in rows if i.status != IncidentStatus.RESOLVED]
    to_ack = [i.acknowledged_at - i.declared_at for i in rows if i.acknowledged_at]
    to_resolve = [i.resolved_at - i.declared_at for i in rows if i.resolved_at]
    lines = [f"*Incidents*: {len(rows)} declared, {len(open_ones)} not resolved · median time to acknowledge "
             f"{duration(median(to_ack))} · median time to resolve {duration(median(to_resolve))}"]
    for incident in open_ones[-5:]:
        lines.append(f"• INC{incident.number} {incident.severity} {incident.status}: {mrkdwn_escape(incident.title)}")
    return lines
