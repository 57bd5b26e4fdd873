"""Sign-offs: who may sign what is checked at the moment of signing, and what they saw is kept with it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

from sqlmodel import Session

from bot.domain import permissions
from bot.domain.cadence import CadenceRule
from bot.domain.commands import SignOffCommand
from bot.domain.escalation import Severity
from bot.domain.gates import exit_checklist
from bot.domain.signoff import (
    Decision,
    PriorSignoff,
    Refusal,
    SignoffFacts,
    SubjectKind,
    check,
    scope_expansion_outcome,
)
from bot.domain.vocabulary import Role
from bot.errors import Conflict, NotFound, PermissionDenied, RefusedAttempt
from bot.outbox import queue_message
from bot.services import reviews as review_flows
from bot.services.context import Actor, Services
from bot.services.governance import governance_record
from bot.services.incidents import root_key
from bot.services.kpis import current_standings, thresholds_in_force
from bot.services.lookup import require_initiative
from bot.services.stages import gate_facts
from messages import governance as governance_messages
from messages import reviews as review_messages
from messages import signoffs as signoff_messages
from messages import stages as stage_messages
from messages.render import Message
from storage import audit, incidents, records, repository, thresholds
from storage.audit import append_event, canonical_payload
from storage.db import session_scope
from storage.models import Incident, Initiative, Review, SignOff


def sign(services: Services, actor: Actor, command: SignOffCommand, *, request_key: str | None = None) -> Message:
    """Record a sign-off, or refuse it clearly; the flow runner audits a refused attempt as `signoff.refused`."""
    try:
        with session_scope(services.engine) as session:
            reply = _sign(session, services, actor, command, request_key)
    except (PermissionDenied, Conflict) as refusal:
        # Every refusal of a sign-off on an existing initiative is evidence, whichever check made it.
        attempt = RefusedAttempt("signoff.refused", command.key,
                                 {"subject": str(command.subject), "decision": command.decision.value})
        raise type(refusal)(refusal.message, usage=refusal.usage, attempt=attempt) from refusal
    services.notify_outbox()
    return reply


@dataclass
class _Gathered:
    """What the flow found for the subject, beyond the facts the policy checks."""

    evidence: dict
    review: Review | None = None
    rule: CadenceRule | None = None
    incident: Incident | None = None
    proposed: dict[str, float] = field(default_factory=dict)


def _sign(session: Session, services: Services, actor: Actor, command: SignOffCommand,
          request_key: str | None) -> Message:
    initiative = require_initiative(session, team_id=actor.team_id, key=command.key)
    if request_key and records.signoff_by_request(session=session, team_id=actor.team_id, request_key=request_key):
        return signoff_messages.already_recorded()
    roles = repository.active_roles(session=session, initiative_id=initiative.id)
    facts, found = _gather(session, services, actor, initiative, command, roles)
    verdict = check(facts)
    if isinstance(verdict, Refusal):
        reason = signoff_messages.refused(verdict, facts, key=initiative.key, holders=roles)
        raise PermissionDenied(reason) if verdict.reason.is_permission else Conflict(reason)
    role = verdict
    subject, evidence = command.subject, found.evidence
    if subject.kind is SubjectKind.STAGE_EXIT:
        checks = exit_checklist(gate_facts(session, services, initiative, actor.now))
        evidence["checklist"] = stage_messages.checklist_entries(checks, key=initiative.key, stage=initiative.stage)
    elif subject.kind in (SubjectKind.REVIEW, SubjectKind.RETRAINING) and command.decision is Decision.APPROVE:
        review_flows.check_completable(session, found.review, initiative)

    evidence_json = canonical_payload(evidence)
    signoff = records.add_signoff(session=session, signoff=SignOff(
        team_id=actor.team_id, initiative_id=initiative.id, subject=str(subject), decision=command.decision.value,
        signer=actor.user_id, signer_role=role.value, stage=initiative.stage, comment=command.comment,
        signed_at=actor.now, evidence=evidence_json, evidence_hash=hashlib.sha256(evidence_json.encode()).hexdigest(),
        request_key=request_key))
    if signoff is None:  # the same Slack request arrived twice at once; the unique request key kept one
        return signoff_messages.already_recorded()
    append_event(session=session, team_id=actor.team_id, actor=actor.user_id, action="signoff.recorded",
                 target=initiative.key,
                 payload={"subject": str(subject), "decision": command.decision.value, "role": role.value,
                          "comment": command.comment, "evidence_hash": signoff.evidence_hash,
                          "evidence": evidence}, at=actor.now)
    audit.bind(session=session, team_id=actor.team_id, rows=[signoff])
    unlocked = _carry_out(session, actor, initiative, signoff, command, role, found)
    queue_message(session=session, team_id=actor.team_id, key=f"signoff:{signoff.id}", channel_id=initiative.channel_id,
                  message=signoff_messages.notice(signoff, initiative, role=role, unlocked=unlocked),
                  purpose="notice", initiative_id=initiative.id, at=actor.now)
    return signoff_messages.recorded(signoff, key=initiative.key, role=role, unlocked=unlocked)


def _gather(session: Session, services: Services, actor: Actor, initiative: Initiative, command: SignOffCommand,
            roles: dict[str, str]) -> tuple[SignoffFacts, _Gathered]:
    """Find what the subject names (or refuse: not found) and gather the facts the policy checks."""
    subject = command.subject
    facts = SignoffFacts(subject=subject, decision=command.decision, signer=actor.user_id,
                         held=tuple(permissions.roles_held(actor.user_id, roles)), stage=initiative.stage,
                         days_in_stage=(actor.now - initiative.stage_entered_at).days)
    found = _Gathered(evidence={"subject": str(subject), "decision": command.decision.value,
                                "stage": initiative.stage})
    if subject.kind in (SubjectKind.REVIEW, SubjectKind.RETRAINING):
        found.review, review_initiative, found.rule = review_flows.load_open(services, session, actor, subject.number)
        if review_initiative.id != initiative.id:
            raise NotFound(signoff_messages.wrong_initiative(subject.number, belongs_to=review_initiative.key,
                                                             key=initiative.key))
        facts = replace(facts, review_kind=found.review.kind,
                        completers=found.rule.completers() if found.rule else ())
        found.evidence["review"] = {"number": found.review.number, "kind": found.review.kind,
                                    "due_at": found.review.due_at}
    elif subject.kind is SubjectKind.POSTMORTEM:
        incident = found.incident = incidents.by_number(session=session, team_id=actor.team_id,
                                                        number=subject.number)
        if incident is None or incident.initiative_id != initiative.id:
            raise NotFound(signoff_messages.no_such_incident(subject.number, key=initiative.key))
        facts = replace(facts, incident_severity=Severity(incident.severity), incident_status=incident.status)
        found.evidence["incident"] = {"number": incident.number, "severity": incident.severity,
                                      "title": incident.title, "resolution": incident.resolution,
                                      "resolved_at": incident.resolved_at}
    standings = current_standings(session, initiative, until=actor.now)
    facts = replace(facts, standings=tuple(standings))
    found.evidence["thresholds_in_force"] = thresholds_in_force(session, initiative)
    found.evidence["latest_kpis"] = {s.kpi.name: s.value for s in standings}
    if subject.kind is SubjectKind.BASELINE:
        found.proposed = {kpi: row.value for kpi, row in
                          records.proposed_thresholds(session=session, initiative_id=initiative.id).items()}
        facts = replace(facts, proposed_thresholds=tuple(found.proposed))
        found.evidence["thresholds"] = found.proposed
    elif subject.kind is SubjectKind.GOVERNANCE:
        record = governance_record(session, initiative, services.escalation)
        facts = replace(facts, governance_missing=record.missing())
        found.evidence["governance_record"] = governance_messages.record_entries(record)
    elif subject.kind is SubjectKind.SCOPE_EXPANSION:
        facts = replace(facts, prior_scope=tuple(_scope_signoffs(session, initiative)))
        found.evidence["days_in_operations"] = facts.days_in_stage
    return facts, found


def _carry_out(session: Session, actor: Actor, initiative: Initiative, signoff: SignOff, command: SignOffCommand,
               role: Role, found: _Gathered) -> str:
    """Carry out what a sign-off unlocks beyond itself; return the sentence that says so."""
    subject, decision = command.subject, command.decision
    approve = decision is Decision.APPROVE
    still_needed: list[Role] = []
    if subject.kind is SubjectKind.REVIEW and approve:
        review_flows.mark_completed(session, actor, found.review, initiative,
                                    review_messages.title(found.review, found.rule), signoff.comment, [role])
    elif subject.kind is SubjectKind.RETRAINING:
        review_flows.mark_completed(session, actor, found.review, initiative,
                                    review_messages.title(found.review, found.rule),
                                    signoff_messages.retraining_notes(decision, signoff.comment), [role])
    elif subject.kind is SubjectKind.POSTMORTEM:
        incident = found.incident
        queue_message(session=session, team_id=actor.team_id, key=f"incident:{incident.id}:postmortem:{signoff.id}",
                      channel_id=incident.channel_id, purpose="notice", thread_key=root_key(incident),
                      message=signoff_messages.postmortem_decided(incident.number, decision, actor.user_id,
                                                                  signoff.comment),
                      initiative_id=initiative.id, subject_id=incident.id, at=actor.now)
    elif subject.kind is SubjectKind.SCOPE_EXPANSION:
        approved, still_needed = scope_expansion_outcome(_scope_signoffs(session, initiative))
        if approved:
            append_event(session=session, team_id=actor.team_id, actor=actor.user_id, action="scope_expansion.approved",
                         target=initiative.key, payload={}, at=actor.now)
    elif subject.kind is SubjectKind.BASELINE and approve:
        in_force = thresholds.put_in_force(session=session, team_id=initiative.team_id,
                                           initiative_id=initiative.id, signoff_id=signoff.id,
                                           thresholds=found.proposed, at=signoff.signed_at)
        audit.bind(session=session, team_id=actor.team_id, rows=in_force)  # onto the signoff.recorded event
    return signoff_messages.unlocked(subject, decision, still_needed=still_needed)


def _scope_signoffs(session: Session, initiative: Initiative) -> list[PriorSignoff]:
    return [PriorSignoff(s.signer, Role(s.signer_role), Decision(s.decision)) for s in
            records.signoffs(session=session, initiative_id=initiative.id, subject=SubjectKind.SCOPE_EXPANSION.value)]
