"""The latest sweep's outcome, one row per step: what /healthz shows from any replica."""

from __future__ import annotations

import json
from datetime import datetime

from sqlmodel import Session, col, func, select

from storage.inserts import insert_ignoring_duplicates
from storage.models import SweepStep

KEPT_FAILURES = 20  # per step: enough to find the bad rows, small enough to read


def record_step(*, session: Session, name: str, ran_at: datetime, failures: list[tuple[str, str]]) -> None:
    """Replace what is known of a step's latest run: its moment and its failed rows as (row, error)."""
    detail = json.dumps([{"row": row, "error": error} for row, error in failures[:KEPT_FAILURES]])
    values = {"ran_at": ran_at, "failed": len(failures), "failures": detail}
    if insert_ignoring_duplicates(session=session, model=SweepStep, values={"name": name, **values},
                                  conflict=["name"]) is None:
        step = session.get(SweepStep, name)
        for field, value in values.items():
            setattr(step, field, value)
        session.add(step)


def failing_steps(*, session: Session) -> list[SweepStep]:
    """The steps whose latest run failed on some row, by name."""
    return list(session.exec(select(SweepStep).where(col(SweepStep.failed) > 0).order_by(SweepStep.name)))


def last_ran_at(*, session: Session) -> datetime | None:
    """When a sweep last ran, on any replica."""
    return session.exec(select(func.max(SweepStep.ran_at))).one()
