"""Column types: every stored time in UTC whatever the database, and states as their enums."""

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import DateTime, String
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime; SQLite stores it naive, PostgreSQL as timestamptz."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class EnumText(TypeDecorator):
    """A StrEnum stored as its text value: rows come back as the enum, never as a loose string."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[StrEnum], length: int = 20):
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return self.enum(value).value  # refuses a value the enum does not know

    def process_result_value(self, value, dialect):
        return None if value is None else self.enum(value)
