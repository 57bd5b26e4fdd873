"""Evidence over a period, not a snapshot: whether operations were stable long enough for scope expansion.

Scope expansion (issue 14, point 2) needs a period of stable operations: `days` in operations during which an
approved baseline was in force throughout, every KPI was measured at least once per freshness window, every
measurement was within the threshold in force when it was measured, and no sev1 to sev3 incident was open or
opened. Each thing that breaks that is a `Break`; the period runs from the end of the latest break, and the
condition first holds `days` after it. Approvals count only if they fall after that moment and within the pairing
window of each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import pairwise

from bot.domain.kpis import KPIS

STABLE_DAYS = 90
PAIRING_DAYS = 14
BLOCKING_SEVERITIES = ("sev1", "sev2", "sev3")
SIGNIFICANT_EXPANSION_MONTH = 12  # the framework's advice: significant expansion is usually considered from then


@dataclass(frozen=True)
class ScopePolicy:
    """The numbers of the scope-expansion gate (`STEWARD_CONFIG` may change the pairing window)."""

    stable_days: int = STABLE_DAYS
    pairing_days: int = PAIRING_DAYS


@dataclass(frozen=True)
class Measurement:
    kpi: str
    value: float
    at: datetime


@dataclass(frozen=True)
class Baseline:
    """An approved baseline: the thresholds it put in force, from when."""

    since: datetime
    thresholds: dict[str, float]


@dataclass(frozen=True)
class IncidentSpan:
    number: int
    severity: str
    declared_at: datetime
    resolved_at: datetime | None


class BreakKind(StrEnum):
    NOT_IN_OPERATIONS = "not-in-operations"  # the period cannot start before operations did
    NO_BASELINE = "no-baseline"  # no approved baseline in force (yet)
    NEVER_MEASURED = "never-measured"  # a KPI with no measurement at all
    GAP = "gap"  # a KPI not measured for longer than the freshness window
    STALE = "stale"  # a KPI not measured for longer than the freshness window, up to now
    BREACH = "breach"  # a measurement outside the threshold in force when it was measured
    INCIDENT = "incident"  # a sev1 to sev3 incident open during the period


@dataclass(frozen=True)
class Break:
    """Something that breaks stable operations, from `start` to `end` (None: still going on)."""

    kind: BreakKind
    start: datetime | None
    end: datetime | None
    kpi: str | None = None
    value: float | None = None
    threshold: float | None = None
    incident: int | None = None
    severity: str | None = None
    resumed: datetime | None = None  # a gap: the measurement that ended it

    @property
    def ongoing(self) -> bool:
        return self.end is None

    @property
    def clears_at(self) -> datetime | None:
        """From when a stable period may start, as far as this break is concerned."""
        return self.end


@dataclass(frozen=True)
class Stability:
    """Whether operations were stable for the whole period ending `now`, and what broke them."""

    now: datetime
    days: int
    holds_from: datetime | None  # when the condition first held in the current run (None: a break goes on)
    breaks: tuple[Break, ...]  # what stands in the way now: ongoing breaks and those within the last `days`
    freshness: timedelta = timedelta(days=14)

    @property
    def holds(self) -> bool:
        return self.holds_from is not None and self.holds_from <= self.now


def stability(*, now: datetime, operations_since: datetime | None, baselines: Sequence[Baseline],
              measurements: Iterable[Measurement], incidents: Iterable[IncidentSpan], freshness: timedelta,
              days: int = STABLE_DAYS, since: datetime | None = None) -> Stability:
    """Find what broke stable operations and when the current stable run began.

    `measurements` may start at `since` (what was loaded) if they include, for each KPI, the latest one before
    it, so a gap across that moment is seen; what happened before `since` is not looked at, so the run is taken
    to start no earlier than `since` (load from at least `days` plus the pairing window before `now`).
    """
    found: list[Break] = []
    if operations_since is None or operations_since > now:
        found.append(Break(BreakKind.NOT_IN_OPERATIONS, None, None))
    else:
        found.append(Break(BreakKind.NOT_IN_OPERATIONS, None, operations_since))
    ordered = sorted(baselines, key=lambda b: b.since)
    ordered = [b for b in ordered if b.since <= now]
    if not ordered:
        found.append(Break(BreakKind.NO_BASELINE, None, None))
    else:
        found.append(Break(BreakKind.NO_BASELINE, None, ordered[0].since))
    by_kpi: dict[str, list[Measurement]] = {name: [] for name in KPIS}
    for measurement in measurements:
        if measurement.at <= now and measurement.kpi in by_kpi:
            by_kpi[measurement.kpi].append(measurement)
    for name, rows in by_kpi.items():
        rows.sort(key=lambda m: m.at)
        found.extend(_coverage_breaks(name, rows, now=now, freshness=freshness, since=since))
        for row in rows:
            threshold = _threshold_at(ordered, name, row.at)
            if threshold is not None and not KPIS[name].within(row.value, threshold):
                found.append(Break(BreakKind.BREACH, row.at, row.at, kpi=name, value=row.value, threshold=threshold))
    for incident in incidents:
        if incident.severity in BLOCKING_SEVERITIES and incident.declared_at <= now:
            end = incident.resolved_at if incident.resolved_at is not None and incident.resolved_at <= now else None
            found.append(Break(BreakKind.INCIDENT, incident.declared_at, end, incident=incident.number,
                               severity=incident.severity))
    if since is not None:
        found.append(Break(BreakKind.NOT_IN_OPERATIONS, None, min(since, now)))  # nothing looked for before `since`
    window = timedelta(days=days)
    ongoing = [b for b in found if b.ongoing]
    holds_from = None if ongoing else max(b.end for b in found if b.end is not None) + window
    standing = [b for b in found if b.ongoing or b.end > now - window]
    standing.sort(key=lambda b: (not b.ongoing, -(b.end or b.start or now).timestamp()))
    return Stability(now=now, days=days, holds_from=holds_from, breaks=tuple(standing), freshness=freshness)


def _threshold_at(baselines: Sequence[Baseline], kpi: str, at: datetime) -> float | None:
    """The threshold in force for a KPI when a value was measured (the latest baseline approved by then)."""
    threshold = None
    for baseline in baselines:
        if baseline.since <= at:
            threshold = baseline.thresholds.get(kpi, threshold)
        else:
            break
    return threshold


def _coverage_breaks(kpi: str, rows: Sequence[Measurement], *, now: datetime, freshness: timedelta,
                     since: datetime | None) -> list[Break]:
    """A KPI must be measured at least once in every freshness window of the period.

    A gap between two measurements longer than the window breaks every period that starts earlier than one window
    before the measurement that ended it; the time since the last measurement, when longer, goes on breaking.
    """
    if not rows:
        return [Break(BreakKind.NEVER_MEASURED, None, None, kpi=kpi)]
    # Not measured before its first value: a period may start at most one window before it.
    breaks = [Break(BreakKind.GAP, None, rows[0].at - freshness, kpi=kpi, resumed=rows[0].at)]
    for earlier, later in pairwise(rows):
        if later.at - earlier.at > freshness:
            breaks.append(Break(BreakKind.GAP, earlier.at, later.at - freshness, kpi=kpi, resumed=later.at))
    if now - rows[-1].at > freshness:
        breaks.append(Break(BreakKind.STALE, rows[-1].at, None, kpi=kpi))
    return breaks


@dataclass(frozen=True)
class Approval:
    """A scope-expansion sign-off as the pairing rule looks at it."""

    signer: str
    role: str
    approve: bool
    at: datetime
    counts_as: frozenset[str] = frozenset()  # the people the signer counted as (covering them)

    @property
    def people(self) -> frozenset[str]:
        return frozenset({self.signer, *self.counts_as})


class Lapse(StrEnum):
    BEFORE_STABLE = "before-stable"  # given before the current stable run held (a break came after it)
    TOO_FAR_APART = "too-far-apart"  # more than the pairing window before the other approval


@dataclass(frozen=True)
class ScopeOutcome:
    approved: bool
    still_needed: tuple[str, ...]  # roles, in signing order
    lapsed: tuple[tuple[Approval, Lapse], ...] = ()  # approvals on record that no longer count, and why


def scope_outcome(signoffs: Sequence[Approval], *, roles: Sequence[str], holds_from: datetime | None,
                  pairing: timedelta) -> ScopeOutcome:
    """Whether scope expansion is approved: the latest sign-off of each role is an approval, by two different
    people, both given once the stable condition held, and within the pairing window of each other."""
    latest: dict[str, Approval] = {}
    for signoff in sorted(signoffs, key=lambda s: s.at):
        latest[signoff.role] = signoff
    counting: dict[str, Approval] = {}
    lapsed: list[tuple[Approval, Lapse]] = []
    for role in roles:
        approval = latest.get(role)
        if approval is None or not approval.approve:
            continue
        if holds_from is None or approval.at < holds_from:
            lapsed.append((approval, Lapse.BEFORE_STABLE))
        else:
            counting[role] = approval
    if len(counting) == len(roles):
        ordered = sorted(counting.values(), key=lambda a: a.at)
        first, last = ordered[0], ordered[-1]
        if last.at - first.at > pairing:
            lapsed.append((first, Lapse.TOO_FAR_APART))
            del counting[first.role]
    missing = [role for role in roles if role not in counting]
    people = [a.people for a in counting.values()]
    if not missing and any(mine & theirs for i, mine in enumerate(people) for theirs in people[i + 1:]):
        missing = [roles[-1]]  # one person cannot give both approvals: the second role is still needed
    return ScopeOutcome(not missing, tuple(missing), tuple(lapsed))
