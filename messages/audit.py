"""What Steward says about the audit log: an initiative's latest events, the witness of a chain head, and the
report of `steward audit verify`."""

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
    """The post of a workspace's chain head to the audit channel."""
    return render("note", text=f"Steward audit chain head: {seq} events, {digest}",
                  line=f":lock: Audit chain head of workspace {team_id} on {day.isoformat()}: "
                       f"*{seq}* events, latest hash `{digest}`.",
                  context_line="Posted after every sign-off and stage change, and at most hourly otherwise, so that "
                               "a rewritten history no longer matches what this channel holds. "
                               "`steward audit verify --slack` compares them.")


# --- `steward audit verify` ------------------------------------------------------------------------------


class ReportLike(Protocol):
    team_id: str
    events: int
    chain_break: tuple[int, str] | None  # (seq, reason)
    checked_before_break: int
    bound_rows: int
    row_problems: Sequence[tuple[str, str]]  # (row, reason)
    lost_heads: Sequence[tuple[int, str, str]]  # (seq, digest, where: "database" or "Slack")
    witnessed: int
    latest_witness: int | None  # the furthest witnessed head (seq), database or Slack
    with_slack: bool


MAX_ROW_PROBLEMS = 10


def verify_lines(report: ReportLike) -> list[str]:
    """What `steward audit verify` prints for one workspace: intact, or every kind of break it found."""
    team = report.team_id
    lines = []
    if report.chain_break is not None:
        seq, reason = report.chain_break
        lines.append(f"{team}: BROKEN at event {seq}: {reason} ({report.checked_before_break} events verified "
                     "before it)")
    for seq, digest, where in report.lost_heads:
        lines.append(f"{team}: BROKEN: the chain head witnessed at event {seq} ({digest[:12]}, held by {where}) is "
                     "not in the chain any more; the history was rewritten")
    for row, reason in report.row_problems[:MAX_ROW_PROBLEMS]:
        lines.append(f"{team}: BROKEN: {row} {reason}")
    if len(report.row_problems) > MAX_ROW_PROBLEMS:
        lines.append(f"{team}: ... and {len(report.row_problems) - MAX_ROW_PROBLEMS} more operative rows that do not "
                     "match the chain")
    if lines:
        return lines
    witnessed = f", {report.witnessed} witnessed heads match" if report.witnessed else ""
    return [f"{team}: {report.events} events, chain intact{witnessed}, {report.bound_rows} operative rows match "
            "their events"]


def verify_limits(reports: Sequence[ReportLike], *, with_slack: bool) -> list[str]:
    """Say plainly what the check just made cannot see."""
    latest = [f"{r.team_id} event {r.latest_witness}" for r in reports if r.latest_witness is not None]
    after = (f"events after the latest witnessed head ({', '.join(latest)})" if latest
             else "any event (no head has been witnessed yet)")
    if with_slack:
        return [f"Not detectable even with --slack: {after} deleted, or rewritten and rehashed, together with the "
                "operative rows they bind. Heads are witnessed after every sign-off and stage change and at most "
                "hourly otherwise."]
    return ["Not detectable without --slack: a history rewritten and rehashed end to end (operative rows, bindings "
            "and witness rows included) by someone with write access to the database, and " + after +
            " deleted or rewritten the same way. `steward audit verify --slack` compares the chain with the heads "
            "Steward posted to STEWARD_AUDIT_CHANNEL."]


def no_events() -> str:
    return "no audit events yet"


def could_not_check(reason: str) -> str:
    return f"steward: audit verify: could not check: {reason}"
