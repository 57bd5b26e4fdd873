"""Writes of KPI thresholds and measurements, and the initiatives whose KPIs have gone silent."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from storage.models import Initiative, KpiMeasurement, KpiThreshold


def propose_threshold(*, session: Session, team_id: str, initiative_id: int, kpi: str, value: float, by: str,
                      at: datetime) -> KpiThreshold:
    """Record a proposed threshold; it is in force only once a baseline sign-off approves it."""
    row = KpiThreshold(team_id=team_id, initiative_id=initiative_id, kpi=kpi, value=value, set_by=by, set_at=at)
    session.add(row)
    session.flush()
    return row


def add_measurement(*, session: Session, team_id: str, initiative_id: int, kpi: str, value: float,
                    measured_at: datetime, by: str, source: str) -> KpiMeasurement:
    row = KpiMeasurement(team_id=team_id, initiative_id=initiative_id, kpi=kpi, value=value, measured_at=measured_at,
                         recorded_by=by, source=source, created_at=measured_at)
    session.add(row)
    session.flush()
    return row


def silent_due(*, session: Session, now: datetime) -> list[Initiative]:
    """Initiatives (not archived) whose first KPI will have gone silent too long by `now`."""
    return list(session.exec(select(Initiative).where(col(Initiative.kpi_silent_after) <= now,
                                                      col(Initiative.archived).is_(False))
                             .order_by(Initiative.id)))
