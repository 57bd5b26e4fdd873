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

# Until someone acknowledges, the last level reached (and the fallback) is paged again this often, once the
# ladder has run out; None: never repeated.
DEFAULT_REPEAT_MINUTES: dict[Severity, int | None] = {Severity.SEV1: 30, Severity.SEV2: 60, Severity.SEV3: 240,
                                                      Severity.SEV4: None}


@dataclass(frozen=True)
class EscalationPolicy:
    """The matrix in force: the organization's default, and overrides for named initiatives.

    `fallback` names who is paged when the ladder runs out or every remaining level is vacant: Slack
    channel ids (C…/G…) and user ids (U…/W…); empty means the Steward admins. `repeat_minutes` is how
    often an exhausted ladder is paged again until someone acknowledges.
    """

    default: Matrix = field(default_factory=lambda: dict(DEFAULT_MATRIX))
    per_initiative: dict[str, Matrix] = field(default_factory=dict)
    fallback: tuple[str, ...] = ()
    repeat_minutes: dict[Severity, int | None] = field(default_factory=lambda: dict(DEFAULT_REPEAT_MINUTES))

    def matrix_for(self, key: str) -> Matrix:
        return {**self.default, **self.per_initiative.get(key, {})}

    def repeat_for(self, severity: Severity) -> int | None:
        return self.repeat_minutes.get(severity, DEFAULT_REPEAT_MINUTES[severity])


