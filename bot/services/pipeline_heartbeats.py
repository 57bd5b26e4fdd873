"""Flows for pipeline heartbeats: create (URL shown once), list, delete, ping, and the sweep's missed check.

Not to be confused with bot.services.heartbeat, the process's own heartbeat for /healthz.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.domain.alerts import count_misses
from bot.domain.commands import HeartbeatCreate, HeartbeatDelete, HeartbeatList
from bot.domain.escalation import IncidentKind, IncidentStatus, Severity
from bot.domain.vocabulary import Role
from bot.errors import Conflict, NotFound
from bot.outbox import queue_message
from bot.services import incidents as incident_flows
from bot.services.context import Actor, Services
from bot.services.lookup import require_initiative, require_record_keeper
from bot.services.steps import StepResult, each_row
from messages import pipeline_heartbeats as heartbeat_messages
from messages.render import Message
from storage import incidents, repository
from storage import pipeline_heartbeats as heartbeat_rows
from storage.audit import append_event
from storage.db import lock_row, read_scope, session_scope
from storage.models import Initiative, PipelineHeartbeat
from storage.tokens import digest

HEARTBEAT_PATH = "/api/v1/heartbeats/"


def public_url(services: Services) -> str:
    """Where pipelines reach Steward: STEWARD_PUBLIC_URL, else this host's port (fine for a local try)."""
    configured = services.settings.steward_public_url
    return (configured or f"http://localhost:{services.settings.steward_port}").rstrip("/")


def create(services: Services, actor: Actor, command: HeartbeatCreate) -> Message:
    with session_scope(services.engine) as session:
        initiative = require_initiative(session, team_id=actor.team_id, key=command.key)
        require_record_keeper(session, user_id=actor.user_id, admins=services.settings.steward_admins,
                              initiative=initiative, what="create heartbeats")
        if heartbeat_rows.named(session=session, initiative_id=initiative.id, name=command.name) is not None:
            raise Conflict(heartbeat_messages.exists(key=initiative.key, name=command.name))
        token = heartbeat_rows.new_token()
        every, grace = timedelta(seconds=command.every_seconds), timedelta(seconds=command.grace_seconds)
        heartbeat_rows.add(session=session, heartbeat=PipelineHeartbeat(
            team_id=initiative.team_id, initiative_id=initiative.id, name=command.name, token_hash=digest(token),
            every_seconds=command.every_seconds, grace_seconds=command.grace_seconds, created_by=actor.user_id,
            created_at=actor.now, due_at=actor.now + every + grace))
        append_event(session=session, team_id=initiative.team_id, actor=actor.user_id, action="heartbeat.created",
                     target=initiative.key, payload={"name": command.name, "every_seconds": command.every_seconds,
                                                     "grace_seconds": command.grace_seconds}, at=actor.now)
    return heartbeat_messages.created(key=command.key, name=command.name,
                                      url=f"{public_url(services)}{HEARTBEAT_PATH}{token}", every=every, grace=grace)


def list_all(services: Services, actor: Actor, command: HeartbeatList) -> Message:
    with read_scope(services.engine) as session:
        initiative = require_initiative(session, team_id=actor.team_id, key=command.key)
        beats = heartbeat_rows.of_initiative(session=session, initiative_id=initiative.id)
        return heartbeat_messages.listing(key=initiative.key, heartbeats=beats, zone=initiative.timezone)


def delete(services: Services, actor: Actor, command: HeartbeatDelete) -> Message:
    with session_scope(services.engine) as session:
        initiative = require_initiative(session, team_id=actor.team_id, key=command.key)
        require_record_keeper(session, user_id=actor.user_id, admins=services.settings.steward_admins,
                              initiative=initiative, what="delete heartbeats")
        beat = heartbeat_rows.named(session=session, initiative_id=initiative.id, name=command.name)
        if beat is None:
            raise NotFound(heartbeat_messages.not_found(key=initiative.key, name=command.name))
        heartbeat_rows.delete(session=session, heartbeat=beat)
        append_event(session=session, team_id=initiative.team_id, actor=actor.user_id, action="heartbeat.deleted",
                     target=initiative.key, payload={"name": command.name}, at=actor.now)
    return heartbeat_messages.deleted(key=command.key, name=command.name)


