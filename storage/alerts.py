"""Queries for signals from monitors: integration tokens, alerts that opened incidents, Prometheus KPI sources."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from states import IncidentStatus
from storage.models import Incident, IntegrationToken, KpiSource, MonitorAlert
from storage.tokens import digest

# -- integration tokens (a workspace's alert webhooks) ----------------------------------------------------------


def create_integration_token(*, session: Session, team_id: str, created_by: str,
                             at: datetime) -> tuple[str, IntegrationToken]:
    """Return the new token (shown once) and its row; only its SHA-256 is stored."""
    token = "stwi_" + secrets.token_urlsafe(32)
    row = IntegrationToken(team_id=team_id, token_hash=digest(token), prefix=token[:11], created_by=created_by,
                           created_at=at)
    session.add(row)
    session.flush()
    return token, row


def find_integration_token(*, session: Session, token: str) -> IntegrationToken | None:
    return session.exec(select(IntegrationToken).where(IntegrationToken.token_hash == digest(token),
                                                       col(IntegrationToken.revoked_at).is_(None))).first()


def revoke_integration_tokens(*, session: Session, team_id: str, at: datetime) -> int:
    result = session.exec(update(IntegrationToken).where(col(IntegrationToken.team_id) == team_id,
                                                         col(IntegrationToken.revoked_at).is_(None))
                          .values(revoked_at=at))
    return result.rowcount


# -- alerts ---------------------------------------------------------------------------------------------------


def open_alert(*, session: Session, initiative_id: int, fingerprint: str) -> tuple[MonitorAlert, Incident] | None:
    """The alert with this fingerprint whose incident is still open, with that incident."""
    row = session.exec(
        select(MonitorAlert, Incident).join(Incident, col(Incident.id) == MonitorAlert.incident_id)
        .where(MonitorAlert.initiative_id == initiative_id, MonitorAlert.fingerprint == fingerprint,
               col(Incident.status) != IncidentStatus.RESOLVED)
        .order_by(col(MonitorAlert.id).desc())).first()
    return (row[0], row[1]) if row else None


def latest_alert(*, session: Session, initiative_id: int, fingerprint: str) -> tuple[MonitorAlert, Incident] | None:
    """The newest alert with this fingerprint (its incident open or not), with its incident."""
    row = session.exec(
        select(MonitorAlert, Incident).join(Incident, col(Incident.id) == MonitorAlert.incident_id)
        .where(MonitorAlert.initiative_id == initiative_id, MonitorAlert.fingerprint == fingerprint)
        .order_by(col(MonitorAlert.id).desc())).first()
    return (row[0], row[1]) if row else None


def add_alert(*, session: Session, alert: MonitorAlert) -> MonitorAlert:
    session.add(alert)
    session.flush()
    return alert


# -- Prometheus KPI sources ---------------------------------------------------------------------------------------


def source_for(*, session: Session, initiative_id: int, kpi: str) -> KpiSource | None:
    return session.exec(select(KpiSource).where(KpiSource.initiative_id == initiative_id,
                                                KpiSource.kpi == kpi)).first()


def sources_of(*, session: Session, initiative_id: int) -> list[KpiSource]:
    return list(session.exec(select(KpiSource).where(KpiSource.initiative_id == initiative_id)
                             .order_by(KpiSource.kpi)))


def due_sources(*, session: Session, now: datetime, limit: int = 500) -> list[KpiSource]:
    return list(session.exec(select(KpiSource).where(col(KpiSource.next_run_at) <= now)
                             .order_by(KpiSource.next_run_at).limit(limit)))


def all_sources(*, session: Session) -> list[KpiSource]:
    return list(session.exec(select(KpiSource)))


def save(*, session: Session, row) -> None:
    session.add(row)
    session.flush()


def delete(*, session: Session, row) -> None:
    session.delete(row)
    session.flush()


def workspaces(*, session: Session) -> list[str]:
    """Every workspace with an initiative (the command line may not know its team id)."""
    from storage.models import Initiative

    return sorted(session.exec(select(Initiative.team_id).distinct()))
