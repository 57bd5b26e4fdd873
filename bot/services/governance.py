"""Flows for the readiness assessment, the governance record and the deviations of an initiative."""

from __future__ import annotations

from dataclasses import replace

from sqlmodel import Session

from bot.domain.commands import DeviationLog, GovernanceSet, ReadinessSet
from bot.domain.escalation import EscalationPolicy
from bot.domain.gates import GovernanceRecord
from bot.domain.signoff import SubjectKind
from bot.domain.vocabulary import Role
from bot.outbox import queue_message
from bot.services import distribution
from bot.services.context import Actor, Services
from bot.services.kpis import thresholds_in_force
from bot.services.lookup import require_initiative, require_record_keeper
from bot.services.signoff_voids import Cause, void_broken_stage_exit
from messages import governance as governance_messages
from messages.render import Message
from storage import incidents, records, repository
from storage.audit import append_event
from storage.db import read_scope, session_scope
from storage.models import Initiative


def governance_record(session: Session, initiative: Initiative, policy: EscalationPolicy) -> GovernanceRecord:
    """Gather the six items of the initiative's governance record."""
    items = records.latest_governance(session=session, initiative_id=initiative.id)
    roles = repository.active_roles(session=session, initiative_id=initiative.id)
    return GovernanceRecord(texts={item: row.value for item, row in items.items()},
                            owner=roles.get(Role.BUSINESS_OWNER),
                            thresholds=thresholds_in_force(session, initiative),
                            escalation=policy.matrix_for(initiative.key))


def set_readiness(services: Services, actor: Actor, command: ReadinessSet) -> Message:
    """Record one readiness dimension as ready or not, with its evidence."""
    with session_scope(services.engine) as session:
        initiative = require_initiative(session, team_id=actor.team_id, key=command.key)
        require_record_keeper(session, user_id=actor.user_id, admins=services.settings.steward_admins,
                              initiative=initiative, what="assess readiness")
        if command.dimension == "data" and command.ready:  # H (issue 17): a distribution comparison on record
            command = replace(command, evidence=distribution.readiness_evidence(session, initiative, command.evidence))
        records.add_readiness(session=session, team_id=actor.team_id, initiative_id=initiative.id,
                              dimension=command.dimension, ready=command.ready, evidence=command.evidence,
                              by=actor.user_id, at=actor.now)
        append_event(session=session, team_id=actor.team_id, actor=actor.user_id, action="readiness.assessed",
                     target=initiative.key, payload={"dimension": command.dimension, "ready": command.ready,
                                                     "evidence": command.evidence}, at=actor.now)
        if not command.ready:
            void_broken_stage_exit(session, services, initiative, cause=Cause.READINESS, by=actor.user_id,
                                   now=actor.now)
        latest = {d: row.ready for d, row in records.latest_readiness(session=session,
                                                                      initiative_id=initiative.id).items()}
    services.notify_outbox()
    return governance_messages.readiness_recorded(key=initiative.key, dimension=command.dimension,
                                                  ready=command.ready, latest=latest)


def set_or_show_governance(services: Services, actor: Actor, command: GovernanceSet) -> Message:
    """Show the governance record, after setting one of its items when the command names one."""
    scope = read_scope if command.item is None else session_scope
    with scope(services.engine) as session:
        initiative = require_initiative(session, team_id=actor.team_id, key=command.key)
        if command.item is not None:
            require_record_keeper(session, user_id=actor.user_id, admins=services.settings.steward_admins,
                                  initiative=initiative, what="edit the governance record")
            records.add_governance_item(session=session, team_id=actor.team_id, initiative_id=initiative.id,
                                        item=command.item, value=command.value, by=actor.user_id, at=actor.now)
            append_event(session=session, team_id=actor.team_id, actor=actor.user_id, action="governance.item_set",
                         target=initiative.key, payload={"item": command.item, "value": command.value}, at=actor.now)
        record = governance_record(session, initiative, services.escalation)
        signed = records.latest_signoff(session=session, initiative_id=initiative.id,
                                        subject=SubjectKind.GOVERNANCE.value)
    return governance_messages.record(key=initiative.key, timezone=initiative.timezone,
                                      entries=governance_messages.record_entries(record), signed=signed,
                                      item_set=command.item)


def log_deviation(services: Services, actor: Actor, command: DeviationLog) -> Message:
    """Log a departure from expected behaviour (the seed asks for every one, however minor)."""
    with session_scope(services.engine) as session:
        initiative = require_initiative(session, team_id=actor.team_id, key=command.key)
        require_record_keeper(session, user_id=actor.user_id, admins=services.settings.steward_admins,
                              initiative=initiative, what="log deviations")
        deviation = incidents.add_deviation(session=session, team_id=actor.team_id, initiative_id=initiative.id,
                                            text=command.text, by=actor.user_id, at=actor.now)
        append_event(session=session, team_id=actor.team_id, actor=actor.user_id, action="deviation.logged",
                     target=initiative.key, payload={"deviation": deviation.id, "text": command.text}, at=actor.now)
        notice = governance_messages.deviation_notice(key=initiative.key, actor=actor.user_id, text=command.text)
        queue_message(session=session, team_id=actor.team_id, key=f"deviation:{deviation.id}",
                      channel_id=initiative.channel_id, message=notice, purpose="notice",
                      initiative_id=initiative.id, at=actor.now)
    services.notify_outbox()
    return governance_messages.deviation_logged(key=initiative.key, number=deviation.id)
