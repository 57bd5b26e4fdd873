"""Flows for KPI thresholds and measurements, and the standings other flows show and check."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.domain.commands import KpiRecord, KpiThresholdSet
from bot.domain.escalation import IncidentKind, Severity
from bot.domain.kpis import (
    KPIS,
    BreachAction,
    KpiPolicy,
    KpiStanding,
    Reading,
    breach_action,
    is_backfill,
    standings,
)
from bot.domain.vocabulary import Role, Stage
from bot.outbox import queue_message
from bot.services import incidents as incident_flows
from bot.services import rollout as rollout_flows
from bot.services import tokens as token_flows
from bot.services.context import Actor, Services
from bot.services.lookup import require_initiative, require_record_keeper
from bot.services.steps import StepResult, each_row
from messages import kpis as kpi_messages
from messages.render import Message
from storage import incidents as incident_rows
from storage import kpis as kpi_rows
from storage import records, repository, thresholds
from storage.audit import append_event
from storage.db import lock_row, read_scope, retrying, session_scope
from storage.models import Initiative, KpiMeasurement

# Only these stages watch for KPI silence: before launch there is nothing in production to measure.
WATCHED_STAGES = (Stage.LAUNCH, Stage.OPERATIONS)
CHART_DAYS = 90


def thresholds_in_force(session: Session, initiative: Initiative) -> dict[str, float]:
    """The thresholds of the latest approved baseline; a rejection leaves the earlier ones in force."""
    return thresholds.in_force(session=session, initiative_id=initiative.id)


def current_standings(session: Session, initiative: Initiative, *, now: datetime,
                      policy: KpiPolicy) -> list[KpiStanding]:
    """Each KPI's latest value at `now` against the threshold in force, with its age; a value older than the
    freshness window is stale: shown with its date, never within, and missing to any gate or checkpoint."""
    latest = records.latest_measurements(session=session, initiative_id=initiative.id, until=now)
    return standings(thresholds_in_force(session, initiative), {k: m.value for k, m in latest.items()},
                     measured_at={k: m.measured_at for k, m in latest.items()}, now=now,
                     freshness=timedelta(days=policy.freshness_days))


def set_threshold(services: Services, actor: Actor, command: KpiThresholdSet) -> Message:
    """Propose a threshold; it is in force once the business owner signs the baseline."""
    kpi = KPIS[command.kpi]
    with session_scope(services.engine) as session:
        initiative = require_initiative(session, team_id=actor.team_id, key=command.key)
        require_record_keeper(session, user_id=actor.user_id, admins=services.settings.steward_admins,
                              initiative=initiative, what="propose thresholds")
        kpi_rows.propose_threshold(session=session, team_id=actor.team_id, initiative_id=initiative.id, kpi=kpi.name,
                                   value=command.value, by=actor.user_id, at=actor.now)
        in_force = thresholds_in_force(session, initiative).get(kpi.name)
        append_event(session=session, team_id=actor.team_id, actor=actor.user_id, action="kpi.threshold_proposed",
                     target=initiative.key, payload={"kpi": kpi.name, "value": command.value, "in_force": in_force},
                     at=actor.now)
    return kpi_messages.threshold_proposed(kpi, key=command.key, value=command.value, in_force=in_force)


def record_measurement(services: Services, actor: Actor, command: KpiRecord) -> Message:
    """Record a value typed in Slack and say where it stands against the threshold in force."""
    kpi = KPIS[command.kpi]
    with session_scope(services.engine) as session:
        initiative = require_initiative(session, team_id=actor.team_id, key=command.key)
        require_record_keeper(session, user_id=actor.user_id, admins=services.settings.steward_admins,
                              initiative=initiative, what="record KPIs")
        lock_row(session=session, model=Initiative, key=initiative.id)  # the lock order: initiative first
        add_measurement(session, services, initiative, kpi.name, command.value, at=actor.now, by=actor.user_id,
                        source="slack")
        standing = next(s for s in current_standings(session, initiative, now=actor.now, policy=services.kpis)
                        if s.kpi.name == kpi.name)
        zone = initiative.timezone
    services.notify_outbox()
    return kpi_messages.recorded(standing, key=command.key, value=command.value, zone=zone)






def ingest(services: Services, *, token: str, key: str, readings: Sequence[Reading],
           now: datetime) -> dict[str, bool | None]:
    """Record a pipeline's readings and return each KPI's standing; refuse an unknown token or another's initiative."""

    def transaction() -> dict[str, bool | None]:
        with session_scope(services.engine) as session:
            row, initiative = token_flows.initiative_token(session, token=token, key=key)
            # The lock order (README, "Deployment"): the initiative row first, then counters (a breach declares
            # an incident), and the audit head last: every audit event of the batch is appended at the end.
            lock_row(session=session, model=Initiative, key=initiative.id)
            actor = f"api:{row.prefix}"
            recorded = [add_measurement(session, services, initiative, reading.kpi, reading.value, at=reading.at,
                                        by=actor, source="api", audit=False, recorded_at=now)
                        for reading in sorted(readings, key=lambda r: r.at)]
            for measurement in recorded:
                _audit_measurement(session, initiative, measurement)
            append_event(session=session, team_id=initiative.team_id, actor=actor, action="kpi.ingested",
                         target=initiative.key, payload={"count": len(readings)}, at=now)
            return {s.kpi.name: s.within for s in current_standings(session, initiative, now=now,
                                                                    policy=services.kpis)}

    # A deadlock or serialization failure is run again before the pipeline hears of it.
    standing = retrying(transaction)
    services.notify_outbox()
    return standing


