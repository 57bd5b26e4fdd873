"""Queries over reviews: what falls due, what is open, and the fenced updates that claim work."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from states import OPEN_REVIEW, ReviewStatus
from storage.models import BusinessValue, Incident, Initiative, Review, ReviewAnswers


def add(*, session: Session, initiative: Initiative, kind: str, due_at: datetime, number: int,
        status: ReviewStatus, at: datetime, notes: str | None = None, before_steward: bool = False) -> Review:
    """Insert one occurrence of a cadence rule as a review (`before_steward`: it fell due before an import)."""
    review = Review(team_id=initiative.team_id, initiative_id=initiative.id, kind=kind, due_at=due_at,
                    status=status, notes=notes, created_at=at, number=number, before_steward=before_steward)
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
                 notes: str | None, acting_for: str | None = None) -> bool:
    """Complete or skip an open review; False when it was closed already (a double click, a race).

    `acting_for`: the vacant role a Steward admin completed it for.
    """
    result = session.exec(
        update(Review)
        .where(col(Review.id) == review.id, col(Review.status).in_(OPEN_REVIEW))
        .values(status=status, completed_by=by, completed_at=at, notes=notes, next_reminder_at=None,
                acting_for=acting_for)
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


# --- Imports, overdue reviews and compliance (issue 14) ---------------------------------------------------


def completed_counts(*, session: Session, initiative_id: int, kinds: list[str]) -> dict[str, int]:
    """How many reviews of each kind the initiative has completed (attested ones are completed)."""
    statement = (
        select(Review.kind, func.count()).where(Review.initiative_id == initiative_id, col(Review.kind).in_(kinds),
                                                col(Review.status) == ReviewStatus.COMPLETED)
        .group_by(Review.kind)
    )
    counts = dict.fromkeys(kinds, 0)
    counts.update({kind: count for kind, count in session.exec(statement)})
    return counts


def attestable(*, session: Session, initiative_id: int, kind: str | None = None) -> list[Review]:
    """The reviews closed without being completed (before Steward, missed while it was down, superseded),
    which an admin may attest as held, oldest first."""
    statement = select(Review).where(Review.initiative_id == initiative_id, col(Review.status) == ReviewStatus.SKIPPED)
    if kind is not None:
        statement = statement.where(Review.kind == kind)
    return list(session.exec(statement.order_by(Review.due_at)))


def attest(*, session: Session, review: Review, by: str, at: datetime, on, evidence: str) -> bool:
    """Record an admin's attestation that a review closed uncompleted took place; False if attested meanwhile."""
    result = session.exec(
        update(Review)
        .where(col(Review.id) == review.id, col(Review.status) == ReviewStatus.SKIPPED)
        .values(status=ReviewStatus.COMPLETED, completed_by=by, completed_at=at, notes=evidence, attested_on=on)
    )
    return result.rowcount == 1


def overdue(*, session: Session, due_before: datetime, limit: int = 500) -> list[Review]:
    """Open reviews that fell due before `due_before` and were not escalated yet, the oldest first."""
    statement = (
        select(Review).where(col(Review.status).in_(OPEN_REVIEW), col(Review.escalated_at).is_(None),
                             col(Review.due_at) <= due_before)
        .order_by(Review.due_at).limit(limit)
    )
    return list(session.exec(statement))


def claim_escalation(*, session: Session, review: Review, at: datetime) -> bool:
    """Mark an overdue review escalated, if it is still open and no other sweep did; True: this sweep tells."""
    result = session.exec(
        update(Review)
        .where(col(Review.id) == review.id, col(Review.escalated_at).is_(None), col(Review.status).in_(OPEN_REVIEW))
        .values(escalated_at=at)
    )
    return result.rowcount == 1


def due_within(*, session: Session, initiative_id: int, since: datetime, until: datetime) -> list[Review]:
    """The reviews Steward ran that fell due in [since, until] (not those before an import), oldest first."""
    statement = select(Review).where(Review.initiative_id == initiative_id, col(Review.before_steward).is_(False),
                                     col(Review.due_at) >= since, col(Review.due_at) <= until)
    return list(session.exec(statement.order_by(Review.due_at)))


def overruns_due(*, session: Session, now: datetime, limit: int = 500) -> list[Initiative]:
    """Initiatives whose stage overran the framework's timeline and were not told yet."""
    statement = (
        select(Initiative)
        .where(col(Initiative.overrun_at) <= now, col(Initiative.archived).is_(False))
        .order_by(Initiative.overrun_at).limit(limit)
    )
    return list(session.exec(statement))


def claim_overrun(*, session: Session, initiative: Initiative) -> bool:
    """Clear an initiative's overrun moment, if no other sweep did; True: this sweep posts the one notice."""
    result = session.exec(
        update(Initiative)
        .where(col(Initiative.id) == initiative.id, col(Initiative.overrun_at) == initiative.overrun_at,
               col(Initiative.stage) == initiative.stage)
        .values(overrun_at=None)
    )
    return result.rowcount == 1


# --- Answers recorded through a review's form, and the business value committed (issue 17) -----------------


def add_answers(*, session: Session, review: Review, answers_json: str, delivery: str | None, by: str,
                at: datetime) -> ReviewAnswers:
    row = ReviewAnswers(team_id=review.team_id, initiative_id=review.initiative_id, review_id=review.id,
                        kind=review.kind, answers=answers_json, delivery=delivery, recorded_by=by, recorded_at=at)
    session.add(row)
    session.flush()
    return row


def answers_of(*, session: Session, review_id: int) -> ReviewAnswers | None:
    return session.exec(select(ReviewAnswers).where(ReviewAnswers.review_id == review_id)).first()


def answers_of_many(*, session: Session, review_ids: list[int]) -> dict[int, ReviewAnswers]:
    if not review_ids:
        return {}
    rows = session.exec(select(ReviewAnswers).where(col(ReviewAnswers.review_id).in_(review_ids)))
    return {row.review_id: row for row in rows}


def previous_of_kind(*, session: Session, review: Review) -> Review | None:
    """The review of the same kind that fell due last before this one (whatever became of it), if any."""
    statement = (
        select(Review).where(Review.initiative_id == review.initiative_id, Review.kind == review.kind,
                             col(Review.due_at) < review.due_at)
        .order_by(col(Review.due_at).desc()).limit(1)
    )
    return session.exec(statement).first()


def add_business_value(*, session: Session, initiative: Initiative, commitment: str, by: str,
                       at: datetime) -> BusinessValue:
    row = BusinessValue(team_id=initiative.team_id, initiative_id=initiative.id, commitment=commitment,
                        recorded_by=by, recorded_at=at)
    session.add(row)
    session.flush()
    return row


def business_value(*, session: Session, initiative_id: int) -> BusinessValue | None:
    """The commitment in force: the latest recorded."""
    statement = (select(BusinessValue).where(BusinessValue.initiative_id == initiative_id)
                 .order_by(col(BusinessValue.recorded_at).desc(), col(BusinessValue.id).desc()).limit(1))
    return session.exec(statement).first()
