"""Scope expansion on evidence: what breaks a period of stable operations, and when the period first holds."""

from datetime import UTC, datetime, timedelta

from bot.domain.evidence import Baseline, BreakKind, IncidentSpan, Measurement, stability
from bot.domain.kpis import KPIS

NOW = datetime(2028, 4, 3, 10, 0, tzinfo=UTC)
DAY = timedelta(days=1)
FORTNIGHT = timedelta(days=14)
THRESHOLDS = {"task-completion": 90, "exception-rate": 8, "data-quality": 95, "adoption": 60, "latency": 2}
GOOD = {"task-completion": 93, "exception-rate": 5, "data-quality": 97, "adoption": 71, "latency": 1.2}


def weekly(since: datetime, until: datetime, values=GOOD, **changed):
    """Every KPI measured once a week from `since` to `until` (`changed`: {day offset: {kpi: value}})."""
    rows, at = [], since
    while at <= until:
        for kpi, value in values.items():
            rows.append(Measurement(kpi, changed.get(kpi, {}).get((at - since).days, value), at))
        at += 7 * DAY
    return rows


def evaluate(measurements, *, incidents=(), operations_since=NOW - 200 * DAY, baseline_since=NOW - 300 * DAY):
    return stability(now=NOW, operations_since=operations_since, baselines=[Baseline(baseline_since, THRESHOLDS)],
                     measurements=measurements, incidents=incidents, freshness=FORTNIGHT)


def test_ninety_clean_days_hold():
    result = evaluate(weekly(NOW - 200 * DAY, NOW))
    assert result.holds and result.breaks == ()


def test_a_breach_41_days_ago_with_its_incident_still_open_breaks_it_and_says_so():
    rows = weekly(NOW - 202 * DAY, NOW, adoption={161: 30})  # adoption 30% (threshold 60%) 41 days ago
    breach_at = next(m.at for m in rows if m.kpi == "adoption" and m.value == 30)
    assert breach_at == NOW - 41 * DAY
    incident = IncidentSpan(1, "sev3", breach_at, None)
    result = evaluate(rows, incidents=[incident])
    assert not result.holds and result.holds_from is None  # the incident goes on: no date can be promised
    kinds = [b.kind for b in result.breaks]
    assert kinds[0] is BreakKind.INCIDENT and BreakKind.BREACH in kinds
    [breach] = [b for b in result.breaks if b.kind is BreakKind.BREACH]
    assert (breach.kpi, breach.value, breach.threshold, breach.start) == ("adoption", 30, 60, breach_at)
    # Resolved since: the 90 days count from the resolution.
    resolved = IncidentSpan(1, "sev3", breach_at, breach_at + 2 * DAY)
    result = evaluate(rows, incidents=[resolved])
    assert not result.holds and result.holds_from == breach_at + 2 * DAY + 90 * DAY


def test_nine_months_without_kpi_data_is_never_measured():
    result = evaluate([])
    assert not result.holds and {b.kind for b in result.breaks} == {BreakKind.NEVER_MEASURED}
    assert {b.kpi for b in result.breaks} == set(KPIS)


def test_a_gap_longer_than_the_freshness_window_breaks_it_and_a_stale_kpi_goes_on_breaking():
    rows = [m for m in weekly(NOW - 200 * DAY, NOW)
            if not (m.kpi == "latency" and NOW - 60 * DAY < m.at < NOW - 30 * DAY)]
    result = evaluate(rows)
    [gap] = [b for b in result.breaks if b.kind is BreakKind.GAP]
    assert gap.kpi == "latency" and gap.resumed - gap.start > FORTNIGHT
    assert result.holds_from == gap.resumed - FORTNIGHT + 90 * DAY > NOW
    stale = [m for m in weekly(NOW - 200 * DAY, NOW) if not (m.kpi == "latency" and m.at > NOW - 20 * DAY)]
    result = evaluate(stale)
    assert [b.kind for b in result.breaks] == [BreakKind.STALE] and result.holds_from is None


def test_a_sev4_does_not_break_it_a_sev2_resolved_long_ago_does_not_either():
    rows = weekly(NOW - 200 * DAY, NOW)
    incidents = [IncidentSpan(2, "sev4", NOW - 10 * DAY, None), IncidentSpan(3, "sev2", NOW - 150 * DAY,
                                                                             NOW - 140 * DAY)]
    assert evaluate(rows, incidents=incidents).holds


def test_operations_and_the_baseline_must_cover_the_whole_period():
    rows = weekly(NOW - 200 * DAY, NOW)
    result = evaluate(rows, operations_since=NOW - 60 * DAY)
    assert not result.holds and result.holds_from == NOW + 30 * DAY
    assert [b.kind for b in result.breaks] == [BreakKind.NOT_IN_OPERATIONS]
    result = evaluate(rows, baseline_since=NOW - 20 * DAY)
    assert [b.kind for b in result.breaks] == [BreakKind.NO_BASELINE]
    assert stability(now=NOW, operations_since=NOW - 200 * DAY, baselines=[], measurements=rows, incidents=[],
                     freshness=FORTNIGHT).holds_from is None


def test_a_measurement_is_judged_against_the_threshold_in_force_when_it_was_measured():
    rows = [*weekly(NOW - 200 * DAY, NOW - 80 * DAY, {**GOOD, "latency": 3}), *weekly(NOW - 79 * DAY, NOW)]
    lax = Baseline(NOW - 300 * DAY, {**THRESHOLDS, "latency": 5})
    strict = Baseline(NOW - 79 * DAY, THRESHOLDS)  # latency 3 s was within the lax baseline, in force then
    result = stability(now=NOW, operations_since=NOW - 200 * DAY, baselines=[lax, strict], measurements=rows,
                       incidents=[], freshness=FORTNIGHT)
    assert result.holds


def test_only_what_was_loaded_is_looked_at_and_the_run_starts_no_earlier():
    since = NOW - 118 * DAY
    rows = [m for m in weekly(NOW - 200 * DAY, NOW) if m.at >= since - 7 * DAY]
    result = stability(now=NOW, operations_since=NOW - 200 * DAY, baselines=[Baseline(NOW - 300 * DAY, THRESHOLDS)],
                       measurements=rows, incidents=[], freshness=FORTNIGHT, since=since)
    assert result.holds and result.holds_from == since + 90 * DAY
