"""Flows for the readiness assessment and the governance record of an initiative."""

from __future__ import annotations

from sqlmodel import Session

from bot.domain.commands import DeviationLog, GovernanceSet, ReadinessSet
from bot.domain.escalation import EscalationPolicy
from bot.domain.gates import DIMENSIONS, GOVERNANCE_ITEMS
from bot.domain.vocabulary import Role
from bot.outbox import queue_message
from bot.services.context import Actor, Services
from bot.services.kpis import thresholds_in_force
from bot.services.lookup import require_initiative, require_record_keeper
from messages.render import Message, local_time, mrkdwn_escape, render
from storage import incidents, records, repository
from storage.audit import append_event
from storage.db import read_scope, session_scope
from storage.models import GovernanceItem, Initiative, ReadinessAssessment


def governance_record(session: Session, initiative: Initiative, policy: EscalationPolicy) -> dict[str, str | None]:
    """Each of the six items: what it says, or None when missing."""
    items = records.latest_governance(session, initiative_id=initiative.id)
    roles = repository.active_roles(session=session, initiative_id=initiative.id)
    thresholds = thresholds_in_force(session, initiative)
    owner = roles.get(Role.BUSINESS_OWNER)
    matrix = policy.matrix_for(initiative.key)
    escalation = "; ".join(
        f"{severity.value}: " + ", ".join(f"L{lv.number} +{lv.after_minutes}m {'/'.join(r.label for r in lv.roles)}"
                                          for lv in ladder)
        for severity, ladder in matrix.items())
    return {
        "use-case": items["use-case"].value if "use-case" in items else None,
        "owner": f"<@{owner}>" if owner else None,
        "thresholds": ", ".join(f"{k} {v:g}" for k, v in thresholds.items()) if thresholds else None,
        "escalation": escalation,
        "compliance": items["compliance"].value if "compliance" in items else None,
        "audit-spec": items["audit-spec"].value if "audit-spec" in items else None,
    }



def set_readiness(services: Services, actor: Actor, command: ReadinessSet) -> Message:
    with session_scope(services.engine) as session:
        initiative = require_initiative(session, team_id=actor.team_id, key=command.key)
        require_record_keeper(session, user_id=actor.user_id, admins=services.settings.steward_admins,
                              initiative=initiative, what="assess readiness")
        session.add(ReadinessAssessment(team_id=actor.team_id, initiative_id=initiative.id,
                                        dimension=command.dimension, ready=command.ready, evidence=command.evidence,
                                        set_by=actor.user_id, set_at=actor.now))
        append_event(session, team_id=actor.team_id, actor=actor.user_id, action="readiness.assessed",
                     target=initiative.key, payload={"dimension": command.dimension, "ready": command.ready,
                                                     "evidence": command.evidence}, at=actor.now)
        latest = records.latest_readiness(session, initiative_id=initiative.id)
    lines = [f"{':white_check_mark:' if latest[d].ready else ':x:'} {label}" if d in latest else
             f":white_circle: {label}: not assessed" for d, label in DIMENSIONS.items()]
    return render("incident_note", text="Readiness recorded",
                  line=f"Recorded *{DIMENSIONS[command.dimension]}* as "
                       f"*{'ready' if command.ready else 'not ready'}* for `{initiative.key}`.\n" + "\n".join(lines),
                  context_line=None)


def set_or_show_governance(services: Services, actor: Actor, command: GovernanceSet) -> Message:
    scope = read_scope if command.item is None else session_scope
    with scope(services.engine) as session:
        initiative = require_initiative(session, team_id=actor.team_id, key=command.key)
        if command.item is not None:
            require_record_keeper(session, user_id=actor.user_id, admins=services.settings.steward_admins,
                                  initiative=initiative, what="edit the governance record")
            session.add(GovernanceItem(team_id=actor.team_id, initiative_id=initiative.id, item=command.item,
                                       value=command.value, set_by=actor.user_id, set_at=actor.now))
            append_event(session, team_id=actor.team_id, actor=actor.user_id, action="governance.item_set",
                         target=initiative.key, payload={"item": command.item, "value": command.value}, at=actor.now)
            session.flush()
        record = governance_record(session, initiative, services.escalation)
        signed = records.latest_signoff(session, initiative_id=initiative.id, subject="governance")
    lines = []
    for item, label in GOVERNANCE_ITEMS.items():
        value = record[item]
        shown = (value if item == "owner" else mrkdwn_escape(value)) if value else "*missing*"
        lines.append(f"{':white_check_mark:' if value else ':x:'} *{item}* ({label}): {shown}")
    status = (f"Signed ({signed.decision}) by <@{signed.signer}> on {local_time(signed.signed_at, initiative.timezone)}"
              if signed else "Not signed yet: `/steward signoff " + initiative.key + " governance approve`")
    head = f"Set *{command.item}*. " if command.item else ""
    return render("incident_note", text=f"Governance record of {initiative.key}",
                  line=f"{head}Governance record of `{initiative.key}`:\n" + "\n".join(lines), context_line=status)


def log_deviation(services: Services, actor: Actor, command: DeviationLog) -> Message:
    """Log a departure from expected behaviour (the seed asks for every one, however minor)."""
    with session_scope(services.engine) as session:
        initiative = require_initiative(session, team_id=actor.team_id, key=command.key)
        require_record_keeper(session, user_id=actor.user_id, admins=services.settings.steward_admins,
                              initiative=initiative, what="log deviations")
        deviation = incidents.add_deviation(session, team_id=actor.team_id, initiative_id=initiative.id,
                                            text=command.text, by=actor.user_id, at=actor.now)
        append_event(session, team_id=actor.team_id, actor=actor.user_id, action="deviation.logged",
                     target=initiative.key, payload={"deviation": deviation.id, "text": command.text}, at=actor.now)
        notice = render("incident_note", text=f"Deviation logged on {initiative.key}",
                        line=f":memo: <@{actor.user_id}> logged a deviation on `{initiative.key}`:\n>"
                             + mrkdwn_escape(command.text).replace("\n", "\n>"),
                        context_line="Patterns that look like noise in week two often reveal systematic issues by "
                                     "week six.")
        queue_message(session, team_id=actor.team_id, key=f"deviation:{deviation.id}", channel_id=initiative.channel_id,
                      message=notice, purpose="notice", initiative_id=initiative.id, at=actor.now)
    services.notify_outbox()
    return render("incident_note", text="Deviation logged",
                  line=f":memo: Logged deviation D{deviation.id} on `{initiative.key}`.", context_line=None)
