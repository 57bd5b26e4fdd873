"""An incident's timeline: every reply, edit, deletion, page, acknowledgement, severity change and resolution.

Call `record` in the transaction that did the thing, e.g.

    timeline.record(session=session, incident=incident, kind=timeline.PAGE, actor="steward", at=now,
                    text="Level 2 paged", detail={"level": 2, "users": ["U1"]}, dedup=f"page:{incident.id}:2")

`dedup` makes a retried event or a re-run sweep record once (None: always recorded).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from storage.inserts import insert_ignoring_duplicates
from storage.models import Incident, IncidentTimelineEntry

# The kinds of entry; any short word is accepted, these are the ones Steward writes.
DECLARED = "declared"
REPLY = "reply"
REPLY_EDITED = "reply_edited"
REPLY_DELETED = "reply_deleted"
PAGE = "page"
ACKNOWLEDGED = "acknowledged"
SEVERITY = "severity"
RESOLVED = "resolved"
STATUS_REQUEST = "status_request"
PAGING_SERVICE = "paging_service"


def record(*, session: Session, incident: Incident, kind: str, actor: str, at: datetime, text: str | None = None,
           message_ts: str | None = None, detail: dict[str, Any] | None = None, dedup: str | None = None) -> bool:
    """Add one entry to the incident's timeline; False when an entry with the same `dedup` is there already."""
    values = dict(team_id=incident.team_id, incident_id=incident.id, kind=kind[:24], actor=actor[:64], at=at,
                  text=text, message_ts=message_ts, detail=json.dumps(detail, sort_keys=True) if detail else None,
                  dedup=dedup[:200] if dedup else None)
    if dedup is None:
        session.add(IncidentTimelineEntry(**values))
        session.flush()
        return True
    return insert_ignoring_duplicates(session=session, model=IncidentTimelineEntry, values=values,
                                      conflict=["team_id", "dedup"]) is not None


def entries(*, session: Session, incident_id: int, limit: int | None = None) -> list[IncidentTimelineEntry]:
    """The incident's timeline, oldest first (the latest `limit` when given)."""
    statement = select(IncidentTimelineEntry).where(IncidentTimelineEntry.incident_id == incident_id)
    if limit is None:
        return list(session.exec(statement.order_by(IncidentTimelineEntry.at, IncidentTimelineEntry.id)))
    latest = session.exec(statement.order_by(col(IncidentTimelineEntry.at).desc(),
                                             col(IncidentTimelineEntry.id).desc()).limit(limit))
    return list(reversed(list(latest)))


def count(*, session: Session, incident_id: int) -> int:
    return session.exec(select(func.count()).select_from(IncidentTimelineEntry)
                        .where(IncidentTimelineEntry.incident_id == incident_id)).one()


def for_export(*, session: Session, team_id: str | None = None) -> list[tuple[IncidentTimelineEntry, int]]:
    """Every timeline entry (of one workspace, or all) with its incident's number, for the audit export."""
    statement = select(IncidentTimelineEntry, Incident.number).join(
        Incident, col(Incident.id) == IncidentTimelineEntry.incident_id)
    if team_id is not None:
        statement = statement.where(IncidentTimelineEntry.team_id == team_id)
    statement = statement.order_by(IncidentTimelineEntry.team_id, Incident.number, IncidentTimelineEntry.at,
                                   IncidentTimelineEntry.id)
    return [(entry, number) for entry, number in session.exec(statement)]


def incident_by_thread(*, session: Session, team_id: str, channel_id: str, thread_ts: str) -> Incident | None:
    """The incident whose root message starts this thread, if any."""
    return session.exec(select(Incident).where(Incident.team_id == team_id, Incident.channel_id == channel_id,
                                               Incident.root_ts == thread_ts)).first()
