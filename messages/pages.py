"""What Steward says when it pages a person directly, pages the fallback, changes a severity, or keeps preferences.

A page queued now names roles, not people: `holder(role)` leaves a placeholder that `fill_holders` replaces,
when the page is sent, with whoever holds the role then (the spec: holders are looked up at sending).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta

from bot.domain.escalation import Level
from bot.domain.vocabulary import Role
from messages.codec import EscalateButton, IncidentButton
from messages.incidents import IncidentLike, InitiativeLike, name
from messages.render import Message, channel_mention, duration, local_time, mrkdwn_escape, render, user_mention
from states import IncidentStatus

_PLACEHOLDER = re.compile(r"@@holder:([a-z_]+)@@")


def holder(role: Role) -> str:
    """A placeholder for whoever holds `role` when the message is sent."""
    return f"@@holder:{role.value}@@"


def fill_holders(text: str, holders: dict[str, str]) -> str:
    """Replace each placeholder by a mention of the role's holder now, or say the role is vacant now."""
    def mention(match: re.Match) -> str:
        user = holders.get(match.group(1))
        return user_mention(user) if user else "nobody (vacant now)"
    return _PLACEHOLDER.sub(mention, text)


_MENTION = re.compile(r"<@([UW][A-Z0-9]+)>")


def people_named(*texts: str) -> list[str]:
    """The people a page as sent mentions (the fallback's note names the last level's holders and the fallback
    people), in the mention form `user_mention` writes."""
    return sorted({user for text in texts for user in _MENTION.findall(text)})


def thread_link(channel_id: str, root_ts: str) -> str:
    """A link to the incident's thread (Slack's archive permalink form)."""
    return f"https://slack.com/archives/{channel_id}/p{root_ts.replace('.', '')}"


def direct_page(incident: IncidentLike, initiative: InitiativeLike, *, why: str, link: str | None,
                level_count: int) -> Message:
    """The direct message to a paged person: summary, thread link, and the thread's buttons while it is open."""
    status = incident.status
    if status is IncidentStatus.RESOLVED:
        state = (f":white_check_mark: Resolved by {user_mention(incident.resolved_by)} after "
                 f"{duration(incident.resolved_at - incident.declared_at)}. Nothing more is needed from you.")
    elif status is IncidentStatus.ACKNOWLEDGED:
        state = (f":eyes: Acknowledged by {user_mention(incident.acknowledged_by)} after "
                 f"{duration(incident.acknowledged_at - incident.declared_at)}; escalation stopped.")
    else:
        state = ":bell: Open and unacknowledged: please acknowledge it, or escalate it now."
    return render("page_direct", incident=incident, initiative=initiative, why=why, link=link, state=state,
                  open=status is IncidentStatus.OPEN,
                  can_escalate=status is IncidentStatus.OPEN and incident.level_reached < level_count,
                  button=IncidentButton(incident.number).encode(),
                  escalate=EscalateButton(incident.number, incident.level_reached).encode())


def why_level(level: Level, role: Role) -> str:
    return f"You are paged at escalation level {level.number} as the {role.label}."


def why_fallback(number: int) -> str:
    if number == 0:
        return "You are paged as the fallback: every remaining level of the ladder is vacant."
    return f"You are paged as the fallback: nobody has acknowledged it after the whole ladder (repeat {number})."


def why_repeat(level: Level, role: Role, number: int) -> str:
    return (f"Paged again (repeat {number}): nobody has acknowledged it, and you are the {role.label} at level "
            f"{level.number}, the last level reached.")


def fallback_thread(incident: IncidentLike, *, number: int, level: Level | None, people: Sequence[str],
                    channels: Sequence[str], every: int | None) -> Message:
    """The thread's note that the fallback (and the last level) is paged; holders are placeholders."""
    fallback = [user_mention(p) for p in people] + [channel_mention(c) for c in channels]
    again = [f"{holder(role)} ({role.label})" for role in level.roles] if level else []
    if number == 0:
        line = (f":sos: Every remaining level is vacant, so nobody on the ladder can be reached for "
                f"{name(incident.number)}. Paging the fallback: {', '.join(fallback) or 'nobody configured'}.")
    else:
        line = (f":sos: {name(incident.number)} is still unacknowledged after the whole ladder (repeat {number}). "
                + (f"Paging level {level.number} again: {', '.join(again)}. " if again else "")
                + f"Fallback: {', '.join(fallback) or 'nobody configured'}.")
    context = (f"Repeated every {every} min until someone acknowledges." if every
               else "This severity is not paged again.")
    return render("note", text=f"{name(incident.number)}: fallback paged", line=line, context_line=context,
                  button=None)


