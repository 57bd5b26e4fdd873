"""Keyword-only data access for initiatives and role assignments, always scoped to one workspace."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from storage.models import Initiative, RoleAssignment


def get_initiative(*, session: Session, team_id: str, key: str) -> Initiative | None:
    statement = select(Initiative).where(Initiative.team_id == team_id, Initiative.key == key)
    return session.exec(statement).first()


def list_initiatives(*, session: Session, team_id: str, include_archived: bool = False) -> list[Initiative]:
    statement = select(Initiative).where(Initiative.team_id == team_id)
    if not include_archived:
        statement = statement.where(col(Initiative.archived).is_(False))
    return list(session.exec(statement.order_by(Initiative.key)))


def active_roles(*, session: Session, initiative_id: int) -> dict[str, str]:
    """Return role -> Slack user id for the roles currently held on an initiative."""
    statement = select(RoleAssignment).where(
        RoleAssignment.initiative_id == initiative_id, col(RoleAssignment.ended_at).is_(None)
    )
    return {row.role: row.user_id for row in session.exec(statement)}


def active_roles_for_many(*, session: Session, initiative_ids: list[int]) -> dict[int, dict[str, str]]:
    if not initiative_ids:
        return {}
    statement = select(RoleAssignment).where(
        col(RoleAssignment.initiative_id).in_(initiative_ids), col(RoleAssignment.ended_at).is_(None)
    )
    result: dict[int, dict[str, str]] = {i: {} for i in initiative_ids}
    for row in session.exec(statement):
        result[row.initiative_id][row.role] = row.user_id
    return result


def active_assignment(*, session: Session, initiative_id: int, role: str) -> RoleAssignment | None:
    statement = select(RoleAssignment).where(
        RoleAssignment.initiative_id == initiative_id,
        RoleAssignment.role == role,
        col(RoleAssignment.ended_at).is_(None),
    )
    return session.exec(statement).first()


def end_assignment(*, session: Session, assignment: RoleAssignment, ended_by: str, at: datetime) -> None:
    assignment.ended_at = at
    assignment.ended_by = ended_by
    session.add(assignment)
    session.flush()
