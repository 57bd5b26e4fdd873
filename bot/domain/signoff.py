"""Who may sign what (SPEC section 5), as plain data and functions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.escalation import Severity
from bot.domain.gates import SCOPE_EXPANSION_DAYS
from bot.domain.kpis import KPIS, KpiStanding, all_within
from bot.domain.vocabulary import Role
from states import IncidentStatus, Stage


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class SubjectKind(StrEnum):
    STAGE_EXIT = "stage-exit"
    BASELINE = "baseline"
    GOVERNANCE = "governance"
    REVIEW = "review"
    RETRAINING = "retraining"
    POSTMORTEM = "postmortem"
    SCOPE_EXPANSION = "scope-expansion"


@dataclass(frozen=True)
class Subject:
    kind: SubjectKind
    number: int | None = None  # R<n> for review/retraining, INC<n> for postmortem

    def __str__(self) -> str:
        if self.kind in (SubjectKind.REVIEW, SubjectKind.RETRAINING):
            return f"{self.kind.value}:R{self.number}"
        if self.kind is SubjectKind.POSTMORTEM:
            return f"{self.kind.value}:INC{self.number}"
        return self.kind.value


_REFERENCED = re.compile(r"^(review|retraining):r?(\d{1,9})$|^(postmortem):(?:inc)?(\d{1,9})$", re.IGNORECASE)
SUBJECT_FORMS = ("stage-exit", "baseline", "governance", "review:R<n>", "retraining:R<n>", "postmortem:INC<n>",
                 "scope-expansion")


def parse_subject(text: str) -> Subject | None:
    word = text.strip().lower()
    for kind in (SubjectKind.STAGE_EXIT, SubjectKind.BASELINE, SubjectKind.GOVERNANCE, SubjectKind.SCOPE_EXPANSION):
        if word == kind.value:
            return Subject(kind)
    match = _REFERENCED.match(word)
    if match is None:
        return None
    kind = match.group(1) or match.group(3)
    number = match.group(2) or match.group(4)
    return Subject(SubjectKind(kind.lower()), int(number))


# Subjects only the business owner signs; scope expansion needs the sponsor too.
OWNER_ONLY = {SubjectKind.STAGE_EXIT, SubjectKind.BASELINE, SubjectKind.GOVERNANCE, SubjectKind.RETRAINING,
              SubjectKind.POSTMORTEM}
SCOPE_SIGNERS = (Role.BUSINESS_OWNER, Role.EXECUTIVE_SPONSOR)


def signing_roles(subject: Subject, review_completers: tuple[Role, ...] = ()) -> tuple[Role, ...]:
    """The roles whose holders may sign this subject."""
    if subject.kind in OWNER_ONLY:
        return (Role.BUSINESS_OWNER,)
    if subject.kind is SubjectKind.SCOPE_EXPANSION:
        return SCOPE_SIGNERS
    return review_completers


def qualifying_role(subject: Subject, held: list[Role], review_completers: tuple[Role, ...] = ()) -> Role | None:
    """The role under which a person signs, or None when they hold none that may."""
    allowed = signing_roles(subject, review_completers)
    return next((role for role in allowed if role in held), None)


@dataclass(frozen=True)
class PriorSignoff:
    signer: str
    role: Role
    decision: Decision


def scope_expansion_outcome(signoffs: list[PriorSignoff]) -> tuple[bool, list[Role]]:
    """Whether scope expansion is approved by both roles, by two different people; and who is still needed.

    Only the latest sign-off of each role counts (a later one supersedes an earlier one), and one
    person holding both roles cannot approve for both: no one approves their own request.
    """
    latest: dict[Role, PriorSignoff] = {}
    for signoff in signoffs:
        latest[signoff.role] = signoff
    approved = {role: s for role, s in latest.items() if s.decision is Decision.APPROVE}
    missing = [role for role in SCOPE_SIGNERS if role not in approved]
    if not missing:
        people = {s.signer for s in approved.values()}
        if len(people) < 2:
            return False, [Role.EXECUTIVE_SPONSOR]
        return True, []
    return False, missing


RETRAINING_REVIEW = "quarterly-retraining-assessment"
POSTMORTEM_SEVERITIES = (Severity.SEV1, Severity.SEV2)


@dataclass(frozen=True)
class SignoffFacts:
    """Everything the sign-off policy looks at, gathered by the flow."""

    subject: Subject
    decision: Decision
    signer: str
    held: tuple[Role, ...]  # the roles the signer holds on the initiative
    stage: Stage
    days_in_stage: int = 0
    completers: tuple[Role, ...] = ()  # review and retraining: the roles that complete the review
    review_kind: str | None = None
    incident_severity: Severity | None = None
    incident_status: IncidentStatus | None = None
    proposed_thresholds: tuple[str, ...] = ()  # the KPIs with a proposed threshold
    governance_missing: tuple[str, ...] = ()  # governance items still missing
    standings: tuple[KpiStanding, ...] = ()  # each KPI's latest value against its threshold in force
    prior_scope: tuple[PriorSignoff, ...] = ()  # earlier scope-expansion sign-offs of the initiative


class Reason(StrEnum):
    """Why a sign-off is refused; the message module words each reason."""

    NOT_RETRAINING = "not-retraining"  # retraining:R<n> names a review of another kind
    NO_POSTMORTEM = "no-postmortem"  # only sev1 and sev2 incidents have postmortems
    INCIDENT_NOT_RESOLVED = "incident-not-resolved"
    NOT_A_SIGNER = "not-a-signer"  # the person holds none of the roles that sign this subject
    RETIRED = "retired"
    THRESHOLDS_MISSING = "thresholds-missing"
    GOVERNANCE_INCOMPLETE = "governance-incomplete"
    TOO_EARLY_FOR_SCOPE = "too-early-for-scope"
    KPIS_NOT_WITHIN = "kpis-not-within"
    SAME_PERSON = "same-person"  # one person approving scope expansion under both roles

    @property
    def is_permission(self) -> bool:
        """Whether the refusal is about who signs (rather than about the state of the initiative)."""
        return self in (Reason.NOT_A_SIGNER, Reason.SAME_PERSON)


@dataclass(frozen=True)
class Refusal:
    reason: Reason
    missing: tuple[str, ...] = ()  # thresholds, governance items or KPIs, by name
    roles: tuple[Role, ...] = ()  # NOT_A_SIGNER: the roles that may sign


def check(facts: SignoffFacts) -> Refusal | Role:
    """Refuse a sign-off with its reason, or return the role it is signed under."""
    kind, approve = facts.subject.kind, facts.decision is Decision.APPROVE
    if kind is SubjectKind.RETRAINING and facts.review_kind != RETRAINING_REVIEW:
        return Refusal(Reason.NOT_RETRAINING)
    if kind is SubjectKind.POSTMORTEM:
        if facts.incident_severity not in POSTMORTEM_SEVERITIES:
            return Refusal(Reason.NO_POSTMORTEM)
        if facts.incident_status is not IncidentStatus.RESOLVED:
            return Refusal(Reason.INCIDENT_NOT_RESOLVED)
    role = qualifying_role(facts.subject, list(facts.held), facts.completers)
    if role is None:
        return Refusal(Reason.NOT_A_SIGNER, roles=signing_roles(facts.subject, facts.completers))
    if kind is SubjectKind.STAGE_EXIT and facts.stage is Stage.RETIRED:
        return Refusal(Reason.RETIRED)
    if kind is SubjectKind.BASELINE and approve:
        missing = tuple(name for name in KPIS if name not in facts.proposed_thresholds)
        if missing:
            return Refusal(Reason.THRESHOLDS_MISSING, missing)
    if kind is SubjectKind.GOVERNANCE and approve and facts.governance_missing:
        return Refusal(Reason.GOVERNANCE_INCOMPLETE, facts.governance_missing)
    if kind is SubjectKind.SCOPE_EXPANSION:
        if facts.stage is not Stage.OPERATIONS or facts.days_in_stage < SCOPE_EXPANSION_DAYS:
            return Refusal(Reason.TOO_EARLY_FOR_SCOPE)
        if approve and not all_within(list(facts.standings)):
            return Refusal(Reason.KPIS_NOT_WITHIN, tuple(s.kpi.name for s in facts.standings if s.within is not True))
        if any(p.signer == facts.signer and p.role is not role and p.decision is Decision.APPROVE
               for p in facts.prior_scope):
            return Refusal(Reason.SAME_PERSON)
    return role
