"""Slack requests already handled, remembered for their replay window (the replay guard's table)."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, delete, update

from storage.models import RequestReplay

_TABLE = RequestReplay.__table__


@cache
def _claim_statement(dialect: str):
    """INSERT ... ON CONFLICT DO NOTHING RETURNING, built once per dialect: every request runs it."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return (insert(_TABLE)
            .values(team_id=bindparam("team_id"), key=bindparam("key"), seen_at=bindparam("now"),
                    expires_at=bindparam("expires_at"))
            .on_conflict_do_nothing(index_elements=["team_id", "key"]).returning(_TABLE.c.team_id))


_FINISH = (update(_TABLE).where(_TABLE.c.team_id == bindparam("match_team"), _TABLE.c.key == bindparam("match_key"))
           .values(done_at=bindparam("done_at"), answer=bindparam("answer")))


def claim(*, session: Session, team_id: str, key: str, now: datetime, keep: timedelta) -> RequestReplay | None:
    """Claim a request for this process; None if it is new (go on), else the earlier claim (a replay).

    The primary key makes the claim atomic across replicas: of two deliveries, one inserts, the other sees it.
    The statements are built once (Core, not the ORM): every Slack request runs this and `finish`.
    """
    connection = session.connection()
    inserted = connection.execute(_claim_statement(connection.dialect.name),
                                  {"team_id": team_id, "key": key, "now": now, "expires_at": now + keep}).scalar()
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
    session.connection().execute(_FINISH, {"match_team": team_id, "match_key": key, "done_at": now,
                                           "answer": answer})


def purge_expired(*, session: Session, now: datetime) -> int:
    """Forget claims whose window is over; returns how many."""
    return session.exec(delete(RequestReplay).where(col(RequestReplay.expires_at) < now)).rowcount
