"""Slack requests already handled, remembered for their replay window (the replay guard's table)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, delete, update

from storage.inserts import insert_ignoring_duplicates
from storage.models import RequestReplay


def claim(*, session: Session, team_id: str, key: str, now: datetime, keep: timedelta) -> RequestReplay | None:
    """Claim a request for this process; None if it is new (go on), else the earlier claim (a replay).

    The primary key makes the claim atomic across replicas: of two deliveries, one inserts, the other sees it.
    """
    inserted = insert_ignoring_duplicates(session=session, model=RequestReplay, conflict=["team_id", "key"],
                                          values={"team_id": team_id, "key": key, "seen_at": now,
                                                  "expires_at": now + keep})
    if inserted is not None:
        return None
    earlier = session.get(RequestReplay, (team_id, key))
    if earlier is not None and earlier.expires_at <= now:
        # An expired claim no longer guards anything (Slack refuses such old signatures); take it over.
        taken = session.exec(update(RequestReplay)
                             .where(col(RequestReplay.team_id) == team_id, col(RequestReplay.key) == key,
                                    col(RequestReplay.expires_at) == earlier.expires_at)
                             .values(seen_at=now, expires_at=now + keep, done_at=None, answer=None))
        if taken.rowcount == 1:
            return None
        session.refresh(earlier)
    return earlier


def finish(*, session: Session, team_id: str, key: str, now: datetime, answer: str | None) -> None:
    """Mark a claimed request handled, keeping a command's answer to give a replay."""
    session.exec(update(RequestReplay)
                 .where(col(RequestReplay.team_id) == team_id, col(RequestReplay.key) == key)
                 .values(done_at=now, answer=answer))


def purge_expired(*, session: Session, now: datetime) -> int:
    """Forget claims whose window is over; returns how many."""
    return session.exec(delete(RequestReplay).where(col(RequestReplay.expires_at) < now)).rowcount
