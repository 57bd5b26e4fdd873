"""Queries for data distribution comparisons (issue 17)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from storage.models import DistributionComparison


def add(*, session: Session, row: DistributionComparison) -> DistributionComparison:
    session.add(row)
    session.flush()
    return row


def latest(*, session: Session, initiative_id: int) -> DistributionComparison | None:
    """The initiative's latest computed comparison, or None."""
    statement = (select(DistributionComparison).where(DistributionComparison.initiative_id == initiative_id)
                 .order_by(col(DistributionComparison.created_at).desc(), col(DistributionComparison.id).desc())
                 .limit(1))
    return session.exec(statement).first()


def by_id(*, session: Session, comparison_id: int) -> DistributionComparison | None:
    return session.get(DistributionComparison, comparison_id)
