"""What Steward says about KPIs: thresholds, measurements, standings, breaches, recoveries, silence, the trend chart."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.domain.kpis import Direction, Kpi, KpiStanding
from messages.charts import kpi_trend_png
from messages.render import Message, duration, local_time, render, user_mention


def value_text(kpi: Kpi, value: float) -> str:
    """A measurement with its unit (`93%`, `4.2 s`)."""
    return f"{value:g} {kpi.unit}".replace(" %", "%")


def threshold_text(kpi: Kpi, threshold: float) -> str:
    """A threshold with the side a value must stay on (`≥ 90%`, `≤ 2 s`)."""
    sign = "≥" if kpi.direction is Direction.MIN else "≤"
    return f"{sign} {value_text(kpi, threshold)}"


def measured_text(at: datetime, zone: str = "UTC", *, age: timedelta | None = None) -> str:
    """When a value was measured, and how old it is (`measured 29 May 2026 10:00 UTC, 3 d ago`)."""
    when = f"measured {local_time(at, zone, '%d %b %Y %H:%M')}"
    return f"{when}, {duration(age)} ago" if age is not None and age >= timedelta(minutes=1) else when


def standing_line(standing: KpiStanding, zone: str = "UTC") -> str:
    """One KPI's latest value against its threshold, marked within or outside, with when it was measured.

    A stale value (older than the freshness window) is never marked within: it is shown as stale with its date.
    """
    kpi = standing.kpi
    value = "no measurement" if standing.value is None else value_text(kpi, standing.value)
    threshold = "no threshold in force" if standing.threshold is None else threshold_text(kpi, standing.threshold)
    when = f", {measured_text(standing.measured_at, zone, age=standing.age)}" if standing.measured_at else ""
    if standing.stale:
        return (f":warning: *stale* {kpi.label}: {value} ({threshold}){when}: older than the freshness window, so it "
                "counts as not measured")
    mark = {True: ":white_check_mark: within", False: ":x: *outside*", None: ":white_circle:"}[standing.within]
    return f"{mark} {kpi.label}: {value} ({threshold}){when}"


def threshold_proposed(kpi: Kpi, *, key: str, value: float, in_force: float | None) -> Message:
    """The proposer's reply: the threshold waits for the business owner's baseline sign-off."""
    now_line = f" (in force now: {threshold_text(kpi, in_force)})" if in_force is not None else ""
    return _note(f"{kpi.label} threshold proposed",
                 f":straight_ruler: Proposed the {kpi.label} threshold {threshold_text(kpi, value)} for `{key}`"
                 f"{now_line}.",
                 context_line=f"It is in force once the business owner signs the baseline: `/steward signoff {key} "
                              "baseline approve`.")


def recorded(standing: KpiStanding, *, key: str, value: float, zone: str = "UTC") -> Message:
    """The recorder's reply: the value, when it was measured, and where it stands against the threshold in force."""
    kpi = standing.kpi
    verdict = ("no threshold in force yet" if standing.within is None else
               "within threshold" if standing.within else "*outside* threshold")
    when = f" ({measured_text(standing.measured_at, zone)})" if standing.measured_at else ""
    return _note(f"{kpi.label} recorded",
                 f":bar_chart: Recorded {kpi.label} = {value:g} {kpi.unit} for `{key}`{when}: {verdict}.")


def breach_title(kpi: Kpi, *, value: float, threshold: float) -> str:
    """The title of the incident a breach declares."""
    return f"{kpi.label.capitalize()} {value_text(kpi, value)} breaches its threshold {threshold_text(kpi, threshold)}"


def breach_deviation(title: str, *, recorded_by: str, source: str) -> str:
    """The deviation a breach logs on the initiative's record."""
    return f"{title} (recorded by {recorded_by} via {source})"


def backfilled_breach_deviation(title: str, *, recorded_by: str, source: str, measured_at: datetime,
                                recorded_at: datetime) -> str:
    """The deviation a late (backfilled) breach logs: on the record, but nobody is paged for history."""
    return (f"{title}, measured {measured_at:%Y-%m-%d %H:%M} UTC and recorded {recorded_at:%Y-%m-%d %H:%M} UTC by "
            f"{recorded_by} via {source}: backfilled history, so no incident was opened")


def recovered(kpi: Kpi, *, incident_number: int, note: str, value: float, threshold: float,
              measured_at: datetime | None = None, zone: str = "UTC") -> Message:
    """The note in a breach incident's thread that the KPI is back within its threshold."""
    when = f", {measured_text(measured_at, zone)}" if measured_at else ""
    return _note(f"INC{incident_number}: {note}",
                 f":chart_with_upwards_trend: {kpi.label.capitalize()} is back within its threshold: "
                 f"{value_text(kpi, value)} ({threshold_text(kpi, threshold)}){when}. Resolve INC{incident_number} "
                 "when you are satisfied.")


def silence_prompt(silent: Sequence[Kpi], *, key: str, engineer: str | None, days: int) -> Message:
    """Ask the data engineer (or whoever reads the channel, when the role is vacant) about silent KPIs."""
    names = ", ".join(f"{kpi.label} (`{kpi.name}`)" for kpi in silent)
    silence = (f"no measurement of {names} for `{key}` in {days} days. Silence is a signal too: please check the "
               "pipeline.")
    line = (f":mute: {user_mention(engineer)}, {silence}" if engineer else
            f":mute: The data engineer role is *vacant*, so whoever reads this: {silence} Assign one with "
            f"`/steward role assign {key} data @someone`.")
    return _note(f"KPIs silent for {key}", line,
                 context_line=f"Record with `/steward kpi record {key} <kpi> <value>` or push them to the ingestion "
                              "API.")


def trend_chart(series: dict[str, list[tuple[datetime, float]]], thresholds: dict[str, float], *,
                kpis: Sequence[Kpi], key: str, name: str, days: int, until: datetime) -> tuple[bytes, str, str]:
    """The trend chart attachment: PNG, file name, title; raises ChartError when the values cannot be drawn."""
    png = kpi_trend_png(series, thresholds, {kpi.name: kpi.label for kpi in kpis},
                        f"{name}: KPIs over the last {days} days")
    return png, f"{key}-kpis-{until.date().isoformat()}.png", f"KPI trends of {key}"


def _note(text: str, line: str, *, context_line: str | None = None) -> Message:
    return render("note", text=text, line=line, context_line=context_line)