def add_measurement(session: Session, services: Services, initiative: Initiative, kpi: str, value: float, *,
                    at: datetime, by: str, source: str, audit: bool = True,
                    recorded_at: datetime | None = None) -> KpiMeasurement:
    """Append a measurement; a breach of a threshold in force logs a deviation and opens one incident.

    Its audit event is appended after the reaction, so the audit head is locked last (`audit=False`: the caller
    appends it with `_audit_measurement` once every reading of a batch is in).
    """
    previous = records.latest_measurements(session=session, initiative_id=initiative.id, until=at).get(kpi)
    latest = records.latest_measurements(session=session, initiative_id=initiative.id).get(kpi)
    backfill = is_backfill(at, recorded_at=recorded_at or at, latest_at=latest.measured_at if latest else None,
                           freshness=timedelta(days=services.kpis.freshness_days))
    measurement = kpi_rows.add_measurement(session=session, team_id=initiative.team_id, initiative_id=initiative.id,
                                           kpi=kpi, value=value, measured_at=at, by=by, source=source)
    _react_to(session, services, initiative, measurement, previous, backfill=backfill, recorded_at=recorded_at or at)
    refresh_silence(session, services, initiative, now=at)
    if audit:
        _audit_measurement(session, initiative, measurement)
    return measurement


def _audit_measurement(session: Session, initiative: Initiative, measurement: KpiMeasurement) -> None:
    append_event(session=session, team_id=initiative.team_id, actor=measurement.recorded_by, action="kpi.recorded",
                 target=initiative.key, payload={"kpi": measurement.kpi, "value": measurement.value,
                                                 "measured_at": measurement.measured_at,
                                                 "source": measurement.source}, at=measurement.measured_at)


def _react_to(session: Session, services: Services, initiative: Initiative, measurement: KpiMeasurement,
              previous: KpiMeasurement | None, *, backfill: bool, recorded_at: datetime) -> None:
    kpi = KPIS[measurement.kpi]
    threshold = thresholds_in_force(session, initiative).get(kpi.name)
    open_incident = incident_rows.open_for_kpi(session=session, initiative_id=initiative.id, kpi=kpi.name)
    previously_within = kpi.within(previous.value, threshold) if previous and threshold is not None else None
    action = breach_action(kpi, threshold, measurement.value, incident_open=open_incident is not None,
                           previously_within=previously_within, backfill=backfill)
    if action is BreachAction.DECLARE:
        title = kpi_messages.breach_title(kpi, value=measurement.value, threshold=threshold)
        incident = incident_flows.open_incident(
            session, services, initiative, severity=Severity(services.kpis.breach_severity),
            kind=IncidentKind.PERFORMANCE, title=title, declared_by="steward", now=measurement.measured_at,
            kpi=kpi.name)
        incident_rows.add_deviation(session=session, team_id=initiative.team_id, initiative_id=initiative.id,
                                    text=kpi_messages.breach_deviation(title, recorded_by=measurement.recorded_by,
                                                                       source=measurement.source),
                                    by="steward", at=measurement.measured_at, incident_id=incident.id)
        rollout_flows.suggest_hold(session, initiative, kpi=kpi.label, incident_number=incident.number,
                                   at=measurement.measured_at)  # G (issue 17): a breach while rolling out
    elif action is BreachAction.BACKFILLED:
        title = kpi_messages.breach_title(kpi, value=measurement.value, threshold=threshold)
        incident_rows.add_deviation(session=session, team_id=initiative.team_id, initiative_id=initiative.id,
                                    text=kpi_messages.backfilled_breach_deviation(
                                        title, recorded_by=measurement.recorded_by, source=measurement.source,
                                        measured_at=measurement.measured_at, recorded_at=recorded_at),
                                    by="steward", at=recorded_at)
    elif action is BreachAction.RECOVERED:
        note = f"recovered:{measurement.id}"
        message = kpi_messages.recovered(kpi, incident_number=open_incident.number, note=note,
                                         value=measurement.value, threshold=threshold,
                                         measured_at=measurement.measured_at, zone=initiative.timezone)
        incident_flows.note_in_thread(session, open_incident, initiative, note, message, measurement.measured_at)


