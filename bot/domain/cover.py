"""Cover for an absent role holder: who may arrange it, for how long, and who a covering person counts as.

While a cover runs, whoever covers acts in the role (prompts, reminders, pages, the right to complete
and sign: `storage.repository.active_roles` gives them as the role's holder). Cover is no way around
separation of duties: the person covering counts as the holder they cover, so one person never gives
two approvals that must come from two people, whether they cover or not.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.domain.vocabulary import Role

MAX_COVER_DAYS = 366  # a longer absence is a reassignment, not a cover


class CoverRefusal(StrEnum):
    NOT_ALLOWED = "not-allowed"  # neither the holder, the business owner nor an admin
    VACANT = "vacant"  # nobody holds the role: assign it instead
    SELF = "self"  # the holder cannot cover themselves
    IN_THE_PAST = "in-the-past"  # the last day covered is over already
    TOO_LONG = "too-long"
    ALREADY_COVERED = "already-covered"
    NOT_COVERED = "not-covered"  # `end` with no cover running


def ends_at(until: date, zone: str) -> datetime:
    """The moment a cover ends by itself: the start of the day after its last day, in the initiative's zone."""
    return datetime.combine(until + timedelta(days=1), time(0), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def local_today(now: datetime, zone: str) -> date:
    return now.astimezone(ZoneInfo(zone)).date()


def may_arrange(user_id: str, *, holder: str | None, owner: str | None, is_admin: bool) -> bool:
    """The holder, the business owner (the holder, not a cover) or an admin arrange and end a cover."""
    return is_admin or user_id in {holder, owner} - {None}


@dataclass(frozen=True)
class StartFacts:
    actor: str
    is_admin: bool
    role: Role
    holder: str | None  # who holds the role (never a cover)
    owner: str | None  # who holds the business owner role
    cover: str  # who is to cover
    until: date
    today: date  # in the initiative's zone
    running: str | None = None  # who covers the role now, if anyone


def check_start(facts: StartFacts) -> CoverRefusal | None:
    """Why a cover cannot start, or None."""
    if not may_arrange(facts.actor, holder=facts.holder, owner=facts.owner, is_admin=facts.is_admin):
        return CoverRefusal.NOT_ALLOWED
    if facts.holder is None:
        return CoverRefusal.VACANT
    if facts.cover == facts.holder:
        return CoverRefusal.SELF
    if facts.until < facts.today:
        return CoverRefusal.IN_THE_PAST
    if (facts.until - facts.today).days > MAX_COVER_DAYS:
        return CoverRefusal.TOO_LONG
    if facts.running is not None:
        return CoverRefusal.ALREADY_COVERED
    return None


def counts_as(user_id: str, covering: Iterable[str]) -> frozenset[str]:
    """The people a person counts as for separation of duties: themselves and every holder they cover."""
    return frozenset({user_id, *covering})


def same_person(first: Iterable[str], second: Iterable[str]) -> bool:
    """Whether two acts (each by the set of people its actor counts as) come from one person."""
    return bool(set(first) & set(second))
