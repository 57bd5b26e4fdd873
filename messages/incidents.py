"""What Steward says about incidents: the root message, pages, thread notes, replies, the resolve form, refusals."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from bot.domain.escalation import PageLevel
from bot.domain.signoff import Subject, SubjectKind
from bot.domain.vocabulary import Role
from messages.codec import SIGNOFF_OPEN, EscalateButton, IncidentButton, ResolveForm, SignoffButton
from messages.render import Message, duration, local_time, mrkdwn_escape, render, render_view, user_mention
from states import IncidentStatus


class IncidentLike(Protocol):
    number: int
    severity: str
    kind: str
    title: str
    status: IncidentStatus
    channel_id: str
    declared_by: str
    declared_at: datetime
    level_reached: int
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    resolved_by: str | None
    resolved_at: datetime | None
    resolution: str | None


class InitiativeLike(Protocol):
    key: str
    name: str
    timezone: str


def name(number: int) -> str:
    """How people name an incident (`INC3`)."""
    return f"INC{number}"


def declarer(declared_by: str) -> str:
    """Who declared an incident: a person is mentioned; an automatic one (a KPI breach) was declared by Steward."""
    if declared_by in ("alertmanager", "grafana"):  # opened from a monitor's alert (issue 16)
        return user_mention(declared_by)
    return user_mention(declared_by) if declared_by[:1] in ("U", "W") else "Steward"


def declared_reply(incident: IncidentLike, *, key: str, first_level: Sequence[Role]) -> Message:
    """The declarer's reply: which thread pages whom."""
    who = ", ".join(f"the {role.label}" for role in first_level)
    return render("incident_declared_reply", incident=incident, key=key, first_level=who)


def root(incident: IncidentLike, initiative: InitiativeLike, *, level_count: int) -> Message:
    """The incident's root message in the initiative's channel, with the buttons its status allows."""
    return render("incident_root", incident=incident, initiative=initiative, level_count=level_count,
                  declared_by=declarer(incident.declared_by),
                  resolved=incident.status is IncidentStatus.RESOLVED,
                  acknowledged=incident.status is IncidentStatus.ACKNOWLEDGED,
                  can_escalate=incident.status is IncidentStatus.OPEN and incident.level_reached < level_count,
                  button=IncidentButton(incident.number).encode(),
                  escalate=EscalateButton(incident.number, incident.level_reached).encode())


def page(incident: IncidentLike, effect: PageLevel, *, has_next: bool, by_hand: str | None) -> Message:
    """A level paged in the thread (or announced vacant)."""
    return render("incident_page", incident=incident, page=effect, has_next=has_next, by_hand=by_hand)


def status_update_requested(incident: IncidentLike, *, since_ack: timedelta) -> Message:
    """Ask whoever acknowledged a long-running incident for news, in its thread."""
    number = name(incident.number)
    return _note(f"{number}: status update requested",
                 f":hourglass_flowing_sand: {number} has been acknowledged for {duration(since_ack)} and is not "
                 "resolved. "
                 f"{user_mention(incident.acknowledged_by)}, please post a status update in this thread.")


def acknowledged_note(incident: IncidentLike, *, by: str, waited: timedelta) -> Message:
    """The thread's note that someone took the incident."""
    return _note(f"{name(incident.number)}: ack",
                 f":eyes: Acknowledged by {user_mention(by)} after {duration(waited)}. Escalation stopped.")


def acknowledged_reply(incident: IncidentLike, *, waited: timedelta) -> Message:
    number = name(incident.number)
    return _note(f"{number} acknowledged",
                 f":eyes: You acknowledged {number} after {duration(waited)}; escalation stopped.",
                 context_line=f"Resolve it with `/steward incident resolve {number} ...` or the Resolve button.")


