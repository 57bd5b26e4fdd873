"""Prometheus metrics: every series Steward exports, defined once, scraped at `GET /metrics`.

Flows record what happens as it happens (a post sent, a 429 met, a sweep step's duration, a page sent,
an incident acknowledged); what is a state of the database (outbox depth, reviews due, incidents open)
is read when Prometheus scrapes, so every replica reports the same truth and nothing drifts.

Label cardinality is bounded by construction: no user, channel or initiative ids ever; a command is
its verb pair from the command table (anything else is `other`), a Slack error is one of the errors
Slack documents for the methods Steward calls (anything else is `other`), a severity is sev1..sev4,
an outbox kind is the row's purpose (a fixed set in the code), a sweep step is a step name.

Use from any layer but the domain: `from bot import metrics` then e.g.
`metrics.PAGES_SENT.labels(severity="sev2").inc()` or `metrics.observe_acknowledged("sev2", seconds)`.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from bot.manifest import METHOD_SCOPES

# The classic text format, which every Prometheus 2.x parses (names here are plain ASCII).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
disable_created_metrics()  # no `_created` twin for every counter and histogram
REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

SEVERITIES = ("sev1", "sev2", "sev3", "sev4")
# Slack errors kept as label values (the rest are `other`): what Steward's calls are documented to meet.
SLACK_ERRORS = frozenset({
    "ratelimited", "channel_not_found", "not_in_channel", "is_archived", "invalid_auth", "account_inactive",
    "token_revoked", "token_expired", "missing_scope", "not_authed", "restricted_action", "msg_too_long",
    "invalid_blocks", "no_text", "too_many_attachments", "message_not_found", "cant_update_message",
    "edit_window_closed", "file_not_found", "internal_error", "fatal_error", "service_unavailable",
    "request_timeout", "connection", "http_500", "http_502", "http_503", "http_504", "team_access_not_granted",
    "ekm_access_denied", "user_not_in_channel", "invalid_arguments", "not_allowed_token_type", "expired_url",
    "used_url", "rendering",
})
# Web API methods Steward calls (label values of the 429 series; the rest are `other`): the manifest's list.
SLACK_METHODS = frozenset(METHOD_SCOPES) | {"response_url"}
# Outbox kinds (purposes) that are pages: counted in steward_pages_sent_total when Slack accepts them.
PAGE_KINDS = {"incident.page", "incident.page_dm", "incident.fallback_page"}  # C: bot.services.pages
_LATENCY_BUCKETS = (.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10)
# Time to acknowledge / resolve an incident: a minute to a week.
_INCIDENT_BUCKETS = (60, 300, 900, 1800, 3600, 2 * 3600, 4 * 3600, 8 * 3600, 86400, 3 * 86400, 7 * 86400)

COMMAND_LATENCY = Histogram(
    "steward_command_duration_seconds", "Time to answer a slash command, by command (verb pair).",
    ["command"], buckets=_LATENCY_BUCKETS, registry=REGISTRY)
POSTS_SENT = Counter(
    "steward_slack_posts_sent_total", "Outbox messages Slack accepted, by outbox kind.", ["kind"], registry=REGISTRY)
POSTS_FAILED = Counter(
    "steward_slack_posts_failed_total", "Outbox sends Slack refused or that did not reach it, by Slack error "
    "(retried or given up alike).", ["error"], registry=REGISTRY)
RATE_LIMITED = Counter(
    "steward_slack_ratelimited_total", "429 answers from Slack, by Web API method.", ["method"], registry=REGISTRY)
RATE_LIMITED_WAIT = Counter(
    "steward_slack_ratelimited_wait_seconds_total", "Seconds Slack's Retry-After asked Steward to wait, summed.",
    ["method"], registry=REGISTRY)
PACED = Counter(
    "steward_outbox_paced_total", "Outbox rows moved on to a later moment to keep within Slack's pace.",
    registry=REGISTRY)
SWEEP_STEP_DURATION = Histogram(
    "steward_sweep_step_duration_seconds", "Wall time of each sweep step.", ["step"],
    buckets=(.001, .005, .01, .05, .1, .5, 1, 5, 10, 30, 60), registry=REGISTRY)
SWEEP_STEP_FAILURES = Counter(
    "steward_sweep_step_failures_total", "Rows (or whole steps) a sweep step could not handle.", ["step"],
    registry=REGISTRY)
SWEEP_LAST_SUCCESS = Gauge(
    "steward_sweep_step_last_success_timestamp_seconds", "When each sweep step last ran without a failure.",
    ["step"], registry=REGISTRY)
PAGES_SENT = Counter(
    "steward_pages_sent_total", "Incident pages delivered to Slack, by severity.", ["severity"], registry=REGISTRY)
TIME_TO_ACKNOWLEDGE = Histogram(
    "steward_incident_time_to_acknowledge_seconds", "From declaration to first acknowledgement, by severity.",
    ["severity"], buckets=_INCIDENT_BUCKETS, registry=REGISTRY)
TIME_TO_RESOLVE = Histogram(
    "steward_incident_time_to_resolve_seconds", "From declaration to resolution, by severity.",
    ["severity"], buckets=_INCIDENT_BUCKETS, registry=REGISTRY)
ALERTS_RECEIVED = Counter(
    "steward_alerts_received_total", "Monitoring alerts received (Alertmanager webhook), by outcome.",
    ["outcome"], registry=REGISTRY)


def severity(value: str | None) -> str:
    """A severity label value: sev1..sev4, anything else `other`."""
    value = (value or "").lower()
    return value if value in SEVERITIES else "other"


def slack_error(error: str | None) -> str:
    """A Slack error as a bounded label value."""
    error = (error or "").split(":", 1)[0].strip()
    return error if error in SLACK_ERRORS else "other"


def slack_method(method: str | None) -> str:
    return method if method in SLACK_METHODS else "other"


def observe_acknowledged(sev: str, seconds: float) -> None:
    TIME_TO_ACKNOWLEDGE.labels(severity=severity(sev)).observe(max(seconds, 0.0))


def observe_resolved(sev: str, seconds: float) -> None:
    TIME_TO_RESOLVE.labels(severity=severity(sev)).observe(max(seconds, 0.0))


def record_step(step: str, *, seconds: float, failures: int, now: float | None = None) -> None:
    """Record one sweep step's run: its duration, its failures, and its last success."""
    SWEEP_STEP_DURATION.labels(step=step).observe(seconds)
    if failures:
        SWEEP_STEP_FAILURES.labels(step=step).inc(failures)
    else:
        SWEEP_STEP_FAILURES.labels(step=step)  # the series exists (at 0) before the first failure
        SWEEP_LAST_SUCCESS.labels(step=step).set(now if now is not None else time.time())


