"""The five first-90-days KPIs of the framework: units, directions, valid ranges, and the threshold test."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Direction(StrEnum):
    MIN = "min"  # the value must stay at or above the threshold
    MAX = "max"  # the value must stay at or below the threshold


@dataclass(frozen=True)
class Kpi:
    name: str
    label: str
    unit: str
    direction: Direction
    lowest: float
    highest: float
    lowest_allowed: bool = True  # False: the value must be strictly above `lowest` (a latency of 0 is no latency)

    def check(self, value: float) -> str | None:
        """Why the value is impossible for this KPI, or None (the same bounds for the API, records and thresholds)."""
        if not math.isfinite(value):
            return "must be a finite number"
        if value < self.lowest:
            return f"cannot be below {self.lowest:g} {self.unit}"
        if value == self.lowest and not self.lowest_allowed:
            return f"must be above {self.lowest:g} {self.unit}"
        if value > self.highest:
            return f"cannot be above {self.highest:g} {self.unit}"
        return None

    def within(self, value: float, threshold: float) -> bool:
        return value >= threshold if self.direction is Direction.MIN else value <= threshold


# The longest decision latency Steward accepts: a day. A decision that takes longer is not measured in this KPI
# (and a value like 1e308 is a broken pipeline, not a latency).
MAX_LATENCY_SECONDS = 86_400

KPIS: dict[str, Kpi] = {k.name: k for k in (
    Kpi("task-completion", "task completion rate", "%", Direction.MIN, 0, 100),
    Kpi("exception-rate", "exception rate", "%", Direction.MAX, 0, 100),
    Kpi("data-quality", "data quality score", "%", Direction.MIN, 0, 100),
    Kpi("adoption", "user adoption rate", "%", Direction.MIN, 0, 100),
    Kpi("latency", "decision latency", "s", Direction.MAX, 0, MAX_LATENCY_SECONDS, lowest_allowed=False),
)}


@dataclass(frozen=True)
class Reading:
    """One measurement as a pipeline sends it."""

    kpi: str
    value: float
    at: datetime


def kpi_named(name: str) -> Kpi | None:
    return KPIS.get(name.strip().lower())


@dataclass(frozen=True)
class KpiStanding:
    """One KPI's latest value against its threshold in force, with when it was measured and whether it is stale."""

    kpi: Kpi
    threshold: float | None
    value: float | None
    measured_at: datetime | None = None
    age: timedelta | None = None  # how old the value was when the standing was taken
    stale: bool = False  # older than the freshness window: shown with its date, and counts as missing

    @property
    def within(self) -> bool | None:
        """Within its threshold; None when the threshold or a fresh value is missing (a stale value is missing)."""
        if self.threshold is None or self.value is None or self.stale:
            return None
        return self.kpi.within(self.value, self.threshold)

    @property
    def was_within(self) -> bool | None:
        """Where the value stood when it was measured, stale or not (None without a value or a threshold)."""
        if self.threshold is None or self.value is None:
            return None
        return self.kpi.within(self.value, self.threshold)


def is_stale(measured_at: datetime, *, now: datetime, freshness: timedelta) -> bool:
    """Whether a value is older than the freshness window: history, no longer evidence of today."""
    return now - measured_at > freshness


def standings(thresholds: dict[str, float], values: dict[str, float], *,
              measured_at: dict[str, datetime] | None = None, now: datetime | None = None,
              freshness: timedelta | None = None) -> list[KpiStanding]:
    """Each KPI's latest value against its threshold in force (None where either is missing).

    Given when each value was measured, `now` and the freshness window, a value older than the window is stale.
    """
    measured_at = measured_at or {}
    rows = []
    for name, kpi in KPIS.items():
        at = measured_at.get(name)
        age = now - at if at is not None and now is not None else None
        stale = age is not None and freshness is not None and age > freshness
        rows.append(KpiStanding(kpi, thresholds.get(name), values.get(name), at, age, stale))
    return rows


def all_within(rows: list[KpiStanding]) -> bool:
    return all(row.within is True for row in rows)


@dataclass(frozen=True)
class KpiPolicy:
    breach_severity: str = "sev3"
    silence_days: int = 7
    freshness_days: int = 14  # a value older than this is stale (never within) and history (never paged on)
    scope_pairing_days: int = 14  # the two scope-expansion approvals count only within this of each other


class BreachAction(StrEnum):
    DECLARE = "declare"  # outside the threshold and no incident open for this KPI
    RECOVERED = "recovered"  # back within while an incident for this KPI is open
    BACKFILLED = "backfilled"  # outside the threshold, but history filled in late: logged, nobody paged
    NONE = "none"


def is_backfill(measured_at: datetime, *, recorded_at: datetime, latest_at: datetime | None,
                freshness: timedelta) -> bool:
    """Whether a measurement fills in history: older than the freshness window, or than the KPI's latest value."""
    return recorded_at - measured_at > freshness or (latest_at is not None and measured_at < latest_at)


def breach_action(kpi: Kpi, threshold: float | None, value: float, *, incident_open: bool,
                  previously_within: bool | None, backfill: bool = False) -> BreachAction:
    """What a new measurement means: a breach to declare, a recovery to note, or nothing.

    A backfilled value never declares or recovers anything today: a breach in it is only logged.
    """
    if threshold is None:
        return BreachAction.NONE
    within = kpi.within(value, threshold)
    if backfill:
        return BreachAction.NONE if within else BreachAction.BACKFILLED
    if not within:
        return BreachAction.NONE if incident_open else BreachAction.DECLARE
    if incident_open and previously_within is False:
        return BreachAction.RECOVERED
    return BreachAction.NONE
