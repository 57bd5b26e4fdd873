"""Queries over the append-only records of decisions: readiness, governance, KPIs, sign-offs, witnesses."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, func, select

from states import ReviewStatus
from storage.inserts import insert_ignoring_duplicates
from storage.models import (
    AuditWitness,
    GovernanceItem,
    KpiMeasurement,
    KpiThreshold,
    ReadinessAssessment,
    Review,
    SignOff,
    SignOffVoid,
)


def latest_readiness(*, session: Session, initiative_id: int) -> dict[str, ReadinessAssessment]:
    """The latest assessment of each readiness dimension."""
    rows = session.exec(select(ReadinessAssessment).where(ReadinessAssessment.initiative_id == initiative_id)
                        .order_by(ReadinessAssessment.set_at, ReadinessAssessment.id))
    return {row.dimension: row for row in rows}


def add_readiness(*, session: Session, team_id: str, initiative_id: int, dimension: str, ready: bool,
                  evidence: str | None, by: str, at: datetime) -> ReadinessAssessment:
    """Record an assessment of one readiness dimension."""
    row = ReadinessAssessment(team_id=team_id, initiative_id=initiative_id, dimension=dimension, ready=ready,
                              evidence=evidence, set_by=by, set_at=at)
    session.add(row)
    session.flush()
    return row


def latest_governance(*, session: Session, initiative_id: int) -> dict[str, GovernanceItem]:
    """The latest value of each governance item people set."""
    rows = session.exec(select(GovernanceItem).where(GovernanceItem.initiative_id == initiative_id)
                        .order_by(GovernanceItem.set_at, GovernanceItem.id))
    return {row.item: row for row in rows}


def add_governance_item(*, session: Session, team_id: str, initiative_id: int, item: str, value: str, by: str,
                        at: datetime) -> GovernanceItem:
    """Record a new value of one governance item; the latest supersedes earlier ones."""
    row = GovernanceItem(team_id=team_id, initiative_id=initiative_id, item=item, value=value, set_by=by, set_at=at)
    session.add(row)
    session.flush()
    return row


def proposed_thresholds(*, session: Session, initiative_id: int) -> dict[str, KpiThreshold]:
    """The latest proposed threshold of each KPI (in force only once a baseline is approved)."""
    rows = session.exec(select(KpiThreshold).where(KpiThreshold.initiative_id == initiative_id)
                        .order_by(KpiThreshold.set_at, KpiThreshold.id))
    return {row.kpi: row for row in rows}


def latest_measurements(*, session: Session, initiative_id: int, until: datetime | None = None
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


def measurements_between(*, session: Session, initiative_id: int, since: datetime, until: datetime
                         ) -> list[KpiMeasurement]:
    """Every measurement of the initiative in a period, oldest first (the evidence of a stable period)."""
    return list(session.exec(select(KpiMeasurement).where(
        KpiMeasurement.initiative_id == initiative_id, KpiMeasurement.measured_at >= since,
        KpiMeasurement.measured_at <= until).order_by(KpiMeasurement.measured_at, KpiMeasurement.id)))


def measurements(*, session: Session, initiative_id: int, kpi: str, since: datetime) -> list[KpiMeasurement]:
    """The measurements of one KPI since a moment, oldest first."""
    return list(session.exec(select(KpiMeasurement).where(
        KpiMeasurement.initiative_id == initiative_id, KpiMeasurement.kpi == kpi,
        KpiMeasurement.measured_at >= since).order_by(KpiMeasurement.measured_at)))


def has_measurements(*, session: Session, initiative_id: int, since: datetime, until: datetime) -> bool:
    """Whether any KPI of the initiative was measured in a period (a chart of it would not be empty)."""
    return session.exec(select(KpiMeasurement.id).where(
        KpiMeasurement.initiative_id == initiative_id, KpiMeasurement.measured_at >= since,
        KpiMeasurement.measured_at <= until).limit(1)).first() is not None


def completed_reviews(*, session: Session, initiative_id: int, kind: str) -> int:
    """How many reviews of a kind the initiative has completed."""
    return session.exec(select(func.count()).select_from(Review).where(
        Review.initiative_id == initiative_id, Review.kind == kind,
        col(Review.status) == ReviewStatus.COMPLETED)).one()


def signoffs(*, session: Session, initiative_id: int, subject: str | None = None,
             since: datetime | None = None) -> list[SignOff]:
    """The sign-offs of an initiative (on one subject, since a moment), oldest first."""
    statement = select(SignOff).where(SignOff.initiative_id == initiative_id)
    if subject is not None:
        statement = statement.where(SignOff.subject == subject)
    if since is not None:
        statement = statement.where(SignOff.signed_at >= since)
    return list(session.exec(statement.order_by(SignOff.signed_at, SignOff.id)))


def latest_signoff(*, session: Session, initiative_id: int, subject: str, since: datetime | None = None
                   ) -> SignOff | None:
    """The sign-off in force on a subject: the latest one that was not voided (a voided one no longer counts)."""
    statement = select(SignOff).where(SignOff.initiative_id == initiative_id, SignOff.subject == subject,
                                      col(SignOff.id).not_in(select(SignOffVoid.signoff_id).where(
                                          SignOffVoid.initiative_id == initiative_id)))
    if since is not None:
        statement = statement.where(SignOff.signed_at >= since)
    return session.exec(statement.order_by(col(SignOff.signed_at).desc(), col(SignOff.id).desc())).first()


def standing_approvals(*, session: Session, initiative_id: int, subject: str, since: datetime) -> list[SignOff]:
    """The approvals on a subject since a moment that no void has touched, oldest first."""
    voided = select(SignOffVoid.signoff_id).where(SignOffVoid.initiative_id == initiative_id)
    return list(session.exec(select(SignOff).where(
        SignOff.initiative_id == initiative_id, SignOff.subject == subject, SignOff.decision == "approve",
        SignOff.signed_at >= since, col(SignOff.id).not_in(voided)).order_by(SignOff.signed_at, SignOff.id)))


def add_void(*, session: Session, void: SignOffVoid) -> SignOffVoid | None:
    """Record that a sign-off was voided; None when it was voided already (by a concurrent change)."""
    void_id = insert_ignoring_duplicates(session=session, model=SignOffVoid, values=void.model_dump(exclude={"id"}),
                                         conflict=["signoff_id"])
    return None if void_id is None else session.get(SignOffVoid, void_id)


def voids(*, session: Session, initiative_id: int) -> dict[int, SignOffVoid]:
    """Sign-off id -> its void, for an initiative's voided sign-offs."""
    rows = session.exec(select(SignOffVoid).where(SignOffVoid.initiative_id == initiative_id))
    return {row.signoff_id: row for row in rows}


def signoff_by_request(*, session: Session, team_id: str, request_key: str) -> SignOff | None:
    """The sign-off a Slack request already recorded, if any."""
    return session.exec(select(SignOff).where(SignOff.team_id == team_id, SignOff.request_key == request_key)).first()


def add_signoff(*, session: Session, signoff: SignOff) -> SignOff | None:
    """Record a sign-off; None when the same Slack request (`request_key`) recorded one already."""
    signoff_id = insert_ignoring_duplicates(session=session, model=SignOff, values=signoff.model_dump(exclude={"id"}),
                                            conflict=["team_id", "request_key"])
    return None if signoff_id is None else session.get(SignOff, signoff_id)


def witnesses(*, session: Session, team_id: str) -> list[AuditWitness]:
    """The audit heads witnessed in Slack, in chain order."""
    return list(session.exec(select(AuditWitness).where(AuditWitness.team_id == team_id)
                             .order_by(col(AuditWitness.seq))))
