"""Keyword-only data access for initiatives and role assignments, always scoped to one workspace."""

from __future__ import annotations

from datetime import datetime
from functools import cache

from sqlalchemy import and_, bindparam, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select

from storage.models import Initiative, RoleAssignment, RoleCover


def get_initiative(*, session: Session, team_id: str, key: str) -> Initiative | None:
    return session.exec(_initiative_by_key(), params={"team_id": team_id, "key": key}).first()


# Nearly every command reads the initiative and who acts in its roles: those two statements are built once
# (building one costs about as much as running it on SQLite).
@cache
def _initiative_by_key() -> Select:
    return select(Initiative).where(Initiative.team_id == bindparam("team_id"), Initiative.key == bindparam("key"))


class Duplicate(Exception):
    """A row with the same unique key exists: another writer got there first."""


def initiative_by_id(*, session: Session, initiative_id: int) -> Initiative | None:
    return session.get(Initiative, initiative_id)


def initiatives_by_key(*, session: Session, key: str, team_id: str | None = None) -> list[Initiative]:
    """Every workspace's initiative with this key (the command line may not know the workspace)."""
    statement = select(Initiative).where(Initiative.key == key)
    if team_id:
        statement = statement.where(Initiative.team_id == team_id)
    return list(session.exec(statement))


def add_initiative(*, session: Session, initiative: Initiative) -> Initiative:
    """Insert an initiative; Duplicate when its key is taken in the workspace."""
    return _insert(session, initiative, f"initiative {initiative.key}")


def active_initiatives(*, session: Session) -> list[Initiative]:
    """Every workspace's initiatives that are not archived."""
    return list(session.exec(select(Initiative).where(col(Initiative.archived).is_(False))))


def initiatives_of(*, session: Session, team_id: str, ids: list[int] | None = None,
                   limit: int | None = None) -> list[Initiative]:
    """A workspace's initiatives that are not archived, by key; only `ids` when given."""
    statement = select(Initiative).where(Initiative.team_id == team_id, col(Initiative.archived).is_(False))
    if ids is not None:
        statement = statement.where(col(Initiative.id).in_(ids or [-1]))
    return list(session.exec(statement.order_by(Initiative.key).limit(limit)))


def list_initiatives(*, session: Session, team_id: str, include_archived: bool = False) -> list[Initiative]:
    statement = select(Initiative).where(Initiative.team_id == team_id)
    if not include_archived:
        statement = statement.where(col(Initiative.archived).is_(False))
    return list(session.exec(statement.order_by(Initiative.key)))


def _held(where) -> Select:
    """Active assignments with the person covering each (None when not covered): where cover takes effect."""
    return (
        select(RoleAssignment, RoleCover.cover_id)
        .outerjoin(RoleCover, and_(RoleCover.initiative_id == RoleAssignment.initiative_id,
                                   RoleCover.role == RoleAssignment.role,
                                   RoleCover.holder_id == RoleAssignment.user_id,
                                   col(RoleCover.ended_at).is_(None)))
        .where(col(RoleAssignment.ended_at).is_(None), where)
    )


@cache
def _held_in_initiative() -> Select:
    return _held(RoleAssignment.initiative_id == bindparam("initiative_id"))


def active_roles(*, session: Session, initiative_id: int) -> dict[str, str]:
    """Return role -> Slack user id of whoever acts in each role now: the holder, or the person covering them.

    Every prompt, reminder, page and permission check reads holders here, so a cover takes effect everywhere.
    `assigned_roles` gives the holders themselves.
    """
    rows = session.exec(_held_in_initiative(), params={"initiative_id": initiative_id})
    return {row.role: cover or row.user_id for row, cover in rows}


def assigned_roles(*, session: Session, initiative_id: int) -> dict[str, str]:
    """Return role -> Slack user id of the holders themselves, covered or not."""
    statement = select(RoleAssignment).where(
        RoleAssignment.initiative_id == initiative_id, col(RoleAssignment.ended_at).is_(None)
    )
    return {row.role: row.user_id for row in session.exec(statement)}


def active_roles_for_many(*, session: Session, initiative_ids: list[int]) -> dict[int, dict[str, str]]:
    """`active_roles` of several initiatives at once."""
    if not initiative_ids:
        return {}
    result: dict[int, dict[str, str]] = {i: {} for i in initiative_ids}
    for row, cover in session.exec(_held(col(RoleAssignment.initiative_id).in_(initiative_ids))):
        result[row.initiative_id][row.role] = cover or row.user_id
    return result


def roles_held_by(*, session: Session, team_id: str, user_id: str) -> list[RoleAssignment]:
    """The roles a person acts in now, on any initiative of the workspace: held and not covered, or covered by them."""
    rows = session.exec(_held(and_(RoleAssignment.team_id == team_id,
                                   or_(and_(RoleAssignment.user_id == user_id, col(RoleCover.id).is_(None)),
                                       RoleCover.cover_id == user_id))))
    return [row for row, _cover in rows]


def active_assignment(*, session: Session, initiative_id: int, role: str) -> RoleAssignment | None:
    statement = select(RoleAssignment).where(
        RoleAssignment.initiative_id == initiative_id,
        RoleAssignment.role == role,
        col(RoleAssignment.ended_at).is_(None),
    )
    return session.exec(statement).first()


def add_assignment(*, session: Session, team_id: str, initiative_id: int, role: str, user_id: str,
                   assigned_by: str, at: datetime) -> RoleAssignment:
    """Give a role to a person; Duplicate when someone else was given it at the same moment."""
    assignment = RoleAssignment(team_id=team_id, initiative_id=initiative_id, role=role, user_id=user_id,
                                assigned_by=assigned_by, assigned_at=at)
    return _insert(session, assignment, f"role {role} of initiative {initiative_id}")


def end_assignment(*, session: Session, assignment: RoleAssignment, ended_by: str, at: datetime) -> None:
    assignment.ended_at = at
    assignment.ended_by = ended_by
    session.add(assignment)
    session.flush()


def _insert(session: Session, row, what: str):
    """Insert a row now; Duplicate (naming `what`) when a unique constraint refuses it."""
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Duplicate(what) from exc
    return row
