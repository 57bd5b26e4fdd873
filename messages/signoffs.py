"""What Steward says about sign-offs: the reply, the channel notice, what a sign-off unlocks, and refusals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from bot.domain.gates import SCOPE_EXPANSION_DAYS
from bot.domain.signoff import Decision, Reason, Refusal, SignoffFacts, Subject, SubjectKind
from bot.domain.vocabulary import Role
from messages.codec import SignoffButton, SignoffForm
from messages.render import Message, mrkdwn_escape, render, render_view, user_mention
from states import Stage


class SignoffLike(Protocol):
    subject: str
    decision: str
    signer: str
    comment: str | None
    evidence_hash: str
    signed_at: datetime


class InitiativeLike(Protocol):
    key: str


def _verb(decision: Decision | str) -> str:
    return "approved" if decision == Decision.APPROVE else "rejected"


def form(button: SignoffButton, *, channel_id: str | None) -> dict:
    """The sign-off form a Sign off… button opens; the signer's role is checked when they press Record."""
    return render_view("signoff_modal", key=button.key, subject=str(button.subject),
                       metadata=SignoffForm(button.key, button.subject, channel_id).encode())


def already_recorded() -> Message:
    """The reply to a sign-off request Slack delivered twice: the first one counts."""
    return render("note", text="Already recorded", line="This sign-off was already recorded.", context_line=None)


def recorded(signoff: SignoffLike, *, key: str, role: Role, unlocked: str) -> Message:
    """The reply to the signer: what was recorded, under which role, and what it unlocks."""
    verb = _verb(signoff.decision)
    return render("note", text=f"{signoff.subject} {verb}",
                  line=f":memo: Recorded: you ({role.label}) {verb} `{signoff.subject}` for `{key}`."
                       + (f" {unlocked}" if unlocked else ""),
                  context_line=f"Evidence {signoff.evidence_hash[:12]} is kept with the sign-off.")


def notice(signoff: SignoffLike, initiative: InitiativeLike, *, role: Role, unlocked: str) -> Message:
    """The notice in the initiative's channel that a sign-off was recorded."""
    return render("signoff_notice", signoff=signoff, initiative=initiative, role_label=role.label, extra=unlocked)


def unlocked(subject: Subject, decision: Decision, *, still_needed: Sequence[Role] = ()) -> str:
    """What a recorded sign-off unlocks beyond itself, as a sentence (empty when nothing)."""
    approve = decision is Decision.APPROVE
    if subject.kind is SubjectKind.REVIEW and approve:
        return f"R{subject.number} is completed."
    if subject.kind is SubjectKind.RETRAINING:
        return f"{retraining_decision(decision)}; R{subject.number} is completed."
    if subject.kind is SubjectKind.POSTMORTEM:
        return "The postmortem is closed." if approve else "The postmortem stays open."
    if subject.kind is SubjectKind.SCOPE_EXPANSION:
        if not still_needed:
            return "Scope expansion is approved by both the business owner and the executive sponsor."
        return "Still needed: " + ", ".join(role.label for role in still_needed) + "."
    if subject.kind is SubjectKind.BASELINE and approve:
        return "These thresholds are now in force."
    return ""


def retraining_decision(decision: Decision) -> str:
    return "Retraining approved" if decision is Decision.APPROVE else "Retraining rejected"


def retraining_notes(decision: Decision, comment: str | None) -> str:
    """The notes a retraining decision leaves on its quarterly assessment."""
    return f"{retraining_decision(decision)}: {comment}" if comment else retraining_decision(decision)


def postmortem_decided(incident_number: int, decision: Decision, signer: str, comment: str | None) -> Message:
    """The note in an incident's thread that its postmortem was approved or rejected."""
    return render("note", text=f"INC{incident_number} postmortem",
                  line=f":memo: Postmortem {_verb(decision)} by {user_mention(signer)}.",
                  context_line=mrkdwn_escape(comment) if comment else None)  # typed text: never a live mention


def refused(refusal: Refusal, facts: SignoffFacts, *, key: str, holders: Mapping[str, str]) -> str:
    """Why a sign-off is refused, and what would make it possible."""
    subject, number = facts.subject, facts.subject.number
    match refusal.reason:
        case Reason.NOT_RETRAINING:
            return f"R{number} is a {facts.review_kind}, not a quarterly retraining assessment."
        case Reason.NO_POSTMORTEM:
            return f"INC{number} is a {facts.incident_severity}; only sev1 and sev2 have postmortems."
        case Reason.INCIDENT_NOT_RESOLVED:
            return f"INC{number} is {facts.incident_status}; resolve it before its postmortem."
        case Reason.NOT_A_SIGNER:
            who = " or ".join(f"the {role.label} ({user_mention(holders[role]) if role in holders else 'vacant'})"
                              for role in refusal.roles)
            return f"Only {who} can sign `{subject}` for `{key}`."
        case Reason.RETIRED:
            return f"`{key}` is retired; there is no stage to exit."
        case Reason.THRESHOLDS_MISSING:
            return ("Propose all five thresholds before approving the baseline; missing: " + _names(refusal.missing)
                    + f". `/steward kpi threshold {key} <kpi> <value>`.")
        case Reason.GOVERNANCE_INCOMPLETE:
            return ("The governance record is incomplete; missing: " + _names(refusal.missing)
                    + f". `/steward governance {key}` shows it.")
        case Reason.TOO_EARLY_FOR_SCOPE:
            return (f"Scope expansion is considered only after {SCOPE_EXPANSION_DAYS} days of stable operations; "
                    f"`{key}` is in {facts.stage}"
                    + (f" for {facts.days_in_stage} days." if facts.stage is Stage.OPERATIONS else "."))
        case Reason.KPIS_NOT_WITHIN:
            return ("Scope expansion needs every KPI within its threshold; not within (or not recorded): "
                    + _names(refusal.missing) + ".")
        case Reason.SAME_PERSON:
            return ("You approved scope expansion under your other role; the business owner and the executive "
                    "sponsor must be two different people.")
    raise ValueError(f"no words for {refusal.reason}")


def wrong_initiative(number: int, *, belongs_to: str, key: str) -> str:
    return f"R{number} belongs to `{belongs_to}`, not `{key}`."


def no_such_incident(number: int, *, key: str) -> str:
    return f"There is no incident INC{number} on `{key}`."


def _names(names: Sequence[str]) -> str:
    return ", ".join(f"`{name}`" for name in names)
