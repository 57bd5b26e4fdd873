"""Rules for signals from monitors: alert webhooks (Alertmanager, Grafana), PromQL results, pipeline heartbeats.

Pure: payloads come in as parsed JSON, decisions go out as values; storage, Slack and HTTP live elsewhere.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.domain.escalation import Severity
from bot.domain.kpis import KPIS, Kpi

# Alertmanager groups may hold thousands of alerts: Steward handles at most this many per payload (the rest are
# reported back as skipped; set `max_alerts` in the receiver's webhook_config to stay under it).
MAX_ALERTS = 200
MAX_LABEL = 1000  # characters of any label or annotation value Steward keeps
ALERTMANAGER_VERSION = "4"
GRAFANA_VERSION = "1"
INITIATIVE_LABEL = "steward_initiative"
KPI_LABEL = "steward_kpi"

DEFAULT_SEVERITIES: dict[str, Severity] = {
    "sev1": Severity.SEV1, "sev2": Severity.SEV2, "sev3": Severity.SEV3, "sev4": Severity.SEV4,
    "critical": Severity.SEV1, "page": Severity.SEV2, "high": Severity.SEV2, "error": Severity.SEV2,
    "warning": Severity.SEV3, "medium": Severity.SEV3, "info": Severity.SEV4, "low": Severity.SEV4,
}
DEFAULT_SEVERITY = Severity.SEV3


@dataclass(frozen=True)
class AlertPolicy:
    """How alerts become incidents (STEWARD_CONFIG `alerts:`)."""

    severities: dict[str, Severity] = field(default_factory=lambda: dict(DEFAULT_SEVERITIES))
    default_severity: Severity = DEFAULT_SEVERITY
    resolve_unacknowledged: bool = True  # an alert's resolution resolves the incident it opened, if nobody acked
    still_firing_every: timedelta = timedelta(hours=1)

    def severity_for(self, label: str | None) -> Severity:
        return self.severities.get((label or "").strip().lower(), self.default_severity)


class PayloadError(ValueError):
    """The payload as a whole cannot be read: (status, message, field)."""

    def __init__(self, status: int, message: str, field: str = "body"):
        super().__init__(message)
        self.status, self.message, self.field = status, message, field


@dataclass(frozen=True)
class Alert:
    index: int
    name: str  # alertname, for people and error messages
    status: str  # firing | resolved
    fingerprint: str
    labels: dict[str, str]
    annotations: dict[str, str]
    generator_url: str | None
    dashboard_url: str | None
    silence_url: str | None
    values: dict[str, float]

    @property
    def initiative(self) -> str | None:
        return self.labels.get(INITIATIVE_LABEL)

    @property
    def kpi(self) -> str | None:
        return self.labels.get(KPI_LABEL)

    @property
    def summary(self) -> str:
        return (self.annotations.get("summary") or self.annotations.get("title") or self.name)[:150]

    def described(self) -> str:
        return f"alert {self.index} ({self.name})"


@dataclass(frozen=True)
class AlertProblem:
    index: int
    alert: str
    error: str

    def body(self) -> dict:
        return {"alert": self.index, "alertname": self.alert, "error": self.error}


@dataclass(frozen=True)
class Payload:
    source: str  # alertmanager | grafana
    alerts: list[Alert]
    problems: list[AlertProblem]
    truncated: int  # alerts Alertmanager itself left out (max_alerts)
    skipped: int  # alerts beyond MAX_ALERTS that Steward did not handle
    group_key: str | None


def parse_payload(data: object) -> Payload:
    """Read an Alertmanager (version 4) or Grafana (version 1) webhook payload; per-alert problems are collected."""
    if not isinstance(data, dict):
        raise PayloadError(422, "the body must be a JSON object (Alertmanager's or Grafana's webhook payload)")
    version = data.get("version")
    if version not in (ALERTMANAGER_VERSION, GRAFANA_VERSION):
        raise PayloadError(422, f"unsupported payload version {_short(version)}: Steward reads Alertmanager's "
                                f"version \"4\" and Grafana's version \"1\"", "version")
    alerts = data.get("alerts")
    if not isinstance(alerts, list):
        raise PayloadError(422, "alerts must be a list", "alerts")
    truncated = data.get("truncatedAlerts", 0)
    if isinstance(truncated, bool) or not isinstance(truncated, int) or truncated < 0:
        raise PayloadError(422, "truncatedAlerts must be a whole number of 0 or more", "truncatedAlerts")
    group_key = data.get("groupKey")
    common = data.get("commonLabels") if isinstance(data.get("commonLabels"), dict) else {}
    parsed, problems = [], []
    for index, item in enumerate(alerts[:MAX_ALERTS]):
        try:
            parsed.append(_alert(index, item, common))
        except _AlertInvalid as error:
            problems.append(AlertProblem(index, error.name, error.message))
    return Payload(source="grafana" if version == GRAFANA_VERSION else "alertmanager", alerts=parsed,
                   problems=problems, truncated=truncated, skipped=max(0, len(alerts) - MAX_ALERTS),
                   group_key=str(group_key)[:MAX_LABEL] if group_key is not None else None)


class _AlertInvalid(ValueError):
    def __init__(self, name: str, message: str):
        super().__init__(message)
        self.name, self.message = name, message


def _alert(index: int, item: object, common: dict) -> Alert:
    if not isinstance(item, dict):
        raise _AlertInvalid("?", "an alert must be an object")
    labels = _strings(item.get("labels"), "labels", "?")
    name = labels.get("alertname", "?")
    annotations = _strings(item.get("annotations", {}), "annotations", name)
    status = item.get("status")
    if status not in ("firing", "resolved"):
        raise _AlertInvalid(name, f"status must be \"firing\" or \"resolved\", not {_short(status)}")
    fingerprint = item.get("fingerprint")
    if fingerprint is None:  # Alertmanager and Grafana always send one; others get one made from the labels
        fingerprint = hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16]
    if not isinstance(fingerprint, str) or not fingerprint or len(fingerprint) > 128:
        raise _AlertInvalid(name, "fingerprint must be a non-empty string of at most 128 characters")
    values = item.get("values") or {}
    if not isinstance(values, dict) or not all(isinstance(k, str) for k in values):
        raise _AlertInvalid(name, "values must be an object of numbers")
    numbers = {}
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _AlertInvalid(name, f"values.{key[:40]} must be a number")
        numbers[key] = float(value)
    return Alert(index=index, name=name, status=status, fingerprint=fingerprint, labels=labels,
                 annotations=annotations, generator_url=_url(item.get("generatorURL")),
                 dashboard_url=_url(item.get("dashboardURL") or item.get("panelURL")),
                 silence_url=_url(item.get("silenceURL")), values=numbers)


def _strings(value: object, what: str, name: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise _AlertInvalid(name, f"{what} must be an object of strings")
    return {k[:200]: v[:MAX_LABEL] for k, v in value.items()}


def _url(value: object) -> str | None:
    if isinstance(value, str) and re.match(r"^https?://\S+$", value) and len(value) <= 2000:
        return value
    return None


def _short(value: object) -> str:
    text = json.dumps(value) if not isinstance(value, str) else f'"{value}"'
    return text if len(text) <= 40 else text[:39] + "…"


def kpi_value(alert: Alert) -> tuple[Kpi, float]:
    """The KPI and value an alert labelled `steward_kpi` carries; ValueError naming what is wrong."""
    kpi = KPIS.get((alert.kpi or "").strip().lower())
    if kpi is None:
        raise ValueError(f"unknown KPI {_short(alert.kpi)} in label {KPI_LABEL}: one of " + ", ".join(KPIS))
    if "value" in alert.annotations:
        try:
            value = float(alert.annotations["value"].strip().removesuffix("%"))
        except ValueError:
            raise ValueError(f"annotation value {_short(alert.annotations['value'])} is not a number") from None
    elif len(alert.values) == 1:
        value = next(iter(alert.values.values()))
    elif alert.values:
        ref = alert.annotations.get("steward_value_ref") or alert.labels.get("steward_value_ref")
        if ref not in alert.values:
            raise ValueError(f"several values ({', '.join(sorted(alert.values))}): name one with annotation "
                             "steward_value_ref")
        value = alert.values[ref]
    else:
        raise ValueError(f"label {KPI_LABEL} needs a value: Grafana's values, or annotation value")
    problem = kpi.check(value)
    if problem:
        raise ValueError(f"{kpi.label} {problem} (got {value:g})")
    return kpi, value


def still_firing_note_due(last_note_at: datetime | None, first_seen_at: datetime, now: datetime,
                          every: timedelta) -> bool:
    """A repeat notification adds a "still firing" note at most once per `every`."""
    return now - (last_note_at or first_seen_at) >= every


# -- Prometheus ---------------------------------------------------------------------------------------------------

MAX_QUERY = 2000


@dataclass(frozen=True)
class QueryOutcome:
    value: float | None = None
    error: str | None = None


def query_outcome(data: object, kpi: Kpi) -> QueryOutcome:
    """Judge Prometheus's answer to an instant query: one finite sample within the KPI's range, or why not."""
    if not isinstance(data, dict):
        return QueryOutcome(error="Prometheus answered something that is not a JSON object")
    if data.get("status") != "success":
        kind = data.get("errorType") or "error"
        return QueryOutcome(error=f"Prometheus refused the query ({kind}): {str(data.get('error', ''))[:300]}")
    result = data.get("data") or {}
    kind, samples = result.get("resultType"), result.get("result")
    if kind == "scalar":
        raw = samples[1] if isinstance(samples, list) and len(samples) == 2 else None
    elif kind == "vector":
        if not isinstance(samples, list) or not samples:
            return QueryOutcome(error="no series: the query returned an empty result")
        if len(samples) > 1:
            return QueryOutcome(error=f"{len(samples)} series: the query must return exactly one (aggregate it, "
                                      "e.g. with avg() or sum())")
        raw = (samples[0].get("value") or [None, None])[1] if isinstance(samples[0], dict) else None
    else:
        return QueryOutcome(error=f"the query returned a {kind or 'malformed'} result; use an instant vector or "
                                  "scalar")
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return QueryOutcome(error="the sample is not a number")
    if not math.isfinite(value):
        return QueryOutcome(error=f"the sample is {raw} (not a finite number)")
    problem = kpi.check(value)
    if problem:
        return QueryOutcome(error=f"{kpi.label} {problem} (the query returned {value:g})")
    return QueryOutcome(value=value)


# -- Pipeline heartbeats ------------------------------------------------------------------------------------------

HEARTBEAT_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,39}$")
_DURATION = re.compile(r"^(\d{1,6})(s|m|h|d)$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MIN_EVERY = timedelta(minutes=1)
MAX_EVERY = timedelta(days=31)
MISSES_FOR_INCIDENT = 3


def parse_duration(text: str) -> timedelta | None:
    """`90s`, `15m`, `1h`, `1d`; None when it is not such a duration."""
    match = _DURATION.match(text.strip().lower())
    return timedelta(seconds=int(match[1]) * _UNITS[match[2]]) if match else None


def default_grace(every: timedelta) -> timedelta:
    """A tenth of the period, at least five minutes and at most a day."""
    return min(timedelta(days=1), max(timedelta(minutes=5), every / 10))


@dataclass(frozen=True)
class MissOutcome:
    misses: int  # misses in a row after this check
    new_misses: int  # counted now (0: nothing to say)
    next_due_at: datetime
    open_incident: bool  # this check reaches MISSES_FOR_INCIDENT


def count_misses(*, due_at: datetime, every: timedelta, misses: int, now: datetime) -> MissOutcome:
    """How many expected pings have been missed by `now` since the check fell due at `due_at`.

    Each period without a ping is one miss; a sweep that runs late counts every period it slept through at once,
    so the channel hears once per check, never once per sweep.
    """
    if now < due_at:
        return MissOutcome(misses, 0, due_at, False)
    new = int((now - due_at) / every) + 1
    total = misses + new
    return MissOutcome(total, new, due_at + new * every,
                       misses < MISSES_FOR_INCIDENT <= total)