def resolved_note(incident: IncidentLike, *, key: str, by: str, took: timedelta, resolution: str,
                  postmortem: bool, owner: str | None) -> Message:
    """The thread's note of the resolution; a sev1/sev2 asks the business owner for a postmortem sign-off."""
    number = name(incident.number)
    line = (f":white_check_mark: Resolved by {user_mention(by)} after {duration(took)}."
            + "\n>" + mrkdwn_escape(resolution).replace("\n", "\n>"))
    if not postmortem:
        return _note(f"{number}: resolved", line)
    addressee = user_mention(owner) if owner else "Business owner (vacant: assign one)"
    context_line = (f"{addressee}: a {incident.severity} needs a postmortem sign-off: "
                    f"`/steward signoff {key} postmortem:{number} approve|reject [comment]`. A deviation was logged.")
    button = {"action_id": SIGNOFF_OPEN, "text": "Sign off postmortem",
              "value": SignoffButton(key, Subject(SubjectKind.POSTMORTEM, incident.number)).encode()}
    return _note(f"{number}: resolved", line, context_line=context_line, button=button)


def resolved_reply(incident: IncidentLike, *, took: timedelta) -> Message:
    number = name(incident.number)
    return _note(f"{number} resolved", f":white_check_mark: You resolved {number} after {duration(took)}.")


def escalated_reply(number: int, *, level: int) -> Message:
    return _note(f"{name(number)} escalated", f":mega: {name(number)} escalated to level {level}.")


def postmortem_deviation(incident: IncidentLike, *, resolution: str) -> str:
    """The deviation a sev1/sev2 logs on the initiative's record."""
    return f"{incident.severity.upper()} {name(incident.number)}: {incident.title}. Resolution: {resolution}"


def resolve_form(incident: IncidentLike, *, channel_id: str | None, max_length: int) -> dict:
    """The modal asking for a resolution; the person's channel rides along in its metadata for the reply."""
    return render_view("incident_resolve_modal", incident=incident, max_length=max_length,
                       metadata=ResolveForm(incident.number, channel_id).encode())


def summary_lines(*, declared: int, unresolved: Sequence[IncidentLike], median_to_ack: timedelta | None,
                  median_to_resolve: timedelta | None) -> list[str]:
    """Incident numbers a business owner asks for: counts, median times, the latest unresolved incidents."""
    lines = [f"*Incidents*: {declared} declared, {len(unresolved)} not resolved · median time to acknowledge "
             f"{duration(median_to_ack)} · median time to resolve {duration(median_to_resolve)}"]
    for incident in unresolved[-5:]:
        lines.append(f"• {name(incident.number)} {incident.severity} {incident.status}: "
                     f"{mrkdwn_escape(incident.title)}")
    return lines


# Refusals


def no_such_incident(number: int) -> str:
    return f"There is no incident {name(number)} in this workspace."


def gone(number: int) -> str:
    return f"{name(number)} does not exist any more."


def only_role_holders(*, key: str, verb: str, number: int) -> str:
    return (f"Only people holding a role on `{key}` can {verb} {name(number)}. "
            f"`/steward initiative show {key}` lists them.")


def changed_meanwhile(number: int) -> str:
    return f"{name(number)} changed a moment ago; look at its thread and try again."


def escalation_raced(number: int) -> str:
    return f"{name(number)} changed a moment ago; look at its thread."


def already_done(incident: IncidentLike, *, timezone: str) -> str:
    """Why a second acknowledgement or resolution does nothing: who got there first, and when."""
    if incident.status is IncidentStatus.RESOLVED:
        return (f"{name(incident.number)} was already resolved by {user_mention(incident.resolved_by)} on "
                f"{local_time(incident.resolved_at, timezone)}.")
    return (f"{name(incident.number)} was already acknowledged by {user_mention(incident.acknowledged_by)} on "
            f"{local_time(incident.acknowledged_at, timezone)}.")


def escalation_stopped(number: int, status: IncidentStatus) -> str:
    return f"{name(number)} is {status}; escalation has stopped."


def already_at_level(number: int, level: int) -> str:
    return f"{name(number)} is already at level {level}; nothing more was paged."


def _note(text: str, line: str, *, context_line: str | None = None, button: dict | None = None) -> Message:
    return render("note", text=text, line=line, context_line=context_line, button=button)
