"""The KPI thresholds in force: rows written when the business owner approves a baseline."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, func, select

from storage.models import ThresholdInForce


def put_in_force(*, session: Session, team_id: str, initiative_id: int, signoff_id: int,
                 thresholds: dict[str, float], at: datetime) -> list[ThresholdInForce]:
    """Record the thresholds an approved baseline sign-off puts in force (caller's transaction); return the rows."""
    rows = [ThresholdInForce(team_id=team_id, initiative_id=initiative_id, signoff_id=signoff_id, kpi=kpi,
                             value=float(value), in_force_from=at) for kpi, value in thresholds.items()]
    session.add_all(rows)
    session.flush()
    return rows


def in_force(*, session: Session, initiative_id: int) -> dict[str, float]:
    """KPI -> threshold of the latest approved baseline; {} before any approval (a rejection changes nothing)."""
    latest = select(func.max(ThresholdInForce.signoff_id)).where(
        ThresholdInForce.initiative_id == initiative_id).scalar_subquery()
    rows = session.exec(select(ThresholdInForce).where(ThresholdInForce.initiative_id == initiative_id,
                                                       ThresholdInForce.signoff_id == latest))
    return {row.kpi: row.value for row in rows}


def baselines(*, session: Session, initiative_id: int) -> list[tuple[datetime, dict[str, float]]]:
    """Every approved baseline of the initiative, oldest first: from when it was in force, and its thresholds."""
    found: dict[int, tuple[datetime, dict[str, float]]] = {}
    rows = session.exec(select(ThresholdInForce).where(ThresholdInForce.initiative_id == initiative_id)
                        .order_by(ThresholdInForce.signoff_id, ThresholdInForce.id))
    for row in rows:
        found.setdefault(row.signoff_id, (row.in_force_from, {}))[1][row.kpi] = row.value
    return sorted(found.values(), key=lambda baseline: baseline[0])
