"""Queries over reviews: what falls due, what is open, and the fenced updates that claim work."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from states import OPEN_REVIEW, ReviewStatus
from storage.models import Incident, Initiative, Review


def add(*, session: Session, initiative: Initiative, kind: str, due_at: datetime, number: int,
        status: ReviewStatus, at: datetime, notes: str | None = None) -> Review:
    """Insert one occurrence of a cadence rule as a review."""
    review = Review(team_id=initiative.team_id, initiative_id=initiative.id, kind=kind, due_at=due_at,
                    status=status, notes=notes, created_at=at, number=number)
    session.add(review)
    session.flush()
    return review


def by_id(*, session: Session, review_id: int | None) -> Review | None:
    return session.get(Review, review_id) if review_id is not None else None


def initiatives_due(*, session: Session, now: datetime, limit: int = 500) -> list[Initiative]:
    statement = (
        select(Initiative)
        .where(col(Initiative.cadence_next_at) <= now, col(Initiative.archived).is_(False))
        .order_by(Initiative.cadence_next_at)
        .limit(limit)
    )
    return list(session.exec(statement))


def claim_initiative_cadence(*, session: Session, initiative: Initiative, new_next_at: datetime | None) -> bool:
    """Move an initiative's next due time on, if no other sweep has; True when this sweep owns the work."""
    result = session.exec(
        update(Initiative)
        .where(col(Initiative.id) == initiative.id, col(Initiative.cadence_next_at) == initiative.cadence_next_at)
        .values(cadence_next_at=new_next_at)
    )
    return result.rowcount == 1


def last_due_by_kind(*, session: Session, initiative_id: int) -> dict[str, datetime]:
    statement = (
        select(Review.kind, func.max(Review.due_at)).where(Review.initiative_id == initiative_id).group_by(Review.kind)
    )
    return {kind: due for kind, due in session.exec(statement)}


def open_reviews(*, session: Session, initiative_id: int, kind: str | None = None) -> list[Review]:
    statement = select(Review).where(Review.initiative_id == initiative_id, col(Review.status).in_(OPEN_REVIEW))
    if kind is not None:
        statement = statement.where(Review.kind == kind)
    return list(session.exec(statement.order_by(Review.due_at)))


def open_for_initiatives(*, session: Session, initiative_ids: list[int]) -> list[Review]:
    """The open reviews of several initiatives, the earliest due first."""
    if not initiative_ids:
        return []
    statement = select(Review).where(col(Review.initiative_id).in_(initiative_ids),
                                     col(Review.status).in_(OPEN_REVIEW))
    return list(session.exec(statement.order_by(Review.due_at)))


def open_reviews_of_team(*, session: Session, team_id: str, initiative_id: int | None = None,
                         limit: int = 40) -> list[Review]:
    statement = select(Review).where(Review.team_id == team_id, col(Review.status).in_(OPEN_REVIEW))
    if initiative_id is not None:
        statement = statement.where(Review.initiative_id == initiative_id)
    return list(session.exec(statement.order_by(Review.due_at).limit(limit)))


def reminders_due(*, session: Session, now: datetime, limit: int = 500) -> list[Review]:
    statement = (
        select(Review).where(col(Review.next_reminder_at) <= now).order_by(Review.next_reminder_at).limit(limit)
    )
    return list(session.exec(statement))


def claim_reminder(*, session: Session, review: Review, sent: int, next_at: datetime | None) -> bool:
    """Record that reminder `sent` goes out, if no other sweep recorded it first."""
    result = session.exec(
        update(Review)
        .where(col(Review.id) == review.id, col(Review.reminders_sent) == review.reminders_sent,
               col(Review.status).in_(OPEN_REVIEW))
        .values(reminders_sent=sent, next_reminder_at=next_at)
    )
    return result.rowcount == 1


def close_review(*, session: Session, review: Review, status: ReviewStatus, by: str | None, at: datetime,
                 notes: str | None) -> bool:
    """Complete or skip an open review; False when it was closed already (a double click, a race)."""
    result = session.exec(
        update(Review)
        .where(col(Review.id) == review.id, col(Review.status).in_(OPEN_REVIEW))
        .values(status=status, completed_by=by, completed_at=at, notes=notes, next_reminder_at=None)
    )
    return result.rowcount == 1


def mark_posted(*, session: Session, review: Review, ts: str, channel_id: str, at: datetime) -> None:
    """Remember where a review's prompt is in Slack; a scheduled review is now posted."""
    if review.message_ts is not None:
        return
    review.message_ts, review.channel_id, review.posted_at = ts, channel_id, at
    if review.status is ReviewStatus.SCHEDULED:
        review.status = ReviewStatus.POSTED
    session.add(review)


def by_number(*, session: Session, team_id: str, number: int) -> Review | None:
    return session.exec(select(Review).where(Review.team_id == team_id, Review.number == number)).first()


def overdue_work(*, session: Session, before: datetime) -> str | None:
    """Name a cadence item that a sweep should have handled before `before`, if any."""
    initiative = session.exec(
        select(Initiative).where(col(Initiative.cadence_next_at) < before, col(Initiative.archived).is_(False))
        .limit(1)
    ).first()
    if initiative is not None:
        return f"initiative {initiative.key} has a review due since {initiative.cadence_next_at.isoformat()}"
    review = session.exec(select(Review).where(col(Review.next_reminder_at) < before).limit(1)).first()
    if review is not None:
        return f"review R{review.number} has a reminder due since {review.next_reminder_at.isoformat()}"
    incident = session.exec(select(Incident).where(col(Incident.next_escalation_at) < before).limit(1)).first()
    if incident is not None:
        return f"incident INC{incident.number} has an escalation due since {incident.next_escalation_at.isoformat()}"
    return None