def fallback_targets(configured: tuple[str, ...], admins: frozenset[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(channels, people) the fallback pages: what the configuration names, else the admins."""
    targets = configured or tuple(sorted(admins))
    channels = tuple(t for t in targets if t[:1] in ("C", "G"))
    people = tuple(t for t in targets if t[:1] in ("U", "W"))
    return channels, people


SEVERITY_RANK = {Severity.SEV1: 1, Severity.SEV2: 2, Severity.SEV3: 3, Severity.SEV4: 4}


def is_raise(old: Severity, new: Severity) -> bool:
    """Whether a change makes the incident more severe (sev1 is the worst)."""
    return SEVERITY_RANK[new] < SEVERITY_RANK[old]


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


def with_parallel_operation(levels: tuple[Level, ...], stage: str) -> tuple[Level, ...]:
    """During handoff (parallel operation) the pilot team responds with the production team: the pilot lead
    is paged alongside level 1. Issue 14 point 6 (helper B); other stages keep the ladder as it is."""
    if stage != "handoff" or not levels or Role.PILOT_LEAD in levels[0].roles:
        return levels
    first = levels[0]
    return (Level(first.number, first.after_minutes, (*first.roles, Role.PILOT_LEAD)), *levels[1:])


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
    # The moment the ladder's minutes count from: the declaration, or the last severity change.
    ladder_from: datetime | None = None
    # Fallback and repeats (issue 15 point 2): when the ladder ran out, how often to page again, how many
    # repeats were paged.
    exhausted_at: datetime | None = None
    repeat_minutes: int | None = None
    repeats: int = 0
    # Issue 15 point 4 (D): a role holder's latest reply in the thread, a status update; requests count from it.
    last_update_at: datetime | None = None

    @property
    def updated_since(self) -> datetime | None:
        """Where status requests count from: the acknowledgement, or a later status update in the thread."""
        return max(filter(None, (self.acknowledged_at, self.last_update_at)), default=None)


@dataclass(frozen=True)
class PageLevel:
    level: Level
    holders: tuple[tuple[Role, str], ...]  # the roles paged, with who holds them
    vacant: tuple[Role, ...]  # the level's roles nobody holds
    early: bool = False  # paged before its time: the level before was vacant, or someone escalated by hand


@dataclass(frozen=True)
class RequestStatusUpdate:
    number: int


@dataclass(frozen=True)
class PageFallback:
    """Nobody is left unpaged: the fallback is paged, and from repeat 1 on the last level reached again.

    `number` 0: the remaining levels were vacant, so the fallback is paged at once; 1, 2, …: the ladder
    ran out and nobody acknowledged within the severity's repeat interval (`repeat_level` is paged again).
    """

    number: int
    repeat_level: Level | None


Effect = PageLevel | RequestStatusUpdate | PageFallback


@dataclass(frozen=True)
class Plan:
    effects: tuple[Effect, ...]
    level_reached: int
    status_requests: int
    next_at: datetime | None  # when the rules next have something to do
    exhausted_at: datetime | None = None
    repeats: int = 0


def level_due_at(state: IncidentState, level: Level) -> datetime:
    return (state.ladder_from or state.declared_at) + timedelta(minutes=level.after_minutes)


def last_level_with_people(levels: tuple[Level, ...], reached: int, holders: dict[str, str]) -> Level | None:
    """The highest level already reached that has somebody to page now."""
    for level in reversed(levels[:reached]):
        if any(role in holders for role in level.roles):
            return level
    return None


def plan(state: IncidentState, holders: dict[str, str], now: datetime, *, force_next: bool = False) -> Plan:
    """What must happen for an incident at `now`.

    Levels whose time has come are paged in order; a level nobody holds is announced as vacant and
    the next level is paged at once. `force_next` pages the next level now (the Escalate button).
    """
    effects: list[Effect] = []
    reached = state.level_reached
    requests = state.status_requests
    exhausted_at, repeats = state.exhausted_at, state.repeats
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
        if state.levels and reached >= len(state.levels):
            if exhausted_at is None:
                # The ladder ran out now; if it ended on vacant levels nobody was reached: the fallback, at once.
                exhausted_at = now
                if effects and not effects[-1].holders:
                    effects.append(PageFallback(0, None))
            if state.repeat_minutes:
                owed = int((now - exhausted_at) / timedelta(minutes=state.repeat_minutes))
                if owed > repeats:
                    # After downtime, one repeat stands for all the missed ones.
                    effects.append(PageFallback(owed, last_level_with_people(state.levels, reached, holders)))
                    repeats = owed
    elif state.status is IncidentStatus.ACKNOWLEDGED and state.severity in STATUS_UPDATE_MINUTES:
        every = timedelta(minutes=STATUS_UPDATE_MINUTES[state.severity])
        owed = int((now - state.updated_since) / every)
        if owed > requests:
            # After downtime, one request stands for all the missed ones.
            effects.append(RequestStatusUpdate(owed))
            requests = owed
    return Plan(tuple(effects), reached, requests,
                next_action_at(state, reached, requests, exhausted_at=exhausted_at, repeats=repeats),
                exhausted_at=exhausted_at, repeats=repeats)


def next_action_at(state: IncidentState, level_reached: int, status_requests: int, *,
                   exhausted_at: datetime | None = None, repeats: int = 0) -> datetime | None:
    if state.status is IncidentStatus.OPEN:
        upcoming = [level_due_at(state, level) for level in state.levels if level.number > level_reached]
        if not upcoming and exhausted_at is not None and state.repeat_minutes:
            return exhausted_at + timedelta(minutes=state.repeat_minutes) * (repeats + 1)
        return min(upcoming, default=None)
    if state.status is IncidentStatus.ACKNOWLEDGED and state.severity in STATUS_UPDATE_MINUTES:
        every = timedelta(minutes=STATUS_UPDATE_MINUTES[state.severity])
        return state.updated_since + every * (status_requests + 1)
    return None


def replan_from(levels: tuple[Level, ...], level_reached: int, now: datetime, *, raising: bool) -> tuple[datetime, int]:
    """A severity change re-plans the new ladder from now: (the moment its minutes count from, level reached).

    The levels already reached stay reached (as far as the new ladder goes). Raising makes the next level
    due at once; lowering makes it due as long after now as it comes after the current level, so nobody
    is paged at the change.
    """
    reached = min(level_reached, len(levels))
    if raising and reached < len(levels):
        return now - timedelta(minutes=levels[reached].after_minutes), reached
    current = levels[reached - 1].after_minutes if reached else 0
    return now - timedelta(minutes=current), reached


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
