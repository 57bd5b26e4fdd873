"""Queries over incidents and deviations; every change of an incident is fenced by its version."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from states import IncidentStatus
from storage.models import Deviation, Incident


def add(*, session: Session, incident: Incident) -> Incident:
    """Insert a new incident and give it its id (caller's transaction)."""
    session.add(incident)
    session.flush()
    return incident


def get(*, session: Session, incident_id: int) -> Incident | None:
    return session.get(Incident, incident_id)


def by_number(*, session: Session, team_id: str, number: int) -> Incident | None:
    return session.exec(select(Incident).where(Incident.team_id == team_id, Incident.number == number)).first()


def due(*, session: Session, now: datetime, limit: int = 500) -> list[Incident]:
    statement = (
        select(Incident).where(col(Incident.next_escalation_at) <= now).order_by(Incident.next_escalation_at)
        .limit(limit)
    )
    return list(session.exec(statement))


def next_due_at(*, session: Session) -> datetime | None:
    return session.exec(select(func.min(Incident.next_escalation_at))).one()


def fenced_update(*, session: Session, incident: Incident, **values) -> bool:
    """Apply a change only if nobody changed the incident since it was read (a click, a sweep, a replica)."""
    result = session.exec(
        update(Incident)
        .where(col(Incident.id) == incident.id, col(Incident.version) == incident.version)
        .values(version=incident.version + 1, **values)
    )
    if result.rowcount != 1:
        return False
    session.refresh(incident)
    return True


def record_root_ts(*, session: Session, incident_id: int, ts: str) -> None:
    """Remember where the incident's root message is, once: every page is a reply in its thread."""
    incident = session.get(Incident, incident_id)
    if incident is not None and incident.root_ts is None:
        incident.root_ts = ts
        session.add(incident)


def for_initiative(*, session: Session, initiative_id: int) -> list[Incident]:
    return list(session.exec(select(Incident).where(Incident.initiative_id == initiative_id)
                             .order_by(Incident.declared_at)))


def add_deviation(*, session: Session, team_id: str, initiative_id: int, text: str, by: str, at: datetime,
                  incident_id: int | None = None) -> Deviation:
    deviation = Deviation(team_id=team_id, initiative_id=initiative_id, text=text, logged_by=by, logged_at=at,
                          incident_id=incident_id)
    session.add(deviation)
    session.flush()
    return deviation


def recent_deviations(*, session: Session, initiative_id: int, limit: int = 5) -> list[Deviation]:
    return list(session.exec(select(Deviation).where(Deviation.initiative_id == initiative_id)
                             .order_by(col(Deviation.logged_at).desc()).limit(limit)))


def open_for_kpi(*, session: Session, initiative_id: int, kpi: str) -> Incident | None:
    return session.exec(select(Incident).where(Incident.initiative_id == initiative_id, Incident.kpi == kpi,
                                               col(Incident.status) != IncidentStatus.RESOLVED)).first()
