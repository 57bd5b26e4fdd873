"""Sign-offs: who may sign what is checked at the moment of signing, and what they saw is kept with it."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.domain import permissions
from bot.domain.commands import SignOffCommand
from bot.domain.escalation import Severity
from bot.domain.gates import SCOPE_EXPANSION_DAYS, exit_checklist
from bot.domain.kpis import KPIS, all_within
from bot.domain.signoff import (
    Decision,
    PriorSignoff,
    SubjectKind,
    qualifying_role,
    scope_expansion_outcome,
    signing_roles,
)
from bot.domain.vocabulary import Role, Stage
from bot.errors import Conflict, NotFound, PermissionDenied, StewardError
from bot.outbox import queue_message
from bot.services import reviews as review_flows
from bot.services.context import Actor, Services
from bot.services.governance import governance_record
from bot.services.incidents import root_key
from bot.services.kpis import current_standings, thresholds_in_force
from bot.services.lookup import require_initiative
from bot.services.stages import gate_facts
from messages.render import Message, render
from storage import incidents, records, repository, thresholds
from storage.audit import append_event, canonical_payload
from storage.db import session_scope
from storage.models import Initiative, SignOff


def sign(services: Services, actor: Actor, command: SignOffCommand, *, request_key: str | None = None) -> Message:
    """Record a sign-off, or refuse it clearly; a refused attempt is itself written to the audit log."""
    try:
        with session_scope(services.engine) as session:
            reply = _sign(session, services, actor, command, request_key)
    except (PermissionDenied, Conflict) as refusal:
        _record_refusal(services, actor, command, refusal.message)
        raise
    except IntegrityError:
        # The same Slack request arrived twice at once; the unique request key kept one.
        return render("incident_note", text="Already recorded", line="This sign-off was already recorded.",
                      context_line=None)
    services.notify_outbox()
    return reply


def _sign(session: Session, services: Services, actor: Actor, command: SignOffCommand,
          request_key: str | None) -> Message:
    initiative = require_initiative(session, team_id=actor.team_id, key=command.key)
    if request_key and records.signoff_by_request(session, team_id=actor.team_id, request_key=request_key):
        return render("incident_note", text="Already recorded", line="This sign-off was already recorded.",
                      context_line=None)
    subject = command.subject
    roles = repository.active_roles(session=session, initiative_id=initiative.id)
    held = permissions.roles_held(actor.user_id, roles)
    evidence: dict = {"subject": str(subject), "decision": command.decision.value, "stage": initiative.stage}
    completers: tuple[Role, ...] = ()
    review = rule = incident = None

    if subject.kind in (SubjectKind.REVIEW, SubjectKind.RETRAINING):
        review, review_initiative, rule = review_flows.load_open(services, session, actor, subject.number)
        if review_initiative.id != initiative.id:
            raise NotFound(f"R{subject.number} belongs to `{review_initiative.key}`, not `{initiative.key}`.")
        if subject.kind is SubjectKind.RETRAINING and review.kind != "quarterly-retraining-assessment":
            raise Conflict(f"R{subject.number} is a {review.kind}, not a quarterly retraining assessment.")
        completers = rule.completers() if rule else ()
        evidence["review"] = {"number": review.number, "kind": review.kind, "due_at": review.due_at}
    elif subject.kind is SubjectKind.POSTMORTEM:
        incident = incidents.by_number(session, team_id=actor.team_id, number=subject.number)
        if incident is None or incident.initiative_id != initiative.id:
            raise NotFound(f"There is no incident INC{subject.number} on `{initiative.key}`.")
        if Severity(incident.severity) not in (Severity.SEV1, Severity.SEV2):
            raise Conflict(f"INC{incident.number} is a {incident.severity}; only sev1 and sev2 have postmortems.")
        if incident.status != "resolved":
            raise Conflict(f"INC{incident.number} is {incident.status}; resolve it before its postmortem.")
        evidence["incident"] = {"number": incident.number, "severity": incident.severity, "title": incident.title,
                                "resolution": incident.resolution, "resolved_at": incident.resolved_at}

    role = qualifying_role(subject, held, completers)
    if role is None:
        allowed = signing_roles(subject, completers)
        who = " or ".join(f"the {r.label} ({'<@' + roles[r] + '>' if r in roles else 'vacant'})" for r in allowed)
        raise PermissionDenied(f"Only {who} can sign `{subject}` for `{initiative.key}`.")

    standings = current_standings(session, initiative, until=actor.now)
    evidence["thresholds_in_force"] = thresholds_in_force(session, initiative)
    evidence["latest_kpis"] = {s.kpi.name: s.value for s in standings}
    approve = command.decision is Decision.APPROVE

    if subject.kind is SubjectKind.STAGE_EXIT:
        if initiative.stage == Stage.RETIRED:
            raise Conflict(f"`{initiative.key}` is retired; there is no stage to exit.")
        checks = exit_checklist(gate_facts(session, services, initiative, actor.now))
        evidence["checklist"] = [{"check": c.label, "holds": c.holds, "detail": c.detail} for c in checks]
    elif subject.kind is SubjectKind.BASELINE:
        proposed = {k: t.value for k, t in records.proposed_thresholds(session, initiative_id=initiative.id).items()}
        missing = [name for name in KPIS if name not in proposed]
        if approve and missing:
            raise Conflict("Propose all five thresholds before approving the baseline; missing: "
                           + ", ".join(f"`{m}`" for m in missing) + f". `/steward kpi threshold {initiative.key} "
                           "<kpi> <value>`.")
        evidence["thresholds"] = proposed
    elif subject.kind is SubjectKind.GOVERNANCE:
        record = governance_record(session, initiative, services.escalation)
        missing = [item for item, value in record.items() if value is None]
        if approve and missing:
            raise Conflict("The governance record is incomplete; missing: " + ", ".join(f"`{m}`" for m in missing)
                           + f". `/steward governance {initiative.key}` shows it.")
        evidence["governance_record"] = record
    elif subject.kind is SubjectKind.SCOPE_EXPANSION:
        days = (actor.now - initiative.stage_entered_at).days
        if initiative.stage != Stage.OPERATIONS or days < SCOPE_EXPANSION_DAYS:
            raise Conflict(f"Scope expansion is considered only after {SCOPE_EXPANSION_DAYS} days of stable "
                           f"operations; `{initiative.key}` is in {initiative.stage}"
                           + (f" for {days} days." if initiative.stage == Stage.OPERATIONS else "."))
        if approve and not all_within(standings):
            outside = [s.kpi.name for s in standings if s.within is not True]
            raise Conflict("Scope expansion needs every KPI within its threshold; not within (or not recorded): "
                           + ", ".join(f"`{n}`" for n in outside) + ".")
        prior = _scope_signoffs(session, initiative)
        if any(p.signer == actor.user_id and p.role is not role and p.decision is Decision.APPROVE for p in prior):
            raise PermissionDenied("You approved scope expansion under your other role; the business owner and "
                                   "the executive sponsor must be two different people.")
        evidence["days_in_operations"] = days
    elif subject.kind in (SubjectKind.REVIEW, SubjectKind.RETRAINING) and approve:
        review_flows.check_completable(session, review, initiative)

    evidence_json = canonical_payload(evidence)
    signoff = SignOff(team_id=actor.team_id, initiative_id=initiative.id, subject=str(subject),
                      decision=command.decision.value, signer=actor.user_id, signer_role=role.value,
                      stage=initiative.stage, comment=command.comment, signed_at=actor.now, evidence=evidence_json,
                      evidence_hash=hashlib.sha256(evidence_json.encode()).hexdigest(), request_key=request_key)
    session.add(signoff)
    session.flush()
    append_event(session, team_id=actor.team_id, actor=actor.user_id, action="signoff.recorded",
                 target=initiative.key,
                 payload={"subject": str(subject), "decision": command.decision.value, "role": role.value,
                          "comment": command.comment, "evidence_hash": signoff.evidence_hash,
                          "evidence": evidence}, at=actor.now)
    extra = _consequences(session, services, actor, initiative, signoff, subject, review, rule, incident, role)
    notice = render("signoff_notice", signoff=signoff, initiative=initiative, role_label=role.label, extra=extra)
    queue_message(session, team_id=actor.team_id, key=f"signoff:{signoff.id}", channel_id=initiative.channel_id,
                  message=notice, purpose="notice", initiative_id=initiative.id, at=actor.now)
    verb = "approved" if approve else "rejected"
    return render("incident_note", text=f"{subject} {verb}",
                  line=f":memo: Recorded: you ({role.label}) {verb} `{subject}` for `{initiative.key}`."
                       + (f" {extra}" if extra else ""),
                  context_line=f"Evidence {signoff.evidence_hash[:12]} is kept with the sign-off.")


def _consequences(session, services, actor, initiative: Initiative, signoff: SignOff, subject, review, rule, incident,
                  role: Role) -> str:
    """What a sign-off unlocks beyond itself; returns a sentence for the notice."""
    approve = signoff.decision == Decision.APPROVE
    if subject.kind is SubjectKind.REVIEW and approve:
        review_flows.mark_completed(session, actor, review, initiative, rule.title if rule else review.kind,
                                    signoff.comment, [role])
        return f"R{review.number} is completed."
    if subject.kind is SubjectKind.RETRAINING:
        decision = "Retraining approved" if approve else "Retraining rejected"
        notes = f"{decision}: {signoff.comment}" if signoff.comment else decision
        review_flows.mark_completed(session, actor, review, initiative, rule.title if rule else review.kind, notes,
                                    [role])
        return f"{decision}; R{review.number} is completed."
    if subject.kind is SubjectKind.POSTMORTEM:
        line = f":memo: Postmortem {'approved' if approve else 'rejected'} by <@{actor.user_id}>."
        message = render("incident_note", text=f"INC{incident.number} postmortem", line=line,
                         context_line=signoff.comment)
        queue_message(session, team_id=actor.team_id, key=f"incident:{incident.id}:postmortem:{signoff.id}",
                      channel_id=incident.channel_id, message=message, purpose="notice", thread_key=root_key(incident),
                      initiative_id=initiative.id, subject_id=incident.id, at=actor.now)
        return "The postmortem is closed." if approve else "The postmortem stays open."
    if subject.kind is SubjectKind.SCOPE_EXPANSION:
        approved, missing = scope_expansion_outcome(_scope_signoffs(session, initiative))
        if approved:
            append_event(session, team_id=actor.team_id, actor=actor.user_id, action="scope_expansion.approved",
                         target=initiative.key, payload={}, at=actor.now)
            return "Scope expansion is approved by both the business owner and the executive sponsor."
        return "Still needed: " + ", ".join(r.label for r in missing) + "."
    if subject.kind is SubjectKind.BASELINE and approve:
        thresholds.put_in_force(session=session, team_id=initiative.team_id, initiative_id=initiative.id,
                                signoff_id=signoff.id, thresholds=json.loads(signoff.evidence)["thresholds"],
                                at=signoff.signed_at)
        return "These thresholds are now in force."
    return ""


def _scope_signoffs(session: Session, initiative: Initiative) -> list[PriorSignoff]:
    return [PriorSignoff(s.signer, Role(s.signer_role), Decision(s.decision)) for s in
            records.signoffs(session, initiative_id=initiative.id, subject=SubjectKind.SCOPE_EXPANSION.value)]


def _record_refusal(services: Services, actor: Actor, command: SignOffCommand, reason: str) -> None:
    try:
        with session_scope(services.engine) as session:
            initiative = require_initiative(session, team_id=actor.team_id, key=command.key)
            append_event(session, team_id=actor.team_id, actor=actor.user_id, action="signoff.refused",
                         target=initiative.key, payload={"subject": str(command.subject),
                                                         "decision": command.decision.value, "reason": reason},
                         at=actor.now)
    except StewardError:
        pass  # no such initiative: nothing to attach the attempt to
