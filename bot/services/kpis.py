"""Flows for KPI thresholds and measurements, and the standings other flows show and check."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from bot.domain.commands import KpiRecord, KpiThresholdSet
from bot.domain.escalation import IncidentKind, Severity
from bot.domain.kpis import KPIS, BreachAction, KpiStanding, breach_action, standings
from bot.domain.vocabulary import Role, Stage
from bot.outbox import queue_message
from bot.services import incidents as incident_flows
from bot.services.context import Actor, Services
from bot.services.lookup import require_initiative, require_record_keeper
from messages.render import Message, render
from storage import incidents as incident_rows
from storage import records, repository, thresholds
from storage.audit import append_event
from storage.db import read_scope, session_scope
from storage.models import Initiative, KpiMeasurement, KpiThreshold


def thresholds_in_force(session: Session, initiative: Initiative) -> dict[str, float]:
    """The thresholds of the latest approved baseline; a rejection leaves the earlier ones in force."""
    return thresholds.in_force(session=session, initiative_id=initiative.id)


def current_standings(session: Session, initiative: Initiative, until: datetime | None = None) -> list[KpiStanding]:
    latest = records.latest_measurements(session, initiative_id=initiative.id, until=until)
    return standings(thresholds_in_force(session, initiative), {k: m.value for k, m in latest.items()})



def set_threshold(services: Services, actor: Actor, command: KpiThresholdSet) -> Message:
    """Propose a threshold; it is in force once the business owner signs the baseline."""
    kpi = KPIS[command.kpi]
    with session_scope(services.engine) as session:
        initiative = require_initiative(session, team_id=actor.team_id, key=command.key)
        require_record_keeper(session, user_id=actor.user_id, admins=services.settings.steward_admins,
                              initiative=initiative, what="propose thresholds")
        session.add(KpiThreshold(team_id=actor.team_id, initiative_id=initiative.id, kpi=kpi.name, value=command.value,
                                 set_by=actor.user_id, set_at=actor.now))
        in_force = thresholds_in_force(session, initiative).get(kpi.name)
        append_event(session, team_id=actor.team_id, actor=actor.user_id, action="kpi.threshold_proposed",
                     target=initiative.key, payload={"kpi": kpi.name, "value": command.value, "in_force": in_force},
                     at=actor.now)
    now_line = f" (in force now: {kpi.describe_threshold(in_force)})" if in_force is not None else ""
    return render("incident_note", text=f"{kpi.label} threshold proposed",
                  line=f":straight_ruler: Proposed the {kpi.label} threshold {kpi.describe_threshold(command.value)} "
                       f"for `{initiative.key}`{now_line}.",
                  context_line=f"It is in force once the business owner signs the baseline: `/steward signoff "
                               f"{initiative.key} baseline approve`.")


def record_measurement(services: Services, actor: Actor, command: KpiRecord) -> Message:
    kpi = KPIS[command.kpi]
    with session_scope(services.engine) as session:
        initiative = require_initiative(session, team_id=actor.team_id, key=command.key)
        require_record_keeper(session, user_id=actor.user_id, admins=services.settings.steward_admins,
                              initiative=initiative, what="record KPIs")
        add_measurement(session, services, initiative, kpi.name, command.value, at=actor.now, by=actor.user_id,
                        source="slack")
        standing = next(s for s in current_standings(session, initiative) if s.kpi.name == kpi.name)
    services.notify_outbox()
    verdict = ("no threshold in force yet" if standing.within is None else
               "within threshold" if standing.within else "*outside* threshold")
    return render("incident_note", text=f"{kpi.label} recorded",
                  line=f":bar_chart: Recorded {kpi.label} = {command.value:g} {kpi.unit} for `{initiative.key}`: "
                       f"{verdict}.", context_line=None)


def add_measurement(session: Session, services: Services, initiative: Initiative, kpi: str, value: float, *,
                    at: datetime, by: str, source: str) -> KpiMeasurement:
    """Append a measurement; a breach of a threshold in force logs a deviation and opens one incident."""
    previous = records.latest_measurements(session, initiative_id=initiative.id, until=at).get(kpi)
    measurement = KpiMeasurement(team_id=initiative.team_id, initiative_id=initiative.id, kpi=kpi, value=value,
                                 measured_at=at, recorded_by=by, source=source, created_at=at)
    session.add(measurement)
    session.flush()
    append_event(session, team_id=initiative.team_id, actor=by, action="kpi.recorded", target=initiative.key,
                 payload={"kpi": kpi, "value": value, "measured_at": at, "source": source}, at=at)
    _react_to(session, services, initiative, measurement, previous)
    refresh_silence(session, services, initiative, now=at)
    return measurement


def _react_to(session: Session, services: Services, initiative: Initiative, measurement: KpiMeasurement,
              previous: KpiMeasurement | None) -> None:
    kpi = KPIS[measurement.kpi]
    threshold = thresholds_in_force(session, initiative).get(kpi.name)
    open_incident = incident_rows.open_for_kpi(session, initiative_id=initiative.id, kpi=kpi.name)
    previously_within = kpi.within(previous.value, threshold) if previous and threshold is not None else None
    action = breach_action(kpi, threshold, measurement.value, incident_open=open_incident is not None,
                           previously_within=previously_within)
    if action is BreachAction.DECLARE:
        shown = f"{measurement.value:g} {kpi.unit}".replace(" %", "%")
        title = f"{kpi.label.capitalize()} {shown} breaches its threshold {kpi.describe_threshold(threshold)}"
        incident = incident_flows.open_incident(
            session, services, initiative, severity=Severity(services.kpis.breach_severity),
            kind=IncidentKind.PERFORMANCE, title=title, declared_by="steward", now=measurement.measured_at,
            kpi=kpi.name)
        incident_rows.add_deviation(session, team_id=initiative.team_id, initiative_id=initiative.id,
                                    text=f"{title} (recorded by {measurement.recorded_by} via {measurement.source})",
                                    by="steward", at=measurement.measured_at, incident_id=incident.id)
    elif action is BreachAction.RECOVERED:
        shown = f"{measurement.value:g} {kpi.unit}".replace(" %", "%")
        incident_flows.note_in_thread(
            session, open_incident, initiative, f"recovered:{measurement.id}",
            f":chart_with_upwards_trend: {kpi.label.capitalize()} is back within its threshold: {shown} "
            f"({kpi.describe_threshold(threshold)}). Resolve INC{open_incident.number} when you are satisfied.",
            measurement.measured_at)


def refresh_silence(session: Session, services: Services, initiative: Initiative, *, now: datetime) -> None:
    """Set when the first KPI will have gone silent too long (only launch and operations watch for silence)."""
    if initiative.stage not in (Stage.LAUNCH, Stage.OPERATIONS):
        initiative.kpi_silent_after = None
    else:
        latest = records.latest_measurements(session, initiative_id=initiative.id)
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


def prompt_silent_kpis(engine, services: Services, *, now: datetime) -> int:
    """Ask the data engineer about KPIs with no measurement for the silence window (the seed's silent decay)."""
    prompted = 0
    with read_scope(engine) as session:
        due = list(session.exec(select(Initiative).where(col(Initiative.kpi_silent_after) <= now,
                                                         col(Initiative.archived).is_(False))))
    window = timedelta(days=services.kpis.silence_days)
    for initiative in due:
        with session_scope(engine) as session:
            initiative = session.get(Initiative, initiative.id)
            if initiative.kpi_silent_after is None or initiative.kpi_silent_after > now:
                continue
            latest = records.latest_measurements(session, initiative_id=initiative.id)
            since = watched_since(initiative)
            silent = [name for name in KPIS if _last_seen(latest, name, since) + window <= now]
            if silent and initiative.stage in (Stage.LAUNCH, Stage.OPERATIONS):
                roles = repository.active_roles(session=session, initiative_id=initiative.id)
                engineer = roles.get(Role.DATA_ENGINEER)
                who = f"<@{engineer}>" if engineer else "The data engineer role is *vacant*; someone"
                names = ", ".join(f"{KPIS[n].label} (`{n}`)" for n in silent)
                line = (f":mute: {who}, no measurement of {names} for `{initiative.key}` in "
                        f"{services.kpis.silence_days} days. Silence is a signal too: please check the pipeline.")
                message = render("incident_note", text=f"KPIs silent for {initiative.key}", line=line,
                                 context_line=f"Record with `/steward kpi record {initiative.key} <kpi> <value>` or "
                                              "push them to the ingestion API.")
                queue_message(session, team_id=initiative.team_id, key=f"kpi-silence:{initiative.id}:{now.date()}",
                              channel_id=initiative.channel_id, message=message, purpose="notice",
                              initiative_id=initiative.id, at=now)
                append_event(session, team_id=initiative.team_id, actor="steward", action="kpi.silence_prompted",
                             target=initiative.key, payload={"kpis": silent}, at=now)
                prompted += 1
                # Ask again after another window of silence, not at every sweep.
                initiative.kpi_silent_after = now + window
                session.add(initiative)
            else:
                refresh_silence(session, services, initiative, now=now)
    return prompted


def standing_line(standing: KpiStanding) -> str:
    """One KPI's latest value against its threshold, marked within or outside, for messages."""
    kpi = standing.kpi
    value = "no measurement" if standing.value is None else f"{standing.value:g} {kpi.unit}".replace(" %", "%")
    threshold = "no threshold in force" if standing.threshold is None else kpi.describe_threshold(standing.threshold)
    mark = {True: ":white_check_mark: within", False: ":x: *outside*", None: ":white_circle:"}[standing.within]
    return f"{mark} {kpi.label}: {value} ({threshold})"


CHART_DAYS = 90


def chart_for(session: Session, row) -> tuple[bytes, str, str]:
    """Outbox attachment: the trend chart of the initiative a message belongs to, drawn when it is sent."""
    from messages.charts import kpi_trend_png

    initiative = session.get(Initiative, row.initiative_id)
    since = row.due_at - timedelta(days=CHART_DAYS)
    series = {name: [(m.measured_at, m.value) for m in records.measurements(
        session, initiative_id=initiative.id, kpi=name, since=since) if m.measured_at <= row.due_at]
        for name in KPIS}
    png = kpi_trend_png(series, thresholds_in_force(session, initiative), {n: k.label for n, k in KPIS.items()},
                        f"{initiative.name}: KPIs over the last {CHART_DAYS} days")
    return png, f"{initiative.key}-kpis-{row.due_at.date().isoformat()}.png", f"KPI trends of {initiative.key}"
