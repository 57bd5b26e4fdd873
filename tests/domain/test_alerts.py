"""The pure rules for monitors: heartbeat misses, PromQL answers, alert payloads and severities."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.alerts import (
    AlertPolicy,
    PayloadError,
    count_misses,
    default_grace,
    parse_duration,
    parse_payload,
    query_outcome,
    still_firing_note_due,
)
from bot.domain.escalation import Severity
from bot.domain.kpis import KPIS

T = datetime(2026, 6, 1, 12, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_misses_are_counted_once_per_period_however_often_the_sweep_runs():
    assert count_misses(due_at=T, every=HOUR, misses=0, now=T - timedelta(seconds=1)).new_misses == 0
    first = count_misses(due_at=T, every=HOUR, misses=0, now=T)
    assert (first.misses, first.new_misses, first.next_due_at, first.open_incident) == (1, 1, T + HOUR, False)
    again = count_misses(due_at=first.next_due_at, every=HOUR, misses=1, now=T + timedelta(minutes=59))
    assert again.new_misses == 0
    late = count_misses(due_at=T, every=HOUR, misses=0, now=T + timedelta(hours=2, minutes=1))
    assert (late.misses, late.next_due_at, late.open_incident) == (3, T + 3 * HOUR, True)
    beyond = count_misses(due_at=T, every=HOUR, misses=3, now=T)
    assert beyond.misses == 4 and not beyond.open_incident  # the incident opens once, at the third


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("15m", 900), ("1h", 3600), ("2d", 172800),
                                               (" 1H ", 3600), ("1", None), ("1w", None), ("-1h", None), ("", None)])
def test_durations(text, seconds):
    parsed = parse_duration(text)
    assert (parsed.total_seconds() if parsed else None) == seconds


def test_default_grace_is_a_tenth_within_bounds():
    assert default_grace(timedelta(minutes=10)) == timedelta(minutes=5)
    assert default_grace(timedelta(hours=10)) == timedelta(hours=1)
    assert default_grace(timedelta(days=31)) == timedelta(days=1)


def vector(*values):
    return {"status": "success", "data": {"resultType": "vector",
                                          "result": [{"metric": {}, "value": [1, v]} for v in values]}}


@pytest.mark.parametrize(("answer", "value", "error"), [
    (vector("93.5"), 93.5, None),
    ({"status": "success", "data": {"resultType": "scalar", "result": [1, "42"]}}, 42.0, None),
    (vector(), None, "no series"),
    (vector("1", "2"), None, "2 series"),
    (vector("NaN"), None, "the sample is NaN"),
    (vector("+Inf"), None, "not a finite number"),
    (vector("101"), None, "cannot be above 100"),
    ({"status": "success", "data": {"resultType": "matrix", "result": []}}, None, "matrix result"),
    ({"status": "error", "errorType": "bad_data", "error": "parse error"}, None, "refused the query (bad_data)"),
    ([], None, "not a JSON object"),
])
def test_promql_answers(answer, value, error):
    outcome = query_outcome(answer, KPIS["task-completion"])
    assert outcome.value == value
    assert (error in outcome.error) if error else outcome.error is None


def test_payload_versions_and_per_alert_problems():
    with pytest.raises(PayloadError, match="unsupported payload version"):
        parse_payload({"version": "2", "alerts": []})
    with pytest.raises(PayloadError, match="truncatedAlerts"):
        parse_payload({"version": "4", "alerts": [], "truncatedAlerts": -1})
    payload = parse_payload({"version": "4", "alerts": [
        {"status": "firing", "labels": {"alertname": "A"}},
        {"status": "firing", "labels": {"alertname": "B"}, "values": {"x": "1"}},
        "nonsense"]})
    assert [a.name for a in payload.alerts] == ["A"] and payload.alerts[0].fingerprint  # made from the labels
    assert [(p.index, p.alert) for p in payload.problems] == [(1, "B"), (2, "?")]


def test_severities_and_still_firing():
    policy = AlertPolicy()
    assert policy.severity_for("CRITICAL") is Severity.SEV1 and policy.severity_for(None) is Severity.SEV3
    assert policy.severity_for("whatever") is Severity.SEV3 and policy.severity_for("info") is Severity.SEV4
    assert not still_firing_note_due(None, T, T + timedelta(minutes=59), HOUR)
    assert still_firing_note_due(None, T, T + HOUR, HOUR)
    assert not still_firing_note_due(T + HOUR, T, T + timedelta(minutes=100), HOUR)
