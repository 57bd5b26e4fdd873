"""The operations cadence (SPEC section 3): which reviews fall due when, as pure functions of time.

Dates count from the day the initiative entered its stage (the launch date for launch reviews and
KPI checkpoints). A prompt posts at the configured local time; a date on a weekend or a public
holiday moves to the next working day. Every function takes the moment it reasons about; none reads
the clock.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.vocabulary import REQUIRED_ROLES, Role, Stage
from states import OPEN_REVIEW, ReviewStatus

NonWorkingDay = Callable[[date], bool]


def weekend(day: date) -> bool:
    return day.weekday() >= 5


@dataclass(frozen=True)
class CadenceRule:
    kind: str
    title: str
    why: str  # one line from the framework: why the cadence asks for this review
    stages: tuple[Stage, ...]
    anchor: str = "stage"  # "stage": the day the stage began; "launch": the launch date
    every_days: int = 0
    every_months: int = 0
    offsets_days: tuple[int, ...] = ()  # fixed offsets from the anchor instead of a period
    limit: int | None = None  # at most this many occurrences (the first six launch weeks)
    mention: tuple[Role, ...] = ()
    mention_all_assigned: bool = False
    completed_by: tuple[Role, ...] = ()  # empty: any mentioned role
    enabled: bool = True

    def completers(self) -> tuple[Role, ...]:
        return self.completed_by or self.mention


@dataclass(frozen=True)
class Cadence:
    rules: tuple[CadenceRule, ...]
    post_at: time = time(10, 0)
    reminder_days: tuple[int, ...] = (3, 7)

    def rule(self, kind: str) -> CadenceRule | None:
        return next((r for r in self.rules if r.kind == kind), None)


@dataclass(frozen=True)
class Schedule:
    """What the cadence needs to know of an initiative."""

    stage: Stage
    stage_entered_at: datetime  # UTC
    timezone: str
    launch_date: date | None = None
    non_working: NonWorkingDay = field(default=weekend)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True, order=True)
class Occurrence:
    due_at: datetime  # UTC
    kind: str
    nominal: date = field(compare=False)  # the date before the working-day shift


B, PM, DE, ML = Role.BUSINESS_OWNER, Role.PRODUCT_MANAGER, Role.DATA_ENGINEER, Role.MLOPS_ENGINEER

DEFAULT_RULES = (
    CadenceRule("readiness-checkin", "Weekly readiness check-in",
                "Stage 1 assesses data, integration, governance, baselines and organisation before any "
                "production commitment.",
                (Stage.READINESS,), every_days=7, mention=(B, Role.PILOT_LEAD)),
    CadenceRule("parallel-ops-review", "Weekly parallel-operation review",
                "In weeks 3 to 8 the pilot team and the production team run incidents and reviews together, "
                "so knowledge transfers through experience.",
                (Stage.HANDOFF,), every_days=7, mention=(Role.PILOT_LEAD, B, PM, DE, ML), completed_by=(PM,)),
    CadenceRule("handoff-retrospective", "Handoff retrospective",
                "Document all tacit knowledge through structured retrospectives rather than written handoff "
                "documents, which capture process but rarely capture judgment.",
                (Stage.HANDOFF,), every_days=14, mention=(Role.PILOT_LEAD, PM, DE, ML)),  # H (issue 17)
    CadenceRule("launch-review", "Weekly launch review",
                "The first six weeks of a controlled launch are reviewed weekly with the business owner, product "
                "manager and an end-user representative to catch problems early.",
                (Stage.LAUNCH,), anchor="launch", every_days=7, limit=6, mention=(B, PM, Role.END_USER_REP),
                completed_by=(B,)),
    CadenceRule("kpi-checkpoint", "KPI checkpoint",
                "Performance against the Stage 1 baseline thresholds is reviewed at 30, 60 and 90 days of "
                "production.",
                (Stage.LAUNCH, Stage.OPERATIONS), anchor="launch", offsets_days=(30, 60, 90),
                mention_all_assigned=True, completed_by=(B,)),
    CadenceRule("monthly-performance-review", "Monthly performance review",
                "The business owner chairs a monthly review of performance against the baseline metrics.",
                (Stage.OPERATIONS,), every_months=1, mention=(B, PM, ML), completed_by=(B,)),
    CadenceRule("quarterly-retraining-assessment", "Quarterly retraining assessment",
                "Data distributions shift; every quarter the team decides whether the model needs retraining.",
                (Stage.OPERATIONS,), every_months=3, mention=(ML, DE, B), completed_by=(B,)),
    CadenceRule("biannual-governance-review", "Biannual governance review",
                "Twice a year the governance record is reviewed so that ownership survives people moving on.",
                (Stage.OPERATIONS,), every_months=6, mention=(B, Role.EXECUTIVE_SPONSOR), completed_by=(B,)),
    CadenceRule("annual-scope-planning", "Annual scope planning",
                "Once a year the business owner and sponsor decide whether to expand the system's scope.",
                (Stage.OPERATIONS,), every_months=12, mention=(B, Role.EXECUTIVE_SPONSOR), completed_by=(B,)),
)

DEFAULT_CADENCE = Cadence(rules=DEFAULT_RULES)


def add_months(day: date, months: int) -> date:
    """Add calendar months, clamping to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def next_working_day(day: date, non_working: NonWorkingDay) -> date:
    for _ in range(60):  # no calendar has two months of consecutive holidays
        if not non_working(day):
            return day
        day += timedelta(days=1)
    return day


