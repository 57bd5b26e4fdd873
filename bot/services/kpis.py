"""Flows for KPI thresholds and measurements, and the standings other flows show and check."""

from __future__ import annotations

import json
from datetime import datetime

from sqlmodel import Session

from bot.domain import permissions
from bot.domain.commands import KpiRecord, KpiThresholdSet
from bot.domain.kpis import KPIS, KpiStanding, standings
from bot.domain.signoff import Decision, SubjectKind
from bot.errors import PermissionDenied
from bot.services.context import Actor, Services
from bot.services.lookup import require_initiative
from messages.render import Message, render
from storage import records, repository
from storage.audit import append_event
from storage.db import session_scope
from storage.models import Initiative, KpiMeasurement, KpiThreshold


def thresholds_in_force(session: Session, initiative: Initiative) -> dict[str, float]:
    """The thresholds the latest approved baseline sign-off saw; a rejection leaves the earlier ones in force."""
    approved = [s for s in records.signoffs(session, initiative_id=initiative.id, subject=SubjectKind.BASELINE.value)
                if s.decision == Decision.APPROVE]
    if not approved:
        return {}
    return {name: float(value) for name, value in json.loads(approved[-1].evidence)["thresholds"].items()}


def current_standings(session: Session, initiative: Initiative, until: datetime | None = None) -> list[KpiStanding]:
    latest = records.latest_measurements(session, initiative_id=initiative.id, until=until)
    return standings(thresholds_in_force(session, initiative), {k: m.value for k, m in latest.items()})


def _require_role(session: Session, services: Services, actor: Actor, initiative: Initiative, what: str) -> None:
    roles = repository.active_roles(session=session, initiative_id=initiative.id)
    if not permissions.roles_held(actor.user_id, roles) and actor.user_id not in services.settings.steward_admins:
        raise PermissionDenied(f"Only people holding a role on `{initiative.key}` (or Steward admins) can {what}.")


def set_threshold(services: Services, actor: Actor, command: KpiThresholdSet) -> Message:
    """Propose a threshold; it is in force once the business owner signs the baseline."""
    kpi = KPIS[command.kpi]
    with session_scope(services.engine) as session:
        initiative = require_initiative(session, team_id=actor.team_id, key=command.key)
        _require_role(session, services, actor, initiative, "propose thresholds")
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
        _require_role(session, services, actor, initiative, "record KPIs")
        add_measurement(session, initiative, kpi.name, command.value, at=actor.now, by=actor.user_id, source="slack")
        standing = next(s for s in current_standings(session, initiative) if s.kpi.name == kpi.name)
    verdict = ("no threshold in force yet" if standing.within is None else
               "within threshold" if standing.within else "*outside* threshold")
    return render("incident_note", text=f"{kpi.label} recorded",
                  line=f":bar_chart: Recorded {kpi.label} = {command.value:g} {kpi.unit} for `{initiative.key}`: "
                       f"{verdict}.", context_line=None)


def add_measurement(session: Session, initiative: Initiative, kpi: str, value: float, *, at: datetime, by: str,
                    source: str) -> KpiMeasurement:
    measurement = KpiMeasurement(team_id=initiative.team_id, initiative_id=initiative.id, kpi=kpi, value=value,
                                 measured_at=at, recorded_by=by, source=source, created_at=at)
    session.add(measurement)
    session.flush()
    append_event(session, team_id=initiative.team_id, actor=by, action="kpi.recorded", target=initiative.key,
                 payload={"kpi": kpi, "value": value, "measured_at": at, "source": source}, at=at)
    return measurement
