"""Sign-offs: who may sign what is checked at the moment of signing, and what they saw is kept with it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.domain import permissions
from bot.domain.cadence import CadenceRule
from bot.domain.commands import SignOffCommand
from bot.domain.escalation import Severity
from bot.domain.evidence import Baseline, IncidentSpan, Measurement, Stability, stability
from bot.domain.gates import SCOPE_EXPANSION_DAYS, STAGE_EXIT_SIGNED, Check, exit_checklist, unmet
from bot.domain.signoff import (
    Decision,
    PriorSignoff,
    Reason,
    Refusal,
    SignoffFacts,
    SubjectKind,
    check,
    scope_expansion_outcome,
    signing_roles,
)
from bot.domain.vocabulary import Role, Stage
from bot.errors import Conflict, NotFound, PermissionDenied, RefusedAttempt
from bot.outbox import queue_message
from bot.services import cover
from bot.services import reviews as review_flows
from bot.services import rollout as rollout_flows
from bot.services.context import Actor, Services
from bot.services.governance import governance_record
from bot.services.incidents import root_key
from bot.services.kpis import current_standings, thresholds_in_force
from bot.services.lookup import require_initiative
from bot.services.signoff_voids import Cause, void_broken_stage_exit
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
        raise type(refusal)(refusal.message, usage=refusal.usage, attempt=attempt, reply=refusal.reply) from refusal
    services.notify_outbox()
    return reply


@dataclass
class _Gathered:
    """What the flow found for the subject, beyond the facts the policy checks."""

    evidence: dict
    checks: list[Check] = field(default_factory=list)  # stage exit: the exit checklist when signing
    stability: Stability | None = None  # scope expansion: the period of stable operations ending now
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
        reason = signoff_messages.refused(verdict, facts, key=initiative.key, holders=roles, zone=initiative.timezone)
        if verdict.reason.is_permission:
            raise PermissionDenied(reason)
        reply = None
        if verdict.reason is Reason.EXIT_CRITERIA_UNMET:  # shown with the checklist, as `initiative advance` does
            reply = signoff_messages.exit_refused(reason, stage_messages.checklist(
                initiative, [c for c in found.checks if c.name != STAGE_EXIT_SIGNED], stage=initiative.stage))
        raise Conflict(reason, reply=reply)
    role = verdict
    subject, evidence = command.subject, found.evidence
    if subject.kind is SubjectKind.STAGE_EXIT:
        checks = found.checks
        evidence["checklist"] = stage_messages.checklist_entries(checks, key=initiative.key, stage=initiative.stage)
        # Which criteria held when signed: what the sign-off approves, and what voids it when it breaks.
        evidence["criteria_held"] = [c.label for c in checks if c.holds and c.name != STAGE_EXIT_SIGNED]
    elif subject.kind in (SubjectKind.REVIEW, SubjectKind.RETRAINING) and command.decision is Decision.APPROVE:
        review_flows.check_completable(session, found.review, initiative,
                                       freshness=timedelta(days=services.kpis.freshness_days))

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
    unlocked = _carry_out(session, services, actor, initiative, signoff, command, role, found)
    if "acting" in evidence:  # B: "<admin> acting for the vacant business owner", in the reply and the notice
        unlocked = f"Signed by {evidence['acting']}. {unlocked}".strip()
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
    # B (issue 14 point 5): a Steward admin may sign for a vacant signing role; the evidence and audit say so.
    acting = permissions.acting_role(actor.user_id, services.settings.steward_admins, roles,
                                     signing_roles(subject, facts.completers))
    if acting is not None and acting.for_vacant:
        facts = replace(facts, held=(*facts.held, acting.role))
        found.evidence["acting_for"] = acting.role.value
        found.evidence["acting"] = review_messages.acting_words(actor.user_id, acting.role)
    standings = current_standings(session, initiative, now=actor.now, policy=services.kpis)
    facts = replace(facts, standings=tuple(standings))
    found.evidence["thresholds_in_force"] = thresholds_in_force(session, initiative)
    found.evidence["latest_kpis"] = {s.kpi.name: s.value for s in standings}
    found.evidence["kpis_measured_at"] = {s.kpi.name: s.measured_at for s in standings if s.measured_at}
    found.evidence["kpis_stale"] = [s.kpi.name for s in standings if s.stale]
    if subject.kind is SubjectKind.STAGE_EXIT:
        found.checks = exit_checklist(gate_facts(session, services, initiative, actor.now))
        facts = replace(facts, exit_unmet=tuple(c.label for c in unmet(found.checks) if c.name != STAGE_EXIT_SIGNED))
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
        found.stability = scope_stability(session, services, initiative, actor.now)
        facts = replace(facts, prior_scope=tuple(_scope_signoffs(session, initiative)), stability=found.stability)
        covering = cover.counts_as(session, initiative_id=initiative.id, user_id=actor.user_id) - {actor.user_id}
        facts = replace(facts, counts_as=covering)  # D: covering someone, one counts as them
        if covering:
            found.evidence["covering"] = sorted(covering)
        found.evidence["days_in_operations"] = facts.days_in_stage
        found.evidence["stable_operations"] = {
            "holds": found.stability.holds, "holds_from": found.stability.holds_from,
            "breaks": [{"kind": b.kind.value, "kpi": b.kpi, "incident": b.incident, "start": b.start, "end": b.end}
                       for b in found.stability.breaks]}
    return facts, found


def scope_stability(session: Session, services: Services, initiative: Initiative, now: datetime) -> Stability:
    """The evidence for scope expansion: the period of stable operations ending `now`, and what broke it.

    Reads the measurements of the last 90 days plus the pairing and freshness windows (and each KPI's latest
    before that), the approved baselines and the incidents: bounded by the period, not by the history.
    """
    policy = services.kpis
    freshness = timedelta(days=policy.freshness_days)
    since = now - timedelta(days=SCOPE_EXPANSION_DAYS + policy.scope_pairing_days) - freshness
    rows = [*records.latest_measurements(session=session, initiative_id=initiative.id, until=since).values(),
            *records.measurements_between(session=session, initiative_id=initiative.id, since=since, until=now)]
    return stability(
        now=now, operations_since=initiative.stage_entered_at if initiative.stage is Stage.OPERATIONS else None,
        baselines=[Baseline(at, values) for at, values in thresholds.baselines(session=session,
                                                                              initiative_id=initiative.id)],
        measurements=[Measurement(m.kpi, m.value, m.measured_at) for m in rows],
        incidents=[IncidentSpan(i.number, i.severity, i.declared_at, i.resolved_at)
                   for i in incidents.for_initiative(session=session, initiative_id=initiative.id)],
        freshness=freshness, days=SCOPE_EXPANSION_DAYS, since=since)


def _carry_out(session: Session, services: Services, actor: Actor, initiative: Initiative, signoff: SignOff,
               command: SignOffCommand, role: Role, found: _Gathered) -> str:
    """Carry out what a sign-off unlocks beyond itself; return the sentence that says so."""
    subject, decision = command.subject, command.decision
    approve = decision is Decision.APPROVE
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
        pairing = services.kpis.scope_pairing_days
        outcome = scope_expansion_outcome(_scope_signoffs(session, initiative), holds_from=found.stability.holds_from,
                                          pairing=timedelta(days=pairing))
        if outcome.approved:
            append_event(session=session, team_id=actor.team_id, actor=actor.user_id, action="scope_expansion.approved",
                         target=initiative.key,
                         payload={"stable_since": found.stability.holds_from, "pairing_days": pairing}, at=actor.now)
        return signoff_messages.unlocked(subject, decision, still_needed=[Role(r) for r in outcome.still_needed],
                                         lapsed=outcome.lapsed, pairing_days=pairing, zone=initiative.timezone,
                                         months_in_operations=(actor.now - initiative.stage_entered_at).days // 30)
    elif subject.kind is SubjectKind.BASELINE and approve:
        superseded = bool(thresholds_in_force(session, initiative))
        in_force = thresholds.put_in_force(session=session, team_id=initiative.team_id,
                                           initiative_id=initiative.id, signoff_id=signoff.id,
                                           thresholds=found.proposed, at=signoff.signed_at)
        audit.bind(session=session, team_id=actor.team_id, rows=in_force)  # onto the signoff.recorded event
        if superseded:
            void_broken_stage_exit(session, services, initiative, cause=Cause.BASELINE, by=actor.user_id,
                                   now=actor.now, baseline_superseded=True)
    elif subject.kind is SubjectKind.GOVERNANCE and not approve:
        void_broken_stage_exit(session, services, initiative, cause=Cause.GOVERNANCE, by=actor.user_id, now=actor.now)
    elif subject.kind is SubjectKind.ROLLOUT:  # G (issue 17): the rollout share waiting for this sign-off
        return rollout_flows.signed(session, initiative, signoff, percent=subject.number)
    return signoff_messages.unlocked(subject, decision)


def _scope_signoffs(session: Session, initiative: Initiative) -> list[PriorSignoff]:
    return [PriorSignoff(s.signer, Role(s.signer_role), Decision(s.decision), s.signed_at,
                         counts_as=frozenset(json.loads(s.evidence).get("covering") or ()))  # D: cover
            for s in records.signoffs(session=session, initiative_id=initiative.id,
                                      subject=SubjectKind.SCOPE_EXPANSION.value)]
