"""Queries over the append-only records of decisions: readiness, governance, KPIs, sign-offs, witnesses."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, func, select

from storage.models import (
    AuditWitness,
    GovernanceItem,
    KpiMeasurement,
    KpiThreshold,
    ReadinessAssessment,
    SignOff,
)


def latest_readiness(session: Session, *, initiative_id: int) -> dict[str, ReadinessAssessment]:
    rows = session.exec(select(ReadinessAssessment).where(ReadinessAssessment.initiative_id == initiative_id)
                        .order_by(ReadinessAssessment.set_at, ReadinessAssessment.id))
    return {row.dimension: row for row in rows}


def latest_governance(session: Session, *, initiative_id: int) -> dict[str, GovernanceItem]:
    rows = session.exec(select(GovernanceItem).where(GovernanceItem.initiative_id == initiative_id)
                        .order_by(GovernanceItem.set_at, GovernanceItem.id))
    return {row.item: row for row in rows}


def proposed_thresholds(session: Session, *, initiative_id: int) -> dict[str, KpiThreshold]:
    rows = session.exec(select(KpiThreshold).where(KpiThreshold.initiative_id == initiative_id)
                        .order_by(KpiThreshold.set_at, KpiThreshold.id))
    return {row.kpi: row for row in rows}


def latest_measurements(session: Session, *, initiative_id: int, until: datetime | None = None
                        ) -> dict[str, KpiMeasurement]:
    """The latest measurement of each KPI (at or before `until`)."""
    latest = select(KpiMeasurement.kpi, func.max(KpiMeasurement.measured_at).label("at")).where(
        KpiMeasurement.initiative_id == initiative_id)
    if until is not None:
        latest = latest.where(KpiMeasurement.measured_at <= until)
    latest = latest.group_by(KpiMeasurement.kpi).subquery()
    rows = session.exec(select(KpiMeasurement).join(
        latest, (KpiMeasurement.kpi == latest.c.kpi) & (KpiMeasurement.measured_at == latest.c.at))
        .where(KpiMeasurement.initiative_id == initiative_id).order_by(KpiMeasurement.id))
    return {row.kpi: row for row in rows}


def measurements(session: Session, *, initiative_id: int, kpi: str, since: datetime) -> list[KpiMeasurement]:
    return list(session.exec(select(KpiMeasurement).where(
        KpiMeasurement.initiative_id == initiative_id, KpiMeasurement.kpi == kpi,
        KpiMeasurement.measured_at >= since).order_by(KpiMeasurement.measured_at)))


def signoffs(session: Session, *, initiative_id: int, subject: str | None = None,
             since: datetime | None = None) -> list[SignOff]:
    statement = select(SignOff).where(SignOff.initiative_id == initiative_id)
    if subject is not None:
        statement = statement.where(SignOff.subject == subject)
    if since is not None:
        statement = statement.where(SignOff.signed_at >= since)
    return list(session.exec(statement.order_by(SignOff.signed_at, SignOff.id)))


def latest_signoff(session: Session, *, initiative_id: int, subject: str, since: datetime | None = None
                   ) -> SignOff | None:
    found = signoffs(session, initiative_id=initiative_id, subject=subject, since=since)
    return found[-1] if found else None


def signoff_by_request(session: Session, *, team_id: str, request_key: str) -> SignOff | None:
    return session.exec(select(SignOff).where(SignOff.team_id == team_id, SignOff.request_key == request_key)).first()


def witnesses(session: Session, *, team_id: str) -> list[AuditWitness]:
    return list(session.exec(select(AuditWitness).where(AuditWitness.team_id == team_id)
                             .order_by(col(AuditWitness.seq))))
