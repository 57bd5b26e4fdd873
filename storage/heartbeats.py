"""The heartbeat rows /healthz rewrites to prove the database still takes writes."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select, update

from storage.inserts import insert_ignoring_duplicates
from storage.models import Heartbeat


def beat(*, session: Session, name: str, now: datetime) -> None:
    """Write this replica's heartbeat: an insert the first time, an update after."""
    if insert_ignoring_duplicates(session=session, model=Heartbeat, values={"name": name, "beat_at": now},
                                  conflict=["name"]) is None:
        session.exec(update(Heartbeat).where(col(Heartbeat.name) == name).values(beat_at=now))


def last_beat(*, session: Session, name: str) -> datetime | None:
    return session.exec(select(Heartbeat.beat_at).where(Heartbeat.name == name)).first()