def ping(services: Services, *, token: str, now: datetime) -> dict | None:
    """Record a ping; after misses, say the pipeline is back. None: no heartbeat has this token."""
    with session_scope(services.engine) as session:
        beat = heartbeat_rows.by_token(session=session, token=token)
        if beat is None:
            return None
        initiative = repository.initiative_by_id(session=session, initiative_id=beat.initiative_id)
        lock_row(session=session, model=Initiative, key=initiative.id)  # the lock order: initiative first
        session.refresh(beat)
        missed = beat.misses
        if missed:
            _recovered(session, initiative, beat, now)
        beat.last_ping_at, beat.misses, beat.incident_id = now, 0, None
        beat.due_at = now + timedelta(seconds=beat.every_seconds + beat.grace_seconds)
        heartbeat_rows.save(session=session, heartbeat=beat)
        answer = {"heartbeat": beat.name, "initiative": initiative.key, "next_expected_by": beat.due_at.isoformat(),
                  "recovered_after_misses": missed}
    services.notify_outbox()
    return answer


def _recovered(session, initiative: Initiative, beat: PipelineHeartbeat, now: datetime) -> None:
    incident = incidents.get(session=session, incident_id=beat.incident_id) if beat.incident_id else None
    number = incident.number if incident is not None and incident.status is not IncidentStatus.RESOLVED else None
    message = heartbeat_messages.recovered(key=initiative.key, name=beat.name, misses=beat.misses,
                                           incident_number=number)
    queue_message(session=session, team_id=initiative.team_id,
                  key=f"heartbeat:{beat.id}:recovered:{beat.due_at.isoformat()}", channel_id=initiative.channel_id,
                  message=message, purpose="notice", initiative_id=initiative.id, at=now)
    if number is not None:
        incident_flows.note_in_thread(session, incident, initiative, f"heartbeat:{beat.id}:recovered", message, now)
    append_event(session=session, team_id=initiative.team_id, actor="steward", action="heartbeat.recovered",
                 target=initiative.key, payload={"name": beat.name, "misses": beat.misses}, at=now)


def check_missed(services: Services, *, now: datetime) -> StepResult:
    """The sweep's step: each heartbeat past its due time is counted missed once per period, not per sweep."""
    with read_scope(services.engine) as session:
        due = [(beat.id, beat.name) for beat in heartbeat_rows.due(session=session, now=now)]
    return each_row(StepResult("pipeline_heartbeats"), due, lambda row: f"heartbeat {row[0]} ({row[1]})",
                    lambda row: _check_one(services, row[0], now))


def _check_one(services: Services, heartbeat_id: int, now: datetime) -> bool:
    with session_scope(services.engine) as session:
        beat = heartbeat_rows.get(session=session, heartbeat_id=heartbeat_id)
        if beat is None:
            return False
        initiative = repository.initiative_by_id(session=session, initiative_id=beat.initiative_id)
        lock_row(session=session, model=Initiative, key=initiative.id)
        session.refresh(beat)
        outcome = count_misses(due_at=beat.due_at, every=timedelta(seconds=beat.every_seconds), misses=beat.misses,
                               now=now)
        if not outcome.new_misses:
            return False  # a ping or another sweep got here first
        beat.misses, beat.due_at = outcome.misses, outcome.next_due_at
        roles = repository.active_roles(session=session, initiative_id=initiative.id)
        queue_message(session=session, team_id=initiative.team_id,
                      key=f"heartbeat:{beat.id}:missed:{outcome.misses}:{now.isoformat()}",
                      channel_id=initiative.channel_id,
                      message=heartbeat_messages.missed(key=initiative.key, name=beat.name,
                                                        engineer=roles.get(Role.DATA_ENGINEER),
                                                        misses=outcome.misses, last_ping_at=beat.last_ping_at,
                                                        zone=initiative.timezone, incident=outcome.open_incident),
                      purpose="notice", initiative_id=initiative.id, at=now)
        append_event(session=session, team_id=initiative.team_id, actor="steward", action="heartbeat.missed",
                     target=initiative.key, payload={"name": beat.name, "misses": outcome.misses}, at=now)
        if outcome.open_incident and beat.incident_id is None:
            incident = incident_flows.open_incident(
                session, services, initiative, severity=Severity.SEV3, kind=IncidentKind.PERFORMANCE,
                title=heartbeat_messages.incident_title(beat.name), declared_by="steward", now=now)
            beat.incident_id = incident.id
        heartbeat_rows.save(session=session, heartbeat=beat)
        return True

