"""Who may sign what (SPEC section 5), as plain data and functions."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.domain.escalation import Severity
from bot.domain.evidence import Approval, ScopeOutcome, Stability, scope_outcome
from bot.domain.gates import SCOPE_EXPANSION_DAYS
from bot.domain.kpis import KPIS, KpiStanding
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
    ROLLOUT = "rollout"  # G (issue 17): rollout:<percent>, the business owner approves a rollout share


@dataclass(frozen=True)
class Subject:
    kind: SubjectKind
    number: int | None = None  # R<n> for review/retraining, INC<n> for postmortem

    def __str__(self) -> str:
        if self.kind in (SubjectKind.REVIEW, SubjectKind.RETRAINING):
            return f"{self.kind.value}:R{self.number}"
        if self.kind is SubjectKind.POSTMORTEM:
            return f"{self.kind.value}:INC{self.number}"
        if self.kind is SubjectKind.ROLLOUT:
            return f"{self.kind.value}:{self.number}"
        return self.kind.value


_REFERENCED = re.compile(r"^(review|retraining):r?(\d{1,9})$|^(postmortem):(?:inc)?(\d{1,9})$", re.IGNORECASE)
SUBJECT_FORMS = ("stage-exit", "baseline", "governance", "review:R<n>", "retraining:R<n>", "postmortem:INC<n>",
                 "scope-expansion", "rollout:<percent>")
_ROLLOUT = re.compile(r"^rollout:(\d{1,3})%?$", re.IGNORECASE)  # G (issue 17)


def parse_subject(text: str) -> Subject | None:
    word = text.strip().lower()
    for kind in (SubjectKind.STAGE_EXIT, SubjectKind.BASELINE, SubjectKind.GOVERNANCE, SubjectKind.SCOPE_EXPANSION):
        if word == kind.value:
            return Subject(kind)
    rollout = _ROLLOUT.match(word)
    if rollout is not None:
        return Subject(SubjectKind.ROLLOUT, int(rollout.group(1))) if 1 <= int(rollout.group(1)) <= 100 else None
    match = _REFERENCED.match(word)
    if match is None:
        return None
    kind = match.group(1) or match.group(3)
    number = match.group(2) or match.group(4)
    return Subject(SubjectKind(kind.lower()), int(number))


# Subjects only the business owner signs; scope expansion needs the sponsor too.
OWNER_ONLY = {SubjectKind.STAGE_EXIT, SubjectKind.BASELINE, SubjectKind.GOVERNANCE, SubjectKind.RETRAINING,
              SubjectKind.POSTMORTEM, SubjectKind.ROLLOUT}
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
    at: datetime | None = None
    counts_as: frozenset[str] = frozenset()  # D: the holders the signer was covering (separation of duties)


def scope_expansion_outcome(signoffs: Sequence[PriorSignoff], *, holds_from: datetime | None,
                            pairing: timedelta) -> ScopeOutcome:
    """Whether scope expansion is approved by both roles, by two different people; who is still needed; and
    which approvals on record no longer count.

    Only the latest sign-off of each role counts (a later one supersedes an earlier one); one person holding
    both roles (or acting for one) cannot approve for both; both approvals must fall after stable operations
    first held (`holds_from`: a break between the two voids the first) and within `pairing` of each other.
    """
    approvals = [Approval(s.signer, s.role.value, s.decision is Decision.APPROVE, s.at, s.counts_as)
                 for s in signoffs if s.at is not None]
    return scope_outcome(approvals, roles=[role.value for role in SCOPE_SIGNERS], holds_from=holds_from,
                         pairing=pairing)


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
    standings: tuple[KpiStanding, ...] = ()  # each KPI's latest value against its threshold in force (fresh or not)
    prior_scope: tuple[PriorSignoff, ...] = ()  # earlier scope-expansion sign-offs of the initiative
    counts_as: frozenset[str] = frozenset()  # D: the holders the signer covers now (they count as them)
    stability: Stability | None = None  # scope expansion: the period of stable operations ending now
    exit_unmet: tuple[str, ...] = ()  # stage exit: the other exit criteria that do not hold


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
    NOT_STABLE = "not-stable"  # scope expansion: the period of stable operations was broken (facts.stability)
    EXIT_CRITERIA_UNMET = "exit-criteria-unmet"  # a stage exit is approved only while every other criterion holds
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
    if kind is SubjectKind.STAGE_EXIT and approve and facts.exit_unmet:
        return Refusal(Reason.EXIT_CRITERIA_UNMET, facts.exit_unmet)
    if kind is SubjectKind.BASELINE and approve:
        missing = tuple(name for name in KPIS if name not in facts.proposed_thresholds)
        if missing:
            return Refusal(Reason.THRESHOLDS_MISSING, missing)
    if kind is SubjectKind.GOVERNANCE and approve and facts.governance_missing:
        return Refusal(Reason.GOVERNANCE_INCOMPLETE, facts.governance_missing)
    if kind is SubjectKind.SCOPE_EXPANSION:
        if facts.stage is not Stage.OPERATIONS or facts.days_in_stage < SCOPE_EXPANSION_DAYS:
            return Refusal(Reason.TOO_EARLY_FOR_SCOPE)
        if approve and (facts.stability is None or not facts.stability.holds):
            return Refusal(Reason.NOT_STABLE)
        # One person never gives both approvals, whichever role they hold or act for: the other role's standing
        # approval (its latest sign-off) must come from someone else.
        other = {p.role: p for p in facts.prior_scope if p.role is not role}
        # D: a person covering a role counts as its holder (bot.domain.cover): no way around this rule either.
        signer = {facts.signer, *facts.counts_as}
        if approve and any(signer & {p.signer, *p.counts_as} and p.decision is Decision.APPROVE
                           for p in other.values()):
            return Refusal(Reason.SAME_PERSON)
    return role
