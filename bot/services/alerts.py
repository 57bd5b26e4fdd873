"""Flows for alert webhooks from Alertmanager and Grafana: each alert becomes a measurement, an incident or a note.

Every alert of a grouped payload is handled on its own, in its own transaction: a bad one (no initiative,
an unknown KPI) is reported back and records nothing, and the others go through.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

from sqlmodel import Session

from bot import metrics
from bot.domain.alerts import Alert, AlertPolicy, AlertProblem, Payload, kpi_value, still_firing_note_due
from bot.domain.escalation import IncidentKind, IncidentStatus
from bot.org_config import load_monitor_config
from bot.services import incidents as incident_flows
from bot.services import kpis as kpi_flows
from bot.services import pages as page_flows
from bot.services import paging_targets
from bot.services.context import Services
from messages import alerts as alert_messages
from storage import alerts as alert_rows
from storage import audit, incidents, repository, timeline, tokens
from storage.audit import append_event
from storage.db import lock_row, read_scope, retrying, session_scope
from storage.models import Incident, Initiative, MonitorAlert

log = logging.getLogger(__name__)


class Unauthorized(Exception):
    """The bearer token is unknown or revoked."""


@dataclass(frozen=True)
class Credential:
    team_id: str
    initiative_id: int | None  # None: a workspace integration token, good for any of its initiatives
    actor: str  # how the audit trail names it (`integration:stwi_abc`, `api:stw_abc`)


@dataclass
class Outcome:
    handled: list[dict] = field(default_factory=list)
    problems: list[AlertProblem] = field(default_factory=list)


@lru_cache(maxsize=16)
def _policy(path: Path | None) -> AlertPolicy:
    config, _ = load_monitor_config(path)
    severities = dict(AlertPolicy().severities)
    severities.update({name.strip().lower(): severity for name, severity in config.severities.items()})
    return AlertPolicy(severities=severities, default_severity=config.default_severity,
                       resolve_unacknowledged=config.resolve_unacknowledged,
                       still_firing_every=timedelta(minutes=config.still_firing_minutes))


def policy(services: Services) -> AlertPolicy:
    return _policy(services.settings.steward_config)


def authenticate(services: Services, token: str) -> Credential:
    """An integration token (any initiative of its workspace) or an initiative's KPI token (that one only)."""
    with read_scope(services.engine) as session:
        integration = alert_rows.find_integration_token(session=session, token=token)
        if integration is not None:
            return Credential(integration.team_id, None, f"integration:{integration.prefix}")
        row = tokens.find_active(session=session, token=token)
        if row is not None:
            return Credential(row.team_id, row.initiative_id, f"api:{row.prefix}")
    raise Unauthorized("unknown or revoked token")


def receive(services: Services, credential: Credential, payload: Payload, *, now: datetime) -> Outcome:
    """Handle every alert of a payload on its own; problems name the alert and record nothing for it."""
    outcome = Outcome(problems=list(payload.problems))
    rules = policy(services)
    for alert in payload.alerts:
        try:
            handled = retrying(lambda alert=alert: _one(services, credential, payload, alert, rules, now))
        except _AlertRefused as refused:
            outcome.problems.append(AlertProblem(alert.index, alert.name, str(refused)))
            metrics.ALERTS_RECEIVED.labels(outcome="refused").inc()
            continue
        outcome.handled.append({"alert": alert.index, "alertname": alert.name, **handled})
        metrics.ALERTS_RECEIVED.labels(outcome=_METRIC_OUTCOMES.get(handled.get("action"), "recorded")).inc()
    for _problem in payload.problems:
        metrics.ALERTS_RECEIVED.labels(outcome="refused").inc()
    services.notify_outbox()
    return outcome


# Bounded label values of steward_alerts_received_total.
_METRIC_OUTCOMES = {"declared": "declared", "repeat": "repeat", "still firing": "repeat", "firing again": "repeat",
                    "resolved": "resolved", "noted": "resolved_noted", "nothing open": "ignored",
                    "already noted": "ignored"}


class _AlertRefused(ValueError):
    pass


