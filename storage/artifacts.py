"""Queries for the pilot's artifacts (issue 17)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from states import Stage
from storage.models import Initiative, PilotArtifact


def add(*, session: Session, team_id: str, initiative_id: int, kind: str, content: str, by: str,
        at: datetime) -> PilotArtifact:
    row = PilotArtifact(team_id=team_id, initiative_id=initiative_id, kind=kind, content=content, set_by=by,
                        set_at=at)
    session.add(row)
    session.flush()
    return row


def latest(*, session: Session, initiative_id: int) -> dict[str, PilotArtifact]:
    """Each kind's latest artifact (a later one replaces an earlier one; both stay in history)."""
    statement = (select(PilotArtifact).where(PilotArtifact.initiative_id == initiative_id)
                 .order_by(col(PilotArtifact.set_at), col(PilotArtifact.id)))
    return {row.kind: row for row in session.exec(statement)}


def handoffs_entered_before(*, session: Session, moment: datetime) -> list[Initiative]:
    """Initiatives in handoff since before `moment` (the sweep asks them for their missing artifacts)."""
    statement = (select(Initiative).where(col(Initiative.stage) == Stage.HANDOFF,
                                          col(Initiative.stage_entered_at) <= moment)
                 .order_by(col(Initiative.id)))
    return list(session.exec(statement))
