"""Rollout steps, the fallback process and the launch communication tasks of an initiative."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from states import Stage
from storage.models import CommsTask, FallbackProcess, Initiative, RolloutStep
from storage.repository import _insert


def add_step(*, session: Session, step: RolloutStep) -> RolloutStep:
    session.add(step)
    session.flush()
    return step


def share_in_force(*, session: Session, initiative_id: int) -> RolloutStep | None:
    """The latest step applied (the share the system serves now), or None."""
    return session.exec(select(RolloutStep).where(RolloutStep.initiative_id == initiative_id,
                                                  col(RolloutStep.applied_at).is_not(None))
                        .order_by(col(RolloutStep.applied_at).desc(), col(RolloutStep.id).desc())).first()


def pending(*, session: Session, initiative_id: int) -> list[RolloutStep]:
    """Steps waiting for the business owner's sign-off, oldest first."""
    return list(session.exec(select(RolloutStep).where(
        RolloutStep.initiative_id == initiative_id, col(RolloutStep.applied_at).is_(None),
        col(RolloutStep.withdrawn_at).is_(None)).order_by(RolloutStep.id)))


def withdraw_pending(*, session: Session, initiative_id: int, at: datetime) -> int:
    result = session.exec(update(RolloutStep).where(
        col(RolloutStep.initiative_id) == initiative_id, col(RolloutStep.applied_at).is_(None),
        col(RolloutStep.withdrawn_at).is_(None)).values(withdrawn_at=at))
    return result.rowcount


def apply(*, session: Session, step: RolloutStep, at: datetime, signoff_id: int | None) -> bool:
    """Put a waiting step in force once (False when it was applied or withdrawn meanwhile)."""
    result = session.exec(update(RolloutStep).where(
        col(RolloutStep.id) == step.id, col(RolloutStep.applied_at).is_(None),
        col(RolloutStep.withdrawn_at).is_(None)).values(applied_at=at, signoff_id=signoff_id))
    if result.rowcount != 1:
        return False
    session.refresh(step)
    return True


def signoff_used(*, session: Session, signoff_id: int) -> bool:
    """Whether a sign-off already put a step in force (one approval serves one step)."""
    return session.exec(select(RolloutStep.id).where(RolloutStep.signoff_id == signoff_id)).first() is not None


def history(*, session: Session, initiative_id: int, limit: int = 20) -> list[RolloutStep]:
    return list(session.exec(select(RolloutStep).where(RolloutStep.initiative_id == initiative_id)
                             .order_by(col(RolloutStep.id).desc()).limit(limit)))


def add_fallback(*, session: Session, row: FallbackProcess) -> FallbackProcess:
    session.add(row)
    session.flush()
    return row


def fallback(*, session: Session, initiative_id: int) -> FallbackProcess | None:
    return session.exec(select(FallbackProcess).where(FallbackProcess.initiative_id == initiative_id)
                        .order_by(col(FallbackProcess.recorded_at).desc(), col(FallbackProcess.id).desc())).first()


def tasks(*, session: Session, initiative_id: int) -> dict[str, CommsTask]:
    rows = session.exec(select(CommsTask).where(CommsTask.initiative_id == initiative_id))
    return {row.task: row for row in rows}


def task(*, session: Session, initiative_id: int, name: str) -> CommsTask | None:
    return session.exec(select(CommsTask).where(CommsTask.initiative_id == initiative_id,
                                                CommsTask.task == name)).first()


def add_task(*, session: Session, row: CommsTask) -> CommsTask:
    """Insert a task row; Duplicate when another request or sweep inserted it at the same moment."""
    return _insert(session, row, f"communication task {row.task} of initiative {row.initiative_id}")


def claim_prompt(*, session: Session, row: CommsTask, at: datetime) -> bool:
    """Mark a task prompted once (False: another sweep prompted it)."""
    result = session.exec(update(CommsTask).where(col(CommsTask.id) == row.id, col(CommsTask.prompted_at).is_(None))
                          .values(prompted_at=at))
    return result.rowcount == 1


def claim_close(*, session: Session, row: CommsTask, at: datetime) -> bool:
    """Close the support channel once (False: another sweep closed it)."""
    result = session.exec(update(CommsTask).where(col(CommsTask.id) == row.id, col(CommsTask.closed_at).is_(None))
                          .values(closed_at=at))
    if result.rowcount != 1:
        return False
    session.refresh(row)
    return True


def launched_since(*, session: Session, since: date, limit: int = 500) -> list[Initiative]:
    """Initiatives in launch or operations that launched on or after `since`: the plan's sweep looks at them."""
    return list(session.exec(select(Initiative).where(
        col(Initiative.launch_date).is_not(None), col(Initiative.launch_date) >= since,
        col(Initiative.stage).in_([Stage.LAUNCH, Stage.OPERATIONS]), Initiative.archived == False)  # noqa: E712
        .order_by(Initiative.id).limit(limit)))