class _StateCollector:
    """The database's state at scrape time (outbox, reviews, incidents), read in one short transaction."""

    def __init__(self, engine):
        self.engine = engine

    def collect(self):
        from datetime import UTC, datetime

        from storage import metrics as state
        from storage.db import read_scope

        now = datetime.now(UTC)
        with read_scope(self.engine) as session:
            snapshot = state.snapshot(session=session, now=now)
        depth = GaugeMetricFamily("steward_outbox_depth", "Outbox messages not yet delivered (pending or sending), "
                                  "by kind.", labels=["kind"])
        oldest = GaugeMetricFamily("steward_outbox_oldest_age_seconds", "Age of the oldest undelivered outbox "
                                   "message past its due time, by kind (0 when none is late).", labels=["kind"])
        for kind, (count, age) in sorted(snapshot.outbox.items()):
            depth.add_metric([kind], count)
            oldest.add_metric([kind], age)
        failed = GaugeMetricFamily("steward_outbox_failed", "Outbox messages Slack refused for good, by kind.",
                                   labels=["kind"])
        for kind, count in sorted(snapshot.outbox_failed.items()):
            failed.add_metric([kind], count)
        due = GaugeMetricFamily("steward_reviews_due", "Open reviews whose due time has come.")
        due.add_metric([], snapshot.reviews_due)
        overdue = GaugeMetricFamily("steward_reviews_overdue", "Open reviews more than 14 days past due.")
        overdue.add_metric([], snapshot.reviews_overdue)
        on_time = GaugeMetricFamily("steward_reviews_completed_on_time_ratio", "Reviews due over the last 90 days "
                                    "completed by their due day (1 when none fell due).")
        on_time.add_metric([], snapshot.reviews_on_time_ratio)
        incidents = GaugeMetricFamily("steward_incidents_open", "Incidents not yet resolved, by severity and "
                                      "whether acknowledged.", labels=["severity", "acknowledged"])
        counts: dict[tuple[str, str], int] = {(sev, acked): 0 for sev in SEVERITIES for acked in ("false", "true")}
        for (sev, acked), count in snapshot.incidents_open.items():
            label = (severity(sev), "true" if acked else "false")
            counts[label] = counts.get(label, 0) + count
        for (sev, acked), count in sorted(counts.items()):
            incidents.add_metric([sev, acked], count)
        unacked = GaugeMetricFamily("steward_incident_oldest_unacknowledged_seconds", "Age of the oldest open "
                                    "incident nobody has acknowledged, by severity.", labels=["severity"])
        for sev, age in sorted(snapshot.oldest_unacknowledged.items()):
            unacked.add_metric([severity(sev)], age)
        yield from (depth, oldest, failed, due, overdue, on_time, incidents, unacked)


def exposition(engine=None) -> bytes:
    """The text Prometheus scrapes: the process's counters and, with an engine, the database's state.

    A database that does not answer leaves the state series out (and `steward_state_up` at 0) rather
    than failing the scrape: the counters still tell what this process did.
    """
    body = generate_latest(REGISTRY)
    if engine is None:
        return body
    state = CollectorRegistry(auto_describe=False)
    state.register(_StateCollector(engine))
    try:
        return body + generate_latest(state) + _STATE_UP % b"1"
    except Exception:
        return body + _STATE_UP % b"0"


_STATE_UP = (b"# HELP steward_state_up Whether the database answered the scrape's state queries.\n"
             b"# TYPE steward_state_up gauge\nsteward_state_up %s\n")