def refresh_silence(session: Session, services: Services, initiative: Initiative, *, now: datetime) -> None:
    """Set when the first KPI will have gone silent too long (only launch and operations watch for silence)."""
    if initiative.stage not in WATCHED_STAGES:
        initiative.kpi_silent_after = None
    else:
        latest = records.latest_measurements(session=session, initiative_id=initiative.id)
        window = timedelta(days=services.kpis.silence_days)
        since = watched_since(initiative)
        initiative.kpi_silent_after = min(_last_seen(latest, name, since) for name in KPIS) + window
    session.add(initiative)


def watched_since(initiative: Initiative) -> datetime:
    """Silence counts from when Steward began watching this stage (an import's history is not silence)."""
    return max(initiative.stage_entered_at, initiative.created_at)


def _last_seen(latest: dict[str, KpiMeasurement], name: str, since: datetime) -> datetime:
    """When a KPI was last heard of in this stage (the stage's start if never)."""
    return max(latest[name].measured_at, since) if name in latest else since


def prompt_silent_kpis(services: Services, *, now: datetime) -> StepResult:
    """Ask the data engineer about KPIs with no measurement for the silence window, each initiative on its own."""
    with read_scope(services.engine) as session:
        due = [(initiative.id, initiative.key) for initiative in kpi_rows.silent_due(session=session, now=now)]
    return each_row(StepResult("kpi_silence"), due, lambda row: f"initiative {row[1]}",
                    lambda row: _prompt_if_silent(services, row[0], now))


def _prompt_if_silent(services: Services, initiative_id: int, now: datetime) -> bool:
    window = timedelta(days=services.kpis.silence_days)
    with session_scope(services.engine) as session:
        initiative = repository.initiative_by_id(session=session, initiative_id=initiative_id)
        if initiative.kpi_silent_after is None or initiative.kpi_silent_after > now:
            return False  # a measurement or another sweep got here first
        latest = records.latest_measurements(session=session, initiative_id=initiative.id)
        since = watched_since(initiative)
        silent = [name for name in KPIS if _last_seen(latest, name, since) + window <= now]
        if not silent or initiative.stage not in WATCHED_STAGES:
            refresh_silence(session, services, initiative, now=now)
            return False
        roles = repository.active_roles(session=session, initiative_id=initiative.id)
        message = kpi_messages.silence_prompt([KPIS[name] for name in silent], key=initiative.key,
                                              engineer=roles.get(Role.DATA_ENGINEER),
                                              days=services.kpis.silence_days)
        queue_message(session=session, team_id=initiative.team_id, key=f"kpi-silence:{initiative.id}:{now.date()}",
                      channel_id=initiative.channel_id, message=message, purpose="notice",
                      initiative_id=initiative.id, at=now)
        append_event(session=session, team_id=initiative.team_id, actor="steward", action="kpi.silence_prompted",
                     target=initiative.key, payload={"kpis": silent}, at=now)
        # Ask again after another window of silence, not at every sweep.
        initiative.kpi_silent_after = now + window
        session.add(initiative)
        return True


def chart_for(session: Session, row) -> tuple[bytes, str, str]:
    """Outbox attachment: the trend chart of the row's initiative, drawn when sent; ChartError if it cannot be."""
    initiative = repository.initiative_by_id(session=session, initiative_id=row.initiative_id)
    since = row.due_at - timedelta(days=CHART_DAYS)
    series = {name: [(m.measured_at, m.value) for m in records.measurements(
        session=session, initiative_id=initiative.id, kpi=name, since=since) if m.measured_at <= row.due_at]
        for name in KPIS}
    return kpi_messages.trend_chart(series, thresholds_in_force(session, initiative), kpis=list(KPIS.values()),
                                    key=initiative.key, name=initiative.name, days=CHART_DAYS, until=row.due_at)
