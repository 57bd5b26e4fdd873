"""Per-workspace sequences behind the short ids people type (R12, INC3)."""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import Session, col

from storage.inserts import insert_ignoring_duplicates
from storage.models import Counter


def next_number(*, session: Session, team_id: str, name: str) -> int:
    """Take the next number of a workspace's sequence (row-locked on PostgreSQL, serial on SQLite)."""
    insert_ignoring_duplicates(session=session, model=Counter, values={"team_id": team_id, "name": name, "value": 0})
    result = session.exec(
        update(Counter)
        .where(col(Counter.team_id) == team_id, col(Counter.name) == name)
        .values(value=Counter.value + 1)
        .returning(Counter.value)
    )
    return result.scalar_one()
