"""What Steward says about sign-offs: the reply, the channel notice, what a sign-off unlocks, and refusals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from bot.domain.evidence import SIGNIFICANT_EXPANSION_MONTH, Approval, Break, BreakKind, Lapse, Stability
from bot.domain.gates import SCOPE_EXPANSION_DAYS, Check
from bot.domain.kpis import KPIS
from bot.domain.signoff import Decision, Reason, Refusal, SignoffFacts, Subject, SubjectKind
from bot.domain.vocabulary import Role
from messages import kpis as kpi_messages
from messages.codec import SignoffButton, SignoffForm
from messages.render import Message, duration, local_time, mrkdwn_escape, render, render_view, user_mention
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
    timezone: str


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


def unlocked(subject: Subject, decision: Decision, *, still_needed: Sequence[Role] = (),
             lapsed: Sequence[tuple[Approval, Lapse]] = (), pairing_days: int = 14, zone: str = "UTC",
             months_in_operations: int | None = None) -> str:
    """What a recorded sign-off unlocks beyond itself, as a sentence (empty when nothing)."""
    approve = decision is Decision.APPROVE
    if subject.kind is SubjectKind.REVIEW and approve:
        return f"R{subject.number} is completed."
    if subject.kind is SubjectKind.RETRAINING:
        return f"{retraining_decision(decision)}; R{subject.number} is completed."
    if subject.kind is SubjectKind.POSTMORTEM:
        return "The postmortem is closed." if approve else "The postmortem stays open."
    if subject.kind is SubjectKind.SCOPE_EXPANSION:
        advice = _month_12_advice(months_in_operations)
        if not still_needed:
            return "Scope expansion is approved by both the business owner and the executive sponsor." + advice
        why = "".join(" " + _lapse_text(approval, lapse, pairing_days=pairing_days, zone=zone)
                      for approval, lapse in lapsed)
        return "Still needed: " + ", ".join(role.label for role in still_needed) + "." + why + advice
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


def _lapse_text(approval: Approval, lapse: Lapse, *, pairing_days: int, zone: str) -> str:
    who = f"The {Role(approval.role).label}'s approval of {local_time(approval.at, zone, '%d %b %Y')}"
    if lapse is Lapse.TOO_FAR_APART:
        return f"{who} no longer counts: the two approvals must fall within {pairing_days} days of each other."
    return f"{who} no longer counts: stable operations were broken after it."


def _month_12_advice(months: int | None) -> str:
    if months is None or months >= SIGNIFICANT_EXPANSION_MONTH:
        return ""
    return (f" (Advice, not a gate: the framework usually considers significant expansion from month "
            f"{SIGNIFICANT_EXPANSION_MONTH}; this initiative has been in operations for {months} months.)")


def refused(refusal: Refusal, facts: SignoffFacts, *, key: str, holders: Mapping[str, str],
            zone: str = "UTC") -> str:
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
        case Reason.NOT_STABLE:
            return unstable(facts.stability, key=key, zone=zone, days_in_operations=facts.days_in_stage)
        case Reason.EXIT_CRITERIA_UNMET:
            return ("The stage exit can be approved only while every other exit criterion holds; not yet: "
                    + "; ".join(refusal.missing) + f". `/steward initiative advance {key}` shows the checklist.")
        case Reason.SAME_PERSON:
            return ("You approved scope expansion under your other role; the business owner and the executive "
                    "sponsor must be two different people.")
    raise ValueError(f"no words for {refusal.reason}")


def unstable(stability: Stability | None, *, key: str, zone: str, days_in_operations: int = 0) -> str:
    """Why scope expansion cannot be approved yet: the criteria of a stable period as a checklist, what broke it,
    and from when it could be approved if nothing else breaks."""
    if stability is None:
        return f"Scope expansion needs {SCOPE_EXPANSION_DAYS} days of stable operations; `{key}` has no evidence yet."
    kinds = {b.kind for b in stability.breaks}
    window = duration(stability.freshness)
    criteria = [
        (f"{stability.days} days in operations", BreakKind.NOT_IN_OPERATIONS not in kinds),
        ("an approved baseline in force throughout", BreakKind.NO_BASELINE not in kinds),
        (f"every KPI measured at least once every {window} (the freshness window)",
         not kinds & {BreakKind.NEVER_MEASURED, BreakKind.GAP, BreakKind.STALE}),
        ("every measurement within the threshold in force", BreakKind.BREACH not in kinds),
        ("no sev1 to sev3 incident open or opened", BreakKind.INCIDENT not in kinds),
    ]
    lines = [f"Scope expansion needs {stability.days} days of stable operations, and `{key}` has not had them:"]
    lines += [f"{':white_check_mark:' if holds else ':x:'} {label}" for label, holds in criteria]
    if days_in_operations // 30 < SIGNIFICANT_EXPANSION_MONTH:
        lines.append(f":information_source: advice, not a gate: the framework usually considers significant "
                     f"expansion from month {SIGNIFICANT_EXPANSION_MONTH} (in operations for "
                     f"{days_in_operations // 30} months)")
    lines.append("What broke it:")
    shown = stability.breaks[:8]
    lines += ["• " + break_text(b, key=key, now=stability.now, zone=zone, freshness=window) for b in shown]
    if len(stability.breaks) > len(shown):
        lines.append(f"• and {len(stability.breaks) - len(shown)} more")
    if stability.holds_from is not None:
        lines.append(f"If nothing else breaks, scope expansion can be approved from "
                     f"{local_time(stability.holds_from, zone, '%d %b %Y %H:%M')}.")
    else:
        lines.append(f"The {stability.days} days start once what is still going on has ended.")
    return "\n".join(lines)


def _day(moment: datetime, zone: str) -> str:
    return local_time(moment, zone, "%d %b %Y")


def _ago(moment: datetime, now: datetime, zone: str) -> str:
    age = now - moment
    return f"{_day(moment, zone)}, " + (f"{duration(age)} ago" if age.total_seconds() >= 60 else "just now")


def break_text(b: Break, *, key: str, now: datetime, zone: str, freshness: str) -> str:
    """One thing that broke stable operations, with when, and the command that ends it when it goes on."""
    kpi = KPIS.get(b.kpi) if b.kpi else None
    match b.kind:
        case BreakKind.NOT_IN_OPERATIONS:
            if b.end is None:
                return "not in operations"
            return f"in operations only since {_ago(b.end, now, zone)}"
        case BreakKind.NO_BASELINE:
            if b.end is None:
                return f"no approved baseline: `/steward signoff {key} baseline approve`"
            return f"the first baseline was approved {_ago(b.end, now, zone)}"
        case BreakKind.NEVER_MEASURED:
            return f"{kpi.label} was never measured: `/steward kpi record {key} {kpi.name} <value>`"
        case BreakKind.GAP if b.start is None:
            return f"{kpi.label} was first measured {_ago(b.resumed, now, zone)}"
        case BreakKind.GAP:
            return (f"{kpi.label} was not measured from {_day(b.start, zone)} to {_day(b.resumed, zone)} "
                    f"({duration(b.resumed - b.start)}, longer than {freshness})")
        case BreakKind.STALE:
            return (f"{kpi.label} was last measured {_ago(b.start, now, zone)}: stale, record it with "
                    f"`/steward kpi record {key} {kpi.name} <value>`")
        case BreakKind.BREACH:
            return (f"{kpi.label} {kpi_messages.value_text(kpi, b.value)} "
                    f"({kpi_messages.threshold_text(kpi, b.threshold)}) measured {_ago(b.start, now, zone)}: outside "
                    "its threshold")
        case BreakKind.INCIDENT if b.end is None:
            return (f"INC{b.incident} ({b.severity}) opened {_ago(b.start, now, zone)}, is still open: "
                    f"`/steward incident resolve INC{b.incident} <resolution>`")
        case BreakKind.INCIDENT:
            return f"INC{b.incident} ({b.severity}) was open from {_day(b.start, zone)} to {_day(b.end, zone)}"
    raise ValueError(f"no words for {b.kind}")


def exit_refused(reason: str, checklist: Message) -> Message:
    """The refusal of a stage exit while other criteria do not hold: the reason, then the checklist itself."""
    head = render("note", text="Stage exit not signed", line=f":no_entry: {reason}", context_line=None)
    return Message(head.text, head.blocks + checklist.blocks)


def void_reason(broken: Sequence[Check], *, baseline_superseded: bool) -> str:
    """Which criteria a voided stage exit rested on that no longer hold (kept on the void, said in the channel)."""
    parts = ["the baseline it rested on was superseded"] if baseline_superseded else []
    parts += [f"{check.label} ({check.detail})" if check.detail else check.label for check in broken]
    return "; ".join(parts)


def voided(signoff: SignoffLike, initiative: InitiativeLike, *, reason: str, by: str) -> Message:
    """The notice in the channel that a stage exit no longer counts, why, and how to sign it again."""
    line = (f":warning: The stage exit {user_mention(signoff.signer)} approved for `{initiative.key}` on "
            f"{local_time(signoff.signed_at, initiative.timezone, '%d %b %Y')} is *void*: {reason}. It no longer "
            "counts; sign it again once every exit criterion holds: "
            f"`/steward signoff {initiative.key} stage-exit approve`.")
    return render("note", text=f"Stage exit of {initiative.key} voided", line=line,
                  context_line=f"Changed by {user_mention(by) if by[:1] in 'UW' else by}; the sign-off stays in the "
                               "history and the audit trail.")


def wrong_initiative(number: int, *, belongs_to: str, key: str) -> str:
    return f"R{number} belongs to `{belongs_to}`, not `{key}`."


def no_such_incident(number: int, *, key: str) -> str:
    return f"There is no incident INC{number} on `{key}`."


def _names(names: Sequence[str]) -> str:
    return ", ".join(f"`{name}`" for name in names)
