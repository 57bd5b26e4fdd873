"""What Steward says about the audit log: an initiative's latest events, and the daily witness of a chain head."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Protocol

from messages.render import Message, local_time, mrkdwn_escape, render, user_mention


class EventLike(Protocol):
    seq: int
    actor: str
    action: str
    payload: str  # canonical JSON
    created_at: datetime


class InitiativeLike(Protocol):
    key: str
    timezone: str


def _event_line(event: EventLike, zone: str) -> str:
    payload = json.loads(event.payload)
    # The matrix of a readiness record is too long for a line; the export keeps it.
    details = ", ".join(f"{k}={v}" for k, v in payload.items() if v not in (None, "", [], {}) and k != "matrix")
    who = user_mention(event.actor) if event.actor.startswith(("U", "W")) else event.actor
    return (f"`#{event.seq}` {local_time(event.created_at, zone, '%d %b %H:%M')} {who} "
            f"*{event.action}* {mrkdwn_escape(details)[:180]}")


def trail(initiative: InitiativeLike, events: Sequence[EventLike]) -> Message:
    """`/steward audit <key>`: the latest events of an initiative, newest first."""
    lines = [_event_line(event, initiative.timezone) for event in events] or ["none"]
    return render("note", text=f"Audit trail of {initiative.key}",
                  line=f"*Latest audit events of `{initiative.key}`* (newest first)\n" + "\n".join(lines),
                  context_line="Every event is chained by hash to the one before; `steward audit verify` checks the "
                               "chain and `steward audit export` writes it out.")


def witness(*, team_id: str, day: date, seq: int, digest: str) -> Message:
    """The daily post of a workspace's chain head to the audit channel."""
    return render("note", text=f"Steward audit chain head: {seq} events, {digest}",
                  line=f":lock: Audit chain head of workspace {team_id} on {day.isoformat()}: "
                       f"*{seq}* events, latest hash `{digest}`.",
                  context_line="Posted daily so that a rewritten history no longer matches what this channel holds. "
                               "`steward audit verify` compares them.")
