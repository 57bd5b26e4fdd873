"""The time the bot acts at: real UTC time, moved on only by the sandbox's clock control."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_offset = timedelta(0)


def now() -> datetime:
    return datetime.now(UTC) + _offset


def advance(delta: timedelta) -> datetime:
    """Move this process's clock forward (the sandbox only); returns the new time."""
    global _offset
    _offset += delta
    return now()
