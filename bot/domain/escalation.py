"""The escalation matrix and the incident state machine (SPEC section 4), as data and pure functions.

`plan(incident, holders, now)` says what must happen at a moment: page these levels (with who is
vacant), or ask for a status update. The flow carries the effects out; nothing here reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from bot.domain.vocabulary import Role
from states import IncidentStatus


class Severity(StrEnum):
    SEV1 = "sev1"
    SEV2 = "sev2"
    SEV3 = "sev3"
    SEV4 = "sev4"


class IncidentKind(StrEnum):
    PERFORMANCE = "performance"
    INFRASTRUCTURE = "infrastructure"


class IncidentEvent(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"


TRANSITIONS: dict[tuple[IncidentStatus, IncidentEvent], IncidentStatus] = {
    (IncidentStatus.OPEN, IncidentEvent.ACKNOWLEDGE): IncidentStatus.ACKNOWLEDGED,
    (IncidentStatus.OPEN, IncidentEvent.RESOLVE): IncidentStatus.RESOLVED,
    (IncidentStatus.ACKNOWLEDGED, IncidentEvent.RESOLVE): IncidentStatus.RESOLVED,
}


class InvalidTransition(ValueError):
    pass


def transition(status: IncidentStatus, event: IncidentEvent) -> IncidentStatus:
    """The status after an event, or InvalidTransition (acknowledging twice, resolving a resolved incident)."""
    try:
        return TRANSITIONS[(status, event)]
    except KeyError:
        raise InvalidTransition(f"cannot {event.value} an incident that is {status.value}") from None


@dataclass(frozen=True)
class Level:
    number: int
    after_minutes: int
    roles: tuple[Role, ...]


Matrix = dict[Severity, tuple[Level, ...]]

ML, DE, PM, BO, SP = (Role.MLOPS_ENGINEER, Role.DATA_ENGINEER, Role.PRODUCT_MANAGER, Role.BUSINESS_OWNER,
                      Role.EXECUTIVE_SPONSOR)

DEFAULT_MATRIX: Matrix = {
    Severity.SEV1: (Level(1, 0, (ML,)), Level(2, 15, (DE, PM)), Level(3, 30, (BO,)), Level(4, 60, (SP,))),
    Severity.SEV2: (Level(1, 0, (ML,)), Level(2, 30, (PM,)), Level(3, 120, (BO,))),
    Severity.SEV3: (Level(1, 0, (ML,)), Level(2, 240, (PM,))),
    Severity.SEV4: (Level(1, 0, (ML,)),),
}

@dataclass(frozen=True)
class EscalationPolicy:
    """The matrix in force: the organization's default, and overrides for named initiatives."""

    default: Matrix = field(default_factory=lambda: dict(DEFAULT_MATRIX))
    per_initiative: dict[str, Matrix] = field(default_factory=dict)

    def matrix_for(self, key: str) -> Matrix:
        return {**self.default, **self.per_initiative.get(key, {})}


# An acknowledged sev1/sev2 that stays unresolved asks for a status update this often.
STATUS_UPDATE_MINUTES = {Severity.SEV1: 30, Severity.SEV2: 120}
# With no level 2 in the matrix, an infrastructure incident's MLOps engineer is paged this much later.
INFRASTRUCTURE_FALLBACK_MINUTES = 60


def levels_for(matrix: Matrix, severity: Severity, kind: IncidentKind) -> tuple[Level, ...]:
    """The ladder an incident climbs: infrastructure incidents page the IT owner first, MLOps at level 2."""
    levels = matrix[severity]
    if kind is not IncidentKind.INFRASTRUCTURE:
        return levels
    first, rest = levels[0], list(levels[1:])
    moved = tuple(r for r in first.roles if r is not Role.IT_OWNER)
    if rest:
        second = rest[0]
        rest[0] = Level(2, second.after_minutes, moved + tuple(r for r in second.roles if r not in moved))
    elif moved:
        rest = [Level(2, INFRASTRUCTURE_FALLBACK_MINUTES, moved)]
    return (Level(1, first.after_minutes, (Role.IT_OWNER,)), *rest)