def _initiative(session: Session, credential: Credential, alert: Alert) -> Initiative:
    key = alert.initiative
    if not key:
        raise _AlertRefused("label steward_initiative is missing: it names the initiative the alert is about")
    initiative = repository.get_initiative(session=session, team_id=credential.team_id, key=key.strip())
    if initiative is None or initiative.archived:
        raise _AlertRefused(f"unknown initiative {key[:40]!r} (label steward_initiative) in this workspace")
    if credential.initiative_id is not None and credential.initiative_id != initiative.id:
        raise _AlertRefused(f"this token is not for initiative {key[:40]!r}: use that initiative's token or a "
                            "workspace integration token")
    return initiative


def _one(services: Services, credential: Credential, payload: Payload, alert: Alert, rules: AlertPolicy,
         now: datetime) -> dict:
    with session_scope(services.engine) as session:
        initiative = _initiative(session, credential, alert)
        if alert.kpi is not None:
            try:
                kpi, value = kpi_value(alert)  # checked before anything is written
            except ValueError as error:
                raise _AlertRefused(str(error)) from None
            lock_row(session=session, model=Initiative, key=initiative.id)  # the lock order: initiative first
            kpi_flows.add_measurement(session, services, initiative, kpi.name, value, at=now,
                                      by=f"{payload.source}:{alert.name}"[:64], source="alertmanager")
            return {"initiative": initiative.key, "recorded": {"kpi": kpi.name, "value": value}}
        lock_row(session=session, model=Initiative, key=initiative.id)
        if alert.status == "firing":
            return _firing(session, services, credential, payload, alert, rules, initiative, now)
        return _resolved(session, services, credential, payload, alert, rules, initiative, now)


def _firing(session: Session, services: Services, credential: Credential, payload: Payload, alert: Alert,
            rules: AlertPolicy, initiative: Initiative, now: datetime) -> dict:
    found = alert_rows.open_alert(session=session, initiative_id=initiative.id, fingerprint=alert.fingerprint)
    if found is not None:
        row, incident = found
        row.last_seen_at = now
        result = {"initiative": initiative.key, "incident": f"INC{incident.number}", "action": "repeat"}
        if row.status == "resolved":
            row.status, row.notes, row.last_note_at = "firing", row.notes + 1, now
            incident_flows.note_in_thread(session, incident, initiative, f"alert:{row.id}:note:{row.notes}",
                                          alert_messages.firing_again(alert, incident_number=incident.number), now)
            result["action"] = "firing again"
            timeline.record(session=session, incident=incident, kind="alert", actor=payload.source, at=now,
                            text=f"{_label(payload.source)} alert {alert.name} firing again",
                            detail={"fingerprint": alert.fingerprint, "status": "firing"})
        elif still_firing_note_due(row.last_note_at, row.first_seen_at, now, rules.still_firing_every):
            row.notes, row.last_note_at = row.notes + 1, now
            incident_flows.note_in_thread(session, incident, initiative, f"alert:{row.id}:note:{row.notes}",
                                          alert_messages.still_firing(alert, incident_number=incident.number,
                                                                      since=row.first_seen_at, now=now), now)
            result["action"] = "still firing"
            timeline.record(session=session, incident=incident, kind="alert", actor=payload.source, at=now,
                            text=f"{_label(payload.source)} alert {alert.name} still firing",
                            detail={"fingerprint": alert.fingerprint, "status": "firing"})
        alert_rows.save(session=session, row=row)
        return result
    severity = rules.severity_for(alert.labels.get("severity"))
    kind = (IncidentKind.INFRASTRUCTURE if alert.labels.get("steward_kind", "").lower() == "infrastructure"
            else IncidentKind.PERFORMANCE)
    incident = incident_flows.open_incident(session, services, initiative, severity=severity, kind=kind,
                                            title=alert.summary, declared_by=payload.source, now=now,
                                            monitor_links=alert_messages.alert_links(alert) or None)
    row = alert_rows.add_alert(session=session, alert=MonitorAlert(
        team_id=initiative.team_id, initiative_id=initiative.id, fingerprint=alert.fingerprint,
        alertname=alert.name[:200], incident_id=incident.id, status="firing", first_seen_at=now, last_seen_at=now))
    incident_flows.note_in_thread(session, incident, initiative, f"alert:{row.id}:details",
                                  alert_messages.alert_details(alert, incident_number=incident.number,
                                                               source=_label(payload.source),
                                                               truncated=payload.truncated), now)
    timeline.record(session=session, incident=incident, kind="alert", actor=payload.source, at=now,
                    text=f"{_label(payload.source)} alert {alert.name} fired",
                    detail={"fingerprint": alert.fingerprint, "status": "firing"})
    append_event(session=session, team_id=initiative.team_id, actor=credential.actor, action="alert.fired",
                 target=initiative.key, payload={"incident": f"INC{incident.number}", "alertname": alert.name,
                                                 "fingerprint": alert.fingerprint, "source": payload.source,
                                                 "truncated": payload.truncated}, at=now)
    return {"initiative": initiative.key, "incident": f"INC{incident.number}", "action": "declared",
            "severity": severity.value}


