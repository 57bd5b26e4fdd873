"""Insert a row unless one with the same unique key exists: the one idempotent insert of every dialect."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, SQLModel


def insert_ignoring_duplicates(*, session: Session, model: type[SQLModel], values: dict[str, Any],
                               conflict: list[str] | None = None) -> Any | None:
    """Insert `values` into `model`'s table; return the new row's primary key, or None if a duplicate was there.

    `conflict` names the unique columns to test (None: any unique constraint).
    """
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    key = next(iter(model.__table__.primary_key.columns))
    statement = insert(model).values(**values).on_conflict_do_nothing(index_elements=conflict).returning(key)
    # RETURNING, not rowcount: an ORM insert reports rowcount -1 on PostgreSQL.
    return session.exec(statement).scalar()