@dataclass(frozen=True)
class IncidentState:
    """What the rules need to know of an incident."""

    severity: Severity
    status: IncidentStatus
    declared_at: datetime
    levels: tuple[Level, ...]
    level_reached: int = 0  # the highest level already paged
    acknowledged_at: datetime | None = None
    status_requests: int = 0  # status updates already asked for since the acknowledgement


@dataclass(frozen=True)
class PageLevel:
    level: Level
    holders: tuple[tuple[Role, str], ...]  # the roles paged, with who holds them
    vacant: tuple[Role, ...]  # the level's roles nobody holds
    early: bool = False  # paged before its time: the level before was vacant, or someone escalated by hand


@dataclass(frozen=True)
class RequestStatusUpdate:
    number: int


Effect = PageLevel | RequestStatusUpdate


@dataclass(frozen=True)
class Plan:
    effects: tuple[Effect, ...]
    level_reached: int
    status_requests: int
    next_at: datetime | None  # when the rules next have something to do


def level_due_at(state: IncidentState, level: Level) -> datetime:
    return state.declared_at + timedelta(minutes=level.after_minutes)


def plan(state: IncidentState, holders: dict[str, str], now: datetime, *, force_next: bool = False) -> Plan:
    """What must happen for an incident at `now`.

    Levels whose time has come are paged in order; a level nobody holds is announced as vacant and
    the next level is paged at once. `force_next` pages the next level now (the Escalate button).
    """
    effects: list[Effect] = []
    reached = state.level_reached
    requests = state.status_requests
    if state.status is IncidentStatus.OPEN:
        cascade = force_next
        for level in state.levels:
            if level.number <= reached:
                continue
            due = level_due_at(state, level) <= now
            if not (due or cascade):
                break
            paged = tuple((role, holders[role]) for role in level.roles if role in holders)
            vacant = tuple(role for role in level.roles if role not in holders)
            effects.append(PageLevel(level, paged, vacant, early=not due))
            reached = level.number
            cascade = not paged  # nobody to page here: go on to the next level at once
            force_next = False
    elif state.status is IncidentStatus.ACKNOWLEDGED and state.severity in STATUS_UPDATE_MINUTES:
        every = timedelta(minutes=STATUS_UPDATE_MINUTES[state.severity])
        owed = int((now - state.acknowledged_at) / every)
        if owed > requests:
            # After downtime, one request stands for all the missed ones.
            effects.append(RequestStatusUpdate(owed))
            requests = owed
    return Plan(tuple(effects), reached, requests,
                next_action_at(state, reached, requests))


def next_action_at(state: IncidentState, level_reached: int, status_requests: int) -> datetime | None:
    if state.status is IncidentStatus.OPEN:
        upcoming = [level_due_at(state, level) for level in state.levels if level.number > level_reached]
        return min(upcoming, default=None)
    if state.status is IncidentStatus.ACKNOWLEDGED and state.severity in STATUS_UPDATE_MINUTES:
        every = timedelta(minutes=STATUS_UPDATE_MINUTES[state.severity])
        return state.acknowledged_at + every * (status_requests + 1)
    return None


def median(values: list[timedelta]) -> timedelta | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def matrix_to_data(levels: tuple[Level, ...]) -> list[dict]:
    """The frozen ladder as JSON-able data, stored on the incident at declaration."""
    return [{"level": lv.number, "after_minutes": lv.after_minutes, "roles": [r.value for r in lv.roles]}
            for lv in levels]


def matrix_from_data(data: list[dict]) -> tuple[Level, ...]:
    return tuple(Level(item["level"], item["after_minutes"], tuple(Role(r) for r in item["roles"])) for item in data)
