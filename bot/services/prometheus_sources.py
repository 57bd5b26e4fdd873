"""Prometheus as a KPI source: a PromQL query per KPI, evaluated by the sweep at its interval.

A single-sample answer is recorded as a measurement (source `prometheus`) through the KPI flow, so it is judged
like any other (breach incident, deviation, recovery). Any error (a bad query, no series, several series, NaN,
a value out of range, Prometheus unreachable or too slow) is recorded once per change of error, shown in
`initiative show` with the query, and never stops the sweep; a KPI whose source keeps failing goes silent.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

from sqlmodel import Session

from bot.domain.alerts import QueryOutcome, query_outcome
from bot.domain.commands import KpiSourceSet
from bot.domain.kpis import KPIS
from bot.errors import NotFound
from bot.org_config import PrometheusConfig, load_monitor_config
from bot.services import kpis as kpi_flows
from bot.services.context import Actor, Services
from bot.services.lookup import require_initiative, require_record_keeper
from bot.services.steps import StepResult, each_row
from messages import alerts as alert_messages
from messages.render import Message
from storage import alerts as source_rows
from storage import repository
from storage.audit import append_event
from storage.db import lock_row, read_scope, session_scope
from storage.models import Initiative, KpiSource

log = logging.getLogger(__name__)

DEFAULT_MINUTES = 60
CONFIGURED_BY = "config"  # created_by of sources that come from STEWARD_CONFIG
MAX_ANSWER = 1_000_000  # bytes of a Prometheus answer Steward reads


def set_source(services: Services, actor: Actor, command: KpiSourceSet) -> Message:
    """Set (or with `none`, remove) the PromQL query that feeds one KPI; role holders and admins."""
    kpi = KPIS[command.kpi]
    with session_scope(services.engine) as session:
        initiative = require_initiative(session, team_id=actor.team_id, key=command.key)
        require_record_keeper(session, user_id=actor.user_id, admins=services.settings.steward_admins,
                              initiative=initiative, what="set KPI sources")
        row = source_rows.source_for(session=session, initiative_id=initiative.id, kpi=kpi.name)
        if command.query is None:
            if row is None:
                raise NotFound(alert_messages.no_source(key=initiative.key, kpi=kpi.name))
            source_rows.delete(session=session, row=row)
            append_event(session=session, team_id=initiative.team_id, actor=actor.user_id,
                         action="kpi_source.removed", target=initiative.key, payload={"kpi": kpi.name}, at=actor.now)
            return alert_messages.source_removed(key=initiative.key, kpi=kpi.name)
        replaced = row is not None
        row = row or KpiSource(team_id=initiative.team_id, initiative_id=initiative.id, kpi=kpi.name, query="",
                               created_by=actor.user_id, created_at=actor.now, next_run_at=actor.now)
        row.query, row.created_by, row.next_run_at = command.query, actor.user_id, actor.now
        row.last_error = row.last_error_at = None
        source_rows.save(session=session, row=row)
        append_event(session=session, team_id=initiative.team_id, actor=actor.user_id, action="kpi_source.set",
                     target=initiative.key, payload={"kpi": kpi.name, "query": command.query}, at=actor.now)
        return alert_messages.source_set(key=initiative.key, kpi_label=kpi.label, kpi=kpi.name, query=command.query,
                                         minutes=row.interval_minutes,
                                         configured=services.settings.prometheus_url is not None, replaced=replaced)


def show_lines(session: Session, initiative: Initiative) -> list[str]:
    """`initiative show`: the Prometheus sources with their query and any error they are in."""
    sources = source_rows.sources_of(session=session, initiative_id=initiative.id)
    if not sources:
        return []
    return ["*Prometheus sources*", *alert_messages.source_lines(sources, zone=initiative.timezone)]


@lru_cache(maxsize=16)
def _configured(path: Path | None) -> PrometheusConfig:
    return load_monitor_config(path)[1]


def evaluate_due(services: Services, *, now: datetime) -> StepResult:
    """The sweep's step: bring STEWARD_CONFIG's sources in, then query each due source (needs PROMETHEUS_URL)."""
    result = StepResult("prometheus_sources")
    _sync_configured(services, now, result)
    if services.settings.prometheus_url is None:
        return result
    with read_scope(services.engine) as session:
        due = [(row.id, row.kpi) for row in source_rows.due_sources(session=session, now=now)]
    return each_row(result, due, lambda row: f"kpi source {row[0]} ({row[1]})",
                    lambda row: _evaluate(services, row[0], now))


def _sync_configured(services: Services, now: datetime, result: StepResult) -> None:
    configured = _configured(services.settings.steward_config)
    for key, per_kpi in configured.sources.items():
        for name, item in per_kpi.items():
            try:
                _sync_one(services, key, name, item.query, item.every_minutes, now)
            except Exception as exc:
                result.fail(f"STEWARD_CONFIG prometheus.sources.{key}.{name}", exc)


def _sync_one(services: Services, key: str, name: str, query: str, minutes: int, now: datetime) -> None:
    if name not in KPIS:
        raise ValueError(f"{name!r} is not a KPI (one of {', '.join(KPIS)})")
    with session_scope(services.engine) as session:
        found = repository.initiatives_by_key(session=session, key=key, team_id=None)
        if not found:
            raise ValueError(f"no initiative {key!r}")
        for initiative in found:
            row = source_rows.source_for(session=session, initiative_id=initiative.id, kpi=name)
            if row is not None and (row.created_by != CONFIGURED_BY or
                                    (row.query == query and row.interval_minutes == minutes)):
                continue  # a source set in Slack wins over the file; an unchanged one stays as it is
            row = row or KpiSource(team_id=initiative.team_id, initiative_id=initiative.id, kpi=name, query=query,
                                   created_by=CONFIGURED_BY, created_at=now, next_run_at=now)
            row.query, row.interval_minutes, row.next_run_at = query, minutes, now
            row.last_error = row.last_error_at = None
            source_rows.save(session=session, row=row)


def _evaluate(services: Services, source_id: int, now: datetime) -> bool:
    with read_scope(services.engine) as session:
        row = session.get(KpiSource, source_id)
        if row is None or row.next_run_at > now:
            return False
        query, kpi = row.query, KPIS[row.kpi]
    outcome = query_prometheus(services, query, kpi, now)  # outside any transaction: no lock waits on Prometheus
    with session_scope(services.engine) as session:
        row = session.get(KpiSource, source_id)
        if row is None or row.query != query:
            return False  # removed or changed meanwhile
        initiative = repository.initiative_by_id(session=session, initiative_id=row.initiative_id)
        lock_row(session=session, model=Initiative, key=initiative.id)  # the lock order: initiative first
        session.refresh(row)
        if row.next_run_at > now:
            return False  # another sweep got here first
        row.next_run_at = now + timedelta(minutes=row.interval_minutes)
        row.last_run_at = now
        if outcome.error is None:
            row.last_value, row.last_error, row.last_error_at = outcome.value, None, None
            source_rows.save(session=session, row=row)
            kpi_flows.add_measurement(session, services, initiative, kpi.name, outcome.value, at=now,
                                      by="prometheus", source="prometheus")
        else:
            if outcome.error != row.last_error:  # recorded once per change of error, not at every evaluation
                row.last_error, row.last_error_at = outcome.error, now
                append_event(session=session, team_id=initiative.team_id, actor="steward",
                             action="kpi_source.failed", target=initiative.key,
                             payload={"kpi": kpi.name, "query": query, "error": outcome.error}, at=now)
            source_rows.save(session=session, row=row)
    services.notify_outbox()
    return outcome.error is None


def query_prometheus(services: Services, query: str, kpi, now: datetime) -> QueryOutcome:
    """Ask Prometheus's HTTP API for the query's value at `now`; every failure becomes an error to show."""
    base = services.settings.prometheus_url.rstrip("/")
    timeout = services.settings.prometheus_timeout_seconds
    params = urllib.parse.urlencode({"query": query, "time": f"{now.timestamp():.3f}", "timeout": f"{timeout:g}s"})
    request = urllib.request.Request(f"{base}/api/v1/query?{params}", headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read(MAX_ANSWER + 1)
    except urllib.error.HTTPError as error:
        raw = error.read(MAX_ANSWER + 1)  # Prometheus explains bad queries (400) and failures (422, 503) in JSON
        try:
            return query_outcome(json.loads(raw), kpi)
        except ValueError:
            return QueryOutcome(error=f"Prometheus answered HTTP {error.code}")
    except TimeoutError:
        return QueryOutcome(error=f"Prometheus did not answer within {timeout:g} s")
    except urllib.error.URLError as error:
        reason = error.reason
        if isinstance(reason, TimeoutError):
            return QueryOutcome(error=f"Prometheus did not answer within {timeout:g} s")
        return QueryOutcome(error=f"Prometheus is unreachable at {base}: {reason}")
    except OSError as error:
        return QueryOutcome(error=f"Prometheus is unreachable at {base}: {error}")
    if len(raw) > MAX_ANSWER:
        return QueryOutcome(error=f"Prometheus's answer is over {MAX_ANSWER} bytes: aggregate the query")
    try:
        return query_outcome(json.loads(raw), kpi)
    except ValueError:
        return QueryOutcome(error="Prometheus answered something that is not JSON")