def post_moment(day: date, schedule: Schedule, post_at: time) -> datetime:
    """The UTC moment a prompt for `day` posts: the next working day at `post_at` local time."""
    local_day = next_working_day(day, schedule.non_working)
    return datetime.combine(local_day, post_at, schedule.zone).astimezone(UTC)


def anchor_date(rule: CadenceRule, schedule: Schedule) -> date | None:
    if rule.anchor == "launch":
        return schedule.launch_date
    return schedule.stage_entered_at.astimezone(schedule.zone).date()


def _nominal_dates(rule: CadenceRule, anchor: date, from_day: date) -> Iterator[date]:
    """Nominal dates of the rule in order, starting a little before `from_day` (skipping history)."""
    if rule.offsets_days:
        for offset in sorted(rule.offsets_days):
            yield anchor + timedelta(days=offset)
        return
    if not (rule.every_days or rule.every_months):
        return
    # Start a period before from_day so long histories cost nothing; the shift to a working day
    # never moves a date by more than a period.
    if rule.every_days:
        start = max(1, (from_day - anchor).days // rule.every_days - 1)
    else:
        months = (from_day.year - anchor.year) * 12 + from_day.month - anchor.month
        start = max(1, months // rule.every_months - 1)
    k = start
    while rule.limit is None or k <= rule.limit:
        if rule.every_days:
            yield anchor + timedelta(days=k * rule.every_days)
        else:
            # Always from the anchor, so the 31st stays the month's end rather than drifting to the 28th.
            yield add_months(anchor, k * rule.every_months)
        k += 1


def occurrences(rule: CadenceRule, schedule: Schedule, cadence: Cadence, *, after: datetime,
                until: datetime) -> list[Occurrence]:
    """Occurrences of one rule due in (after, until], for an initiative in its current stage."""
    if not rule.enabled or schedule.stage not in rule.stages:
        return []
    anchor = anchor_date(rule, schedule)
    if anchor is None:
        return []
    from_day = after.astimezone(schedule.zone).date()
    found = []
    for nominal in _nominal_dates(rule, anchor, from_day):
        due = post_moment(nominal, schedule, cadence.post_at)
        if due > until:
            break
        if due > after:
            found.append(Occurrence(due, rule.kind, nominal))
    return found


def due_between(schedule: Schedule, cadence: Cadence, *, after: datetime, until: datetime) -> list[Occurrence]:
    """Every occurrence of every rule due in (after, until], oldest first."""
    return sorted(o for rule in cadence.rules for o in occurrences(rule, schedule, cadence, after=after,
                                                                   until=until))


def next_due(rule: CadenceRule, schedule: Schedule, cadence: Cadence, *, after: datetime) -> datetime | None:
    """The first due time of a rule after `after`, or None when the rule has no more in this stage."""
    horizon = after
    for years in (1, 2, 5):  # annual rules need more than a year of look-ahead
        horizon = after + timedelta(days=366 * years)
        found = occurrences(rule, schedule, cadence, after=after, until=horizon)
        if found:
            return found[0].due_at
    return None


def reminder_moment(due_at: datetime, days: int, schedule: Schedule, cadence: Cadence) -> datetime:
    """When the reminder `days` after a prompt posts: that many days later, on a working day."""
    local_day = due_at.astimezone(schedule.zone).date() + timedelta(days=days)
    return post_moment(local_day, schedule, cadence.post_at)


def mentioned_roles(rule: CadenceRule, assigned: Collection[str]) -> list[Role]:
    """Return the roles a prompt names, given the roles assigned on the initiative."""
    if rule.mention_all_assigned:
        # A KPI checkpoint concerns everyone: every assigned role, and the required ones even when vacant.
        return [role for role in Role if role in assigned or role in REQUIRED_ROLES]
    return list(rule.mention)


def reminded_roles(rule: CadenceRule | None, assigned: Collection[str], *, reminder: int,
                   reminders: int) -> list[Role]:
    """Return the roles reminder number `reminder` (from 1) of `reminders` names."""
    roles = mentioned_roles(rule, assigned) if rule is not None else []
    if reminder == reminders and Role.BUSINESS_OWNER not in roles:
        # The last reminder escalates to the business owner, who is asked to make sure it happens.
        roles.append(Role.BUSINESS_OWNER)
    return roles


# --- Imports, overdue reviews and compliance (issue 14) ---------------------------------------------------

BEFORE_STEWARD = "before Steward"  # the note on a review that fell due before the initiative was imported
BEFORE_STEWARD_KEPT = 52  # at most this many per kind are recorded (a year of weekly reviews)
OVERDUE_DAYS = 14  # a review still open this long after it fell due is escalated once
ON_TIME_DAYS = 7  # completed within this many days of falling due (the last reminder) is on time
COMPLIANCE_DAYS = 90  # compliance looks at the reviews that fell due this many days back


def before_import(schedule: Schedule, cadence: Cadence, *, imported_at: datetime) -> list[Occurrence]:
    """The occurrences of the current stage's rules that fell due before an import, oldest first.

    Counted from the day the stage began (the launch date for launch reviews and checkpoints); at most
    BEFORE_STEWARD_KEPT of each kind, the latest ones.
    """
    found: list[Occurrence] = []
    for rule in cadence.rules:
        occurred = occurrences(rule, schedule, cadence, after=schedule.stage_entered_at - timedelta(seconds=1),
                               until=imported_at - timedelta(microseconds=1))
        found.extend(occurred[-BEFORE_STEWARD_KEPT:])
    return sorted(found)


def overdue_since(due_at: datetime) -> datetime:
    """When an open review becomes overdue (escalated, and shown as overdue)."""
    return due_at + timedelta(days=OVERDUE_DAYS)


def is_overdue(due_at: datetime, *, now: datetime) -> bool:
    return now >= overdue_since(due_at)


@dataclass(frozen=True)
class Compliance:
    """Reviews completed on time out of those that were due, over the last COMPLIANCE_DAYS."""

    on_time: int
    due: int

    @property
    def percent(self) -> int | None:
        return round(100 * self.on_time / self.due) if self.due else None


def compliance(reviews: Collection[tuple[datetime, ReviewStatus, datetime | None]], *, now: datetime) -> Compliance:
    """Count (due_at, status, closed_at) rows: each review that fell due in the window and is owed counts as due.

    A review is owed once its grace (ON_TIME_DAYS) ran out, or once completed. A review closed within
    its grace without being completed (its stage ended) is not owed; one superseded or still open after
    its grace is owed and not on time.
    """
    since = now - timedelta(days=COMPLIANCE_DAYS)
    on_time = due = 0
    for due_at, status, closed_at in reviews:
        if not since <= due_at <= now:
            continue
        deadline = due_at + timedelta(days=ON_TIME_DAYS)
        if status == ReviewStatus.COMPLETED:
            due += 1
            on_time += closed_at is not None and closed_at <= deadline
        elif status in OPEN_REVIEW:
            due += now > deadline
        else:
            due += closed_at is None or closed_at > deadline
    return Compliance(on_time, due)
