"""Covers for an absent role holder: started, ended early, ended by themselves at their date; never deleted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, or_, select

from storage.models import RoleCover
from storage.repository import _insert


def add(*, session: Session, cover: RoleCover) -> RoleCover:
    """Start a cover; Duplicate when the role got another cover at the same moment."""
    return _insert(session, cover, f"cover of role {cover.role} of initiative {cover.initiative_id}")


def active(*, session: Session, initiative_id: int, role: str) -> RoleCover | None:
    return session.exec(select(RoleCover).where(RoleCover.initiative_id == initiative_id, RoleCover.role == role,
                                                col(RoleCover.ended_at).is_(None))).first()


def active_for(*, session: Session, initiative_id: int) -> dict[str, RoleCover]:
    """role -> the running cover, for the roles of an initiative that are covered."""
    rows = session.exec(select(RoleCover).where(RoleCover.initiative_id == initiative_id,
                                                col(RoleCover.ended_at).is_(None)))
    return {row.role: row for row in rows}


def due(*, session: Session, now: datetime, limit: int = 500) -> list[RoleCover]:
    """Running covers whose last day is over: the sweep ends them."""
    return list(session.exec(select(RoleCover).where(col(RoleCover.ended_at).is_(None), col(RoleCover.ends_at) <= now)
                             .order_by(RoleCover.ends_at, RoleCover.id).limit(limit)))


def end(*, session: Session, cover: RoleCover, by: str, at: datetime, reason: str) -> bool:
    """End a running cover once (False when it had ended already: another sweep or a click got there first)."""
    result = session.exec(update(RoleCover).where(col(RoleCover.id) == cover.id, col(RoleCover.ended_at).is_(None))
                          .values(ended_at=at, ended_by=by, end_reason=reason))
    if result.rowcount != 1:
        return False
    session.refresh(cover)
    return True


def running_for_person(*, session: Session, team_id: str, user_id: str) -> list[RoleCover]:
    """The covers a person holds (covering someone) or has given (being covered), running now."""
    return list(session.exec(select(RoleCover).where(
        RoleCover.team_id == team_id, col(RoleCover.ended_at).is_(None),
        or_(RoleCover.cover_id == user_id, RoleCover.holder_id == user_id)).order_by(RoleCover.ends_at)))


def history(*, session: Session, initiative_id: int, limit: int = 20) -> list[RoleCover]:
    """An initiative's covers, latest first."""
    return list(session.exec(select(RoleCover).where(RoleCover.initiative_id == initiative_id)
                             .order_by(col(RoleCover.starts_at).desc(), col(RoleCover.id).desc()).limit(limit)))
