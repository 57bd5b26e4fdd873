"""Who may sign what (SPEC section 5), as plain data and functions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.vocabulary import Role


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