def _resolved(session: Session, services: Services, credential: Credential, payload: Payload, alert: Alert,
              rules: AlertPolicy, initiative: Initiative, now: datetime) -> dict:
    found = alert_rows.open_alert(session=session, initiative_id=initiative.id, fingerprint=alert.fingerprint)
    if found is None:
        return {"initiative": initiative.key, "action": "nothing open"}  # never seen firing, or closed already
    row, incident = found
    if row.status == "resolved":
        return {"initiative": initiative.key, "incident": f"INC{incident.number}", "action": "already noted"}
    row.status, row.last_seen_at = "resolved", now
    alert_rows.save(session=session, row=row)
    resolving = (rules.resolve_unacknowledged and incident.status is IncidentStatus.OPEN
                 and incident.declared_by == payload.source)
    incident_flows.note_in_thread(session, incident, initiative, f"alert:{row.id}:resolved:{row.notes}",
                                  alert_messages.alert_resolved(
                                      alert, incident_number=incident.number, source=_label(payload.source),
                                      resolving=resolving,
                                      acknowledged=incident.status is IncidentStatus.ACKNOWLEDGED), now)
    timeline.record(session=session, incident=incident, kind="alert", actor=payload.source, at=now,
                    text=f"{_label(payload.source)} alert {alert.name} resolved",
                    detail={"fingerprint": alert.fingerprint, "status": "resolved"})
    append_event(session=session, team_id=initiative.team_id, actor=credential.actor, action="alert.resolved",
                 target=initiative.key, payload={"incident": f"INC{incident.number}", "alertname": alert.name,
                                                 "fingerprint": alert.fingerprint, "resolves": resolving}, at=now)
    if resolving and _resolve(session, incident, initiative, alert, payload, now):
        paging_targets.queue(session, services, incident, initiative, paging_targets.RESOLVE, now,
                             by=payload.source)  # D: PagerDuty and webhooks hear of it too
        return {"initiative": initiative.key, "incident": f"INC{incident.number}", "action": "resolved"}
    return {"initiative": initiative.key, "incident": f"INC{incident.number}", "action": "noted"}


def _resolve(session: Session, incident: Incident, initiative: Initiative, alert: Alert, payload: Payload,
             now: datetime) -> bool:
    """Resolve an incident Steward opened from an alert nobody acknowledged (a click racing it wins)."""
    resolution = alert_messages.auto_resolution(alert, source=_label(payload.source))
    if not incidents.fenced_update(session=session, incident=incident, status=IncidentStatus.RESOLVED,
                                   resolved_by=payload.source, resolved_at=now, resolution=resolution,
                                   next_escalation_at=None):
        return False
    incident_flows._queue_root_update(session, incident, initiative, now)
    # As when a person resolves: the direct pages say so, and a sev1/sev2 still owes its postmortem.
    page_flows.queue_direct_updates(session, incident, now)
    postmortem = incident_flows.log_postmortem_if_due(session, incident, initiative, resolution=resolution,
                                                      by=payload.source, now=now)
    timeline.record(session=session, incident=incident, kind=timeline.RESOLVED, actor=payload.source, at=now,
                    text=resolution, dedup=f"resolved:{incident.id}")
    append_event(session=session, team_id=incident.team_id, actor=payload.source, action="incident.resolved",
                 target=initiative.key, payload={"incident": f"INC{incident.number}", "roles": [],
                                                 "resolution": resolution, "postmortem_requested": postmortem},
                 at=now)
    audit.bind(session=session, team_id=incident.team_id, rows=[incident])
    metrics.observe_resolved(incident.severity, (now - incident.declared_at).total_seconds())
    return True


def _label(source: str) -> str:
    return "Grafana" if source == "grafana" else "Alertmanager"
