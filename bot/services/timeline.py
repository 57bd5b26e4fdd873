"""An incident's timeline: the thread's human replies (with edits and deletions), and `incident show`.

Slack sends a `message` event for every message in a channel Steward is in. Only replies in an
incident's thread are kept; Steward's own messages and subtypes that are not a person writing are
ignored. A reply from a role holder (or the person covering one) is a status update: the next
"please post an update" request waits a full interval from it.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime

from sqlmodel import Session

from bot.domain.commands import IncidentShow
from bot.domain.escalation import next_action_at
from bot.errors import NotFound
from bot.services.context import Actor, Services
from bot.services.incidents import state_of
from messages import timeline as timeline_messages
from messages.render import Message
from states import IncidentStatus
from storage import incidents, repository, timeline
from storage.db import read_scope, session_scope
from storage.models import Incident

log = logging.getLogger(__name__)

HUMAN_SUBTYPES = (None, "thread_broadcast", "file_share", "me_message")
MAX_TEXT = 4000  # Slack's own cap on a message's text is 40,000; the timeline keeps the start
SHOWN_ENTRIES = 40


def moment(ts: str | None) -> datetime | None:
    """A Slack ts ("1764475200.000100") as the moment it stands for."""
    try:
        return datetime.fromtimestamp(float(ts), tz=UTC) if ts else None
    except (TypeError, ValueError):
        return None


def _reply_of(event: dict) -> tuple[str, dict, str | None, datetime | None] | None:
    """(kind, the message as a person wrote it, its ts, when it happened) of a message event, or None to ignore it."""
    subtype = event.get("subtype")
    if subtype == "message_changed":
        message = event.get("message") or {}
        previous = event.get("previous_message") or {}
        if (message.get("text"), message.get("files")) == (previous.get("text"), previous.get("files")):
            return None  # an unfurl or a reply count changed, not the words
        edited = (message.get("edited") or {}).get("ts") or event.get("event_ts") or event.get("ts")
        return timeline.REPLY_EDITED, message, message.get("ts"), moment(edited)
    if subtype == "message_deleted":
        previous = event.get("previous_message") or {}
        return timeline.REPLY_DELETED, previous, event.get("deleted_ts") or previous.get("ts"), \
            moment(event.get("event_ts") or event.get("ts"))
    if subtype in HUMAN_SUBTYPES:
        return timeline.REPLY, event, event.get("ts"), moment(event.get("ts"))
    return None  # joins, topic changes, bot messages, ...


def record_message(services: Services, *, team_id: str, event: dict, bot_user_id: str | None,
                   now: datetime) -> bool:
    """Keep a reply (or its edit or deletion) in an incident's thread on the incident's timeline; False if ignored."""
    found = _reply_of(event)
    if found is None:
        return False
    kind, message, ts, at = found
    thread_ts, user = message.get("thread_ts"), message.get("user")
    if not thread_ts or not ts or thread_ts == ts or not user:
        return False  # not a reply in a thread, or nobody wrote it
    if message.get("bot_id") or event.get("bot_id") or user == bot_user_id:
        return False  # Steward's own messages (and other apps') are not replies of the team
    channel = event.get("channel") or ""
    at = at or now
    with session_scope(services.engine) as session:
        incident = timeline.incident_by_thread(session=session, team_id=team_id, channel_id=channel,
                                               thread_ts=thread_ts)
        if incident is None:
            return False
        text = None if kind == timeline.REPLY_DELETED else (message.get("text") or "")[:MAX_TEXT]
        dedup = {timeline.REPLY: f"reply:{incident.id}:{ts}",
                 timeline.REPLY_EDITED: f"edit:{incident.id}:{ts}:{at.timestamp():.6f}",
                 timeline.REPLY_DELETED: f"delete:{incident.id}:{ts}"}[kind]
        detail = {"files": len(message.get("files") or [])} if message.get("files") else None
        if not timeline.record(session=session, incident=incident, kind=kind, actor=user, at=at, text=text,
                               message_ts=ts, detail=detail, dedup=dedup):
            return False  # a retried event
        if kind == timeline.REPLY:
            holders = set(repository.active_roles(session=session, initiative_id=incident.initiative_id).values())
            if user in holders:
                _status_update(session, incident, at)
    return True


def _status_update(session: Session, incident: Incident, at: datetime) -> None:
    """A role holder's reply: status requests count from it (a sweep moving the incident meanwhile: read again)."""
    for _ in range(3):
        if incident.status is IncidentStatus.RESOLVED or (incident.last_update_at and incident.last_update_at >= at):
            return
        values: dict = {"last_update_at": at}
        acknowledged = incident.acknowledged_at
        if incident.status is IncidentStatus.ACKNOWLEDGED and acknowledged and at > acknowledged:
            state = replace(state_of(incident), last_update_at=at, status_requests=0)
            values.update(status_requests=0,
                          next_escalation_at=next_action_at(state, incident.level_reached, 0))
        if incidents.fenced_update(session=session, incident=incident, **values):
            return
        session.refresh(incident)


def show(services: Services, actor: Actor, command: IncidentShow) -> Message:
    """`incident show INC3`: the incident and its timeline, latest entries last."""
    with read_scope(services.engine) as session:
        incident = incidents.by_number(session=session, team_id=actor.team_id, number=command.number)
        if incident is None:
            raise NotFound(timeline_messages.no_such_incident(command.number))
        initiative = repository.initiative_by_id(session=session, initiative_id=incident.initiative_id)
        entries = timeline.entries(session=session, incident_id=incident.id, limit=SHOWN_ENTRIES)
        total = timeline.count(session=session, incident_id=incident.id)
        return timeline_messages.show(incident, key=initiative.key, zone=initiative.timezone, entries=entries,
                                      total=total)