def fallback_channel(incident: IncidentLike, initiative: InitiativeLike, *, number: int, link: str | None) -> Message:
    """The message in the escalation channel named as the fallback."""
    why = (why_fallback(number).replace("You are", "This channel is"))
    return render("page_direct", incident=incident, initiative=initiative, why=why, link=link,
                  state=":bell: Open and unacknowledged: someone please acknowledge it, or escalate it now.",
                  open=True, can_escalate=False, button=IncidentButton(incident.number).encode(),
                  escalate=EscalateButton(incident.number, incident.level_reached).encode())


def severity_note(incident: IncidentLike, *, old: str, new: str, by: str, reason: str | None,
                  paged_now: Sequence[int], next_level: int | None, next_in: timedelta | None) -> Message:
    """The thread's note of a severity change and what it does to the ladder."""
    if incident.status is not IncidentStatus.OPEN:
        effect = "The ladder was re-planned from now; the incident is acknowledged, so nobody is paged."
    else:
        parts = []
        if paged_now:
            parts.append(f"level {', '.join(str(n) for n in paged_now)} is paged at once")
        else:
            parts.append("nobody is paged now")
        if next_level is not None and next_in is not None:
            parts.append(f"level {next_level} follows in {duration(next_in)} unless someone acknowledges")
        elif not paged_now:
            parts.append("no level is left to climb")
        effect = "The ladder was re-planned from now: " + "; ".join(parts) + "."
    line = (f":arrows_counterclockwise: {user_mention(by)} changed {name(incident.number)} from {old} to {new}. "
            f"{effect}")
    return render("note", text=f"{name(incident.number)}: severity {new}", line=line,
                  context_line=f"Reason: {mrkdwn_escape(reason)}" if reason else None, button=None)


def severity_reply(number: int, *, old: str, new: str) -> Message:
    return render("note", text=f"{name(number)} is {new}", line=f":arrows_counterclockwise: {name(number)} changed "
                  f"from {old} to {new}; the ladder was re-planned from now.", context_line=None, button=None)


def same_severity(number: int, severity: str) -> str:
    return f"{name(number)} is already {severity}; nothing changed."


def resolved_cannot_change(number: int) -> str:
    return f"{name(number)} is resolved; its severity can no longer change."


def preferences_reply(choices: dict[str, str], defaults: dict[str, str]) -> Message:
    """How a person is paged now, per severity."""
    lines = []
    for severity, mode in choices.items():
        how = "a direct message and the thread" if mode == "dm" else "the incident thread only"
        chosen = "" if defaults.get(severity) == mode else " (your choice)"
        lines.append(f"• {severity}: {how}{chosen}")
    return render("note", text="Your paging preferences", line="*How Steward pages you*\n" + "\n".join(lines),
                  context_line="Change with `/steward me pages dm|thread [sev1..sev4]`.", button=None)


def home_blocks(open_pages: Sequence[tuple[IncidentLike, InitiativeLike]]) -> list[dict]:
    """The Home tab's section of the person's open pages, each with an Acknowledge button."""
    if not open_pages:
        return []
    blocks: list[dict] = [{"type": "header", "text": {"type": "plain_text", "text": "Your open pages"}}]
    for incident, initiative in open_pages[:10]:
        text = (f"*{name(incident.number)}* · {incident.severity.upper()} · {mrkdwn_escape(initiative.name)} "
                f"(`{initiative.key}`)\n{mrkdwn_escape(incident.title[:200])} · declared "
                f"{local_time(incident.declared_at, initiative.timezone)}, level {incident.level_reached} paged")
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text},
                       "accessory": {"type": "button", "action_id": "incident_ack", "style": "primary",
                                     "text": {"type": "plain_text", "text": "Acknowledge"},
                                     "value": IncidentButton(incident.number).encode()}})
    return blocks

