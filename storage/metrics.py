"""The database's state as Prometheus reads it at scrape time: a few aggregate queries, no rows loaded."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session, col, func, select

from states import OPEN_REVIEW, IncidentStatus, OutboxStatus, ReviewStatus
from storage.models import Incident, OutboxMessage, Review

OVERDUE_AFTER = timedelta(days=14)  # a review open this long after it fell due is overdue (escalated)
ON_TIME_GRACE = timedelta(days=1)  # completed by the end of its due day
COMPLIANCE_WINDOW = timedelta(days=90)


@dataclass
class Snapshot:
    outbox: dict[str, tuple[int, float]] = field(default_factory=dict)  # kind -> (undelivered, oldest age s)
    outbox_failed: dict[str, int] = field(default_factory=dict)
    reviews_due: int = 0
    reviews_overdue: int = 0
    reviews_on_time_ratio: float = 1.0
    incidents_open: dict[tuple[str, bool], int] = field(default_factory=dict)
    oldest_unacknowledged: dict[str, float] = field(default_factory=dict)  # severity -> age s


def _age(now: datetime, then: datetime | None) -> float:
    if then is None:
        return 0.0
    if then.tzinfo is None:
        then = then.replace(tzinfo=now.tzinfo)
    return max((now - then).total_seconds(), 0.0)


def snapshot(*, session: Session, now: datetime) -> Snapshot:
    result = Snapshot()
    undelivered = col(OutboxMessage.status).in_([OutboxStatus.PENDING, OutboxStatus.SENDING])
    for kind, count, oldest in session.exec(
            select(OutboxMessage.purpose, func.count(), func.min(OutboxMessage.due_at))
            .where(undelivered).group_by(OutboxMessage.purpose)):
        result.outbox[kind] = (count, _age(now, oldest))
    for kind, count in session.exec(
            select(OutboxMessage.purpose, func.count()).where(OutboxMessage.status == OutboxStatus.FAILED)
            .group_by(OutboxMessage.purpose)):
        result.outbox_failed[kind] = count
    is_open = col(Review.status).in_(list(OPEN_REVIEW))
    result.reviews_due = session.exec(select(func.count()).where(is_open, Review.due_at <= now)).one()
    result.reviews_overdue = session.exec(
        select(func.count()).where(is_open, Review.due_at <= now - OVERDUE_AFTER)).one()
    window = (Review.due_at > now - COMPLIANCE_WINDOW, Review.due_at <= now - ON_TIME_GRACE)
    fell_due = session.exec(select(func.count()).where(*window, Review.status != ReviewStatus.SKIPPED)).one()
    on_time = 0
    if fell_due:
        # Compared here: adding an interval to a column is written differently on every database.
        completed = session.exec(select(Review.due_at, Review.completed_at)
                                 .where(*window, Review.status == ReviewStatus.COMPLETED))
        grace = ON_TIME_GRACE.total_seconds()
        on_time = sum(1 for due_at, done in completed if done is not None and _age(done, due_at) <= grace)
    result.reviews_on_time_ratio = on_time / fell_due if fell_due else 1.0
    for sev, acked, count, oldest in session.exec(
            select(Incident.severity, col(Incident.acknowledged_at).is_not(None), func.count(),
                   func.min(Incident.declared_at))
            .where(Incident.status != IncidentStatus.RESOLVED)
            .group_by(Incident.severity, col(Incident.acknowledged_at).is_not(None))):
        result.incidents_open[(sev, bool(acked))] = result.incidents_open.get((sev, bool(acked)), 0) + count
        if not acked:
            result.oldest_unacknowledged[sev] = max(result.oldest_unacknowledged.get(sev, 0.0), _age(now, oldest))
    return result


def incident_severity(*, session: Session, incident_id: int | None) -> str | None:
    """The severity of an incident (for the pages-sent series), None when there is none."""
    if incident_id is None:
        return None
    return session.exec(select(Incident.severity).where(Incident.id == incident_id)).first()
