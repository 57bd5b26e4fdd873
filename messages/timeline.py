"""What Steward says about an incident's timeline: `incident show INC3`."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from messages.render import Message, duration, local_time, mrkdwn_escape, render, truncate, user_mention

MAX_LINE = 400
MAX_SECTION = 2900


class EntryLike(Protocol):
    kind: str
    actor: str
    at: datetime
    text: str | None
    detail: str | None


class IncidentLike(Protocol):
    number: int
    title: str
    severity: str
    status: object
    declared_at: datetime
    declared_by: str


_MARKUP = re.compile(r"<([^<>]*)>")


def plain_reply(text: str) -> str:
    """A reply as Slack stored it, safe to show again: links as `label (url)`, people kept, no @channel pings."""
    def readable(match: re.Match) -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith(("@U", "@W")):
            return "\x00" + target[1:] + "\x01"  # a person: mentioned again once escaped
        if target.startswith("!"):
            return "@" + (label or target[1:].split("^")[0])
        if target.startswith("#C"):
            return "#" + (label or target[1:])
        return f"{label} ({target})" if label and label != target else target
    shown = mrkdwn_escape(html.unescape(_MARKUP.sub(readable, text)))
    return shown.replace("\x00", "<@").replace("\x01", ">")


def _who(actor: str) -> str:
    return user_mention(actor) if actor[:1] in ("U", "W") else ("Steward" if actor == "steward" else actor)


def _detail(entry: EntryLike) -> dict:
    try:
        return json.loads(entry.detail) if entry.detail else {}
    except ValueError:
        return {}


def _page_words(detail: dict) -> str:
    """Who a page reached and how, from what the outbox recorded when Slack took it."""
    if detail.get("via") == "dm" and detail.get("user"):
        return f"paged {user_mention(detail['user'])} by direct message"
    if detail.get("via") == "channel" and detail.get("channel"):
        return f"paged the fallback channel <#{detail['channel']}>"
    people = ", ".join(user_mention(u) for u in detail.get("users", []))
    where = f"level {detail['level']}" if detail.get("level") else "the fallback"
    return f"paged {where} in the thread" + (f": {people}" if people else " (nobody holds it now)")


def entry_line(entry: EntryLike, zone: str) -> str:
    """One line of the timeline: when, who, what."""
    when = local_time(entry.at, zone, "%d %b %H:%M")
    who, words = _who(entry.actor), truncate(plain_reply(entry.text or ""), MAX_LINE)
    detail = _detail(entry)
    if entry.kind == "reply":
        what = f"replied: {words}" if words else "replied"
        if detail.get("files"):
            what += f" ({detail['files']} file{'s' if detail['files'] != 1 else ''})"
    elif entry.kind == "reply_edited":
        what = f"edited their reply: {words}"
    elif entry.kind == "reply_deleted":
        what = "deleted their reply"
    elif entry.kind == "page":
        what = _page_words(detail) + (f": {words}" if words else "")
    elif entry.kind == "acknowledged":
        waited = detail.get("waited_seconds")
        what = "acknowledged" + (f" after {duration(timedelta(seconds=waited))}" if waited is not None else "")
        what += f": {words}" if words else ""
    elif entry.kind == "severity":
        changed = f" from {detail['from']} to {detail['to']}" if detail.get("from") and detail.get("to") else ""
        what = f"changed the severity{changed}" + (f": {words}" if words else "")
    elif entry.kind == "resolved":
        what = "resolved it" + (f": {words}" if words else "")
    elif entry.kind == "declared":
        what = "declared it" + (f" as {detail['severity']}" if detail.get("severity") else "") + (
            f": {words}" if words else "")
    else:
        what = f"{entry.kind.replace('_', ' ')}" + (f": {words}" if words else "")
    return f"• {when} {who} {what}"


def _sections(lines: Sequence[str]) -> list[str]:
    """Lines packed into section texts under Slack's limit."""
    sections, current = [], ""
    for line in lines:
        if current and len(current) + 1 + len(line) > MAX_SECTION:
            sections.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        sections.append(current)
    return sections


def show(incident: IncidentLike, *, key: str, zone: str, entries: Sequence[EntryLike], total: int) -> Message:
    status = getattr(incident.status, "value", incident.status)
    title = f"INC{incident.number} · {incident.severity} · {status} · {key}"
    lines = [entry_line(entry, zone) for entry in entries]
    earlier = total - len(entries)
    return render("incident_timeline", text=f"INC{incident.number} timeline: {incident.title}"[:3000],
                  header=truncate(title, 150), title=mrkdwn_escape(incident.title),
                  declared=f"Declared {local_time(incident.declared_at, zone)} by {_who(incident.declared_by)}.",
                  sections=_sections(lines),
                  earlier=f"{earlier} earlier entr{'ies' if earlier != 1 else 'y'} not shown; "
                          "`steward audit export` has them all." if earlier > 0 else None)


def no_such_incident(number: int) -> str:
    return f"There is no incident INC{number} in this workspace."
