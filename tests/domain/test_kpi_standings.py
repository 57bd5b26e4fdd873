"""KPI rules as plain data: where a value stands against its threshold, and what a new measurement means."""

import math

import pytest

from bot.domain.kpis import KPIS, BreachAction, all_within, breach_action, kpi_named, standings

COMPLETION, EXCEPTIONS, LATENCY = KPIS["task-completion"], KPIS["exception-rate"], KPIS["latency"]


def standing(rows, name):
    return next(row for row in rows if row.kpi.name == name)


def test_every_kpi_has_a_standing_even_with_nothing_on_record():
    rows = standings({}, {})
    assert [row.kpi.name for row in rows] == list(KPIS)
    assert all(row.threshold is None and row.value is None and row.within is None for row in rows)
    assert not all_within(rows)


@pytest.mark.parametrize(("kpi", "threshold", "value", "within"), [
    ("task-completion", 90, 90, True),  # a minimum is met at the threshold itself
    ("task-completion", 90, 89.9, False),
    ("exception-rate", 5, 5, True),  # so is a maximum
    ("exception-rate", 5, 5.1, False),
    ("latency", 2, 0, True),
])
def test_a_value_is_within_on_the_side_its_direction_says(kpi, threshold, value, within):
    assert standing(standings({kpi: threshold}, {kpi: value}), kpi).within is within


def test_a_threshold_without_a_value_or_a_value_without_a_threshold_stands_nowhere():
    rows = standings({"latency": 2.0}, {"adoption": 40.0})
    assert standing(rows, "latency").within is None and standing(rows, "adoption").within is None


def test_all_within_needs_every_kpi_measured_and_within():
    thresholds = {name: (0 if kpi.direction == "min" else 100) for name, kpi in KPIS.items()}
    thresholds["latency"] = 10
    values = {name: 50.0 for name in KPIS} | {"latency": 10.0}
    assert all_within(standings(thresholds, values))
    values["latency"] = 10.5
    assert not all_within(standings(thresholds, values))
    del values["latency"]
    assert not all_within(standings(thresholds, values))


def test_a_first_breach_declares_and_a_breach_with_an_incident_open_does_not_declare_again():
    assert breach_action(COMPLETION, 90, 80, incident_open=False, previously_within=True) is BreachAction.DECLARE
    assert breach_action(COMPLETION, 90, 80, incident_open=False, previously_within=None) is BreachAction.DECLARE
    assert breach_action(COMPLETION, 90, 70, incident_open=True, previously_within=False) is BreachAction.NONE


def test_coming_back_within_while_an_incident_is_open_is_a_recovery_once():
    assert breach_action(EXCEPTIONS, 5, 1, incident_open=True, previously_within=False) is BreachAction.RECOVERED
    # Already back within: the recovery was noted with the previous measurement.
    assert breach_action(EXCEPTIONS, 5, 1, incident_open=True, previously_within=True) is BreachAction.NONE
    assert breach_action(EXCEPTIONS, 5, 1, incident_open=False, previously_within=False) is BreachAction.NONE


def test_without_a_threshold_in_force_nothing_is_a_breach():
    assert breach_action(LATENCY, None, 1e9, incident_open=False, previously_within=None) is BreachAction.NONE


@pytest.mark.parametrize(("kpi", "value", "problem"), [
    ("task-completion", -1, "cannot be below 0 %"),
    ("adoption", 100.5, "cannot be above 100 %"),
    ("latency", -0.1, "cannot be below 0 s"),
    ("latency", math.inf, "must be a finite number"),
    ("latency", math.nan, "must be a finite number"),
])
def test_impossible_values_are_named(kpi, value, problem):
    assert KPIS[kpi].check(value) == problem


def test_a_huge_but_finite_latency_is_refused_and_a_latency_must_be_above_zero():
    assert LATENCY.check(1e308) == "cannot be above 86400 s"
    assert LATENCY.check(0) == "must be above 0 s"
    assert LATENCY.check(86_400) is None


def test_kpis_are_found_by_name_whatever_the_case_and_spacing():
    assert kpi_named("  Latency ") is LATENCY
    assert kpi_named("throughput") is None


def test_history_filled_in_late_is_backfill_and_never_declares_or_recovers():
    from datetime import UTC, datetime, timedelta

    from bot.domain.kpis import BreachAction, breach_action, is_backfill

    now = datetime(2026, 6, 1, tzinfo=UTC)
    fortnight = timedelta(days=14)
    assert is_backfill(now - timedelta(days=41), recorded_at=now, latest_at=None, freshness=fortnight)
    assert is_backfill(now - timedelta(hours=1), recorded_at=now, latest_at=now, freshness=fortnight)
    assert not is_backfill(now - timedelta(days=13), recorded_at=now, latest_at=now - timedelta(days=20),
                           freshness=fortnight)
    latency = KPIS["latency"]
    assert breach_action(latency, 2.0, 9.0, incident_open=False, previously_within=True,
                         backfill=True) is BreachAction.BACKFILLED
    assert breach_action(latency, 2.0, 1.0, incident_open=True, previously_within=False,
                         backfill=True) is BreachAction.NONE
    assert breach_action(latency, 2.0, 9.0, incident_open=False, previously_within=True) is BreachAction.DECLARE


def test_a_value_older_than_the_freshness_window_is_stale_and_never_within():
    from datetime import UTC, datetime, timedelta

    now = datetime(2028, 4, 3, 10, tzinfo=UTC)
    july = datetime(2027, 7, 12, 9, tzinfo=UTC)
    rows = standings({"task-completion": 80, "latency": 2}, {"task-completion": 88, "latency": 1},
                     measured_at={"task-completion": july, "latency": now - timedelta(days=14)}, now=now,
                     freshness=timedelta(days=14))
    completion, latency = standing(rows, "task-completion"), standing(rows, "latency")
    assert completion.stale and completion.within is None and completion.was_within is True
    assert completion.measured_at == july and completion.age == now - july
    assert not latency.stale and latency.within is True  # exactly the window old is still fresh
    thresholds = {name: (0 if kpi.direction == "min" else 100) for name, kpi in KPIS.items()} | {"latency": 10}
    values = {name: 50.0 for name in KPIS} | {"latency": 1.0}
    fresh = {name: now - timedelta(days=1) for name in KPIS}
    assert all_within(standings(thresholds, values, measured_at=fresh, now=now, freshness=timedelta(days=14)))
    assert not all_within(standings(thresholds, values, measured_at=fresh | {"adoption": july}, now=now,
                                    freshness=timedelta(days=14)))
