"""The audit trail people see: recent events of an initiative, and the daily witness of each chain head."""

from __future__ import annotations

import json
from datetime import datetime

from sqlmodel import select

from bot.domain.commands import AuditShow
from bot.outbox import queue_message
from bot.services.context import Actor, Services
from bot.services.lookup import require_initiative
from messages.render import Message, local_time, mrkdwn_escape, render
from storage.audit import recent_events
from storage.db import read_scope, session_scope
from storage.inserts import insert_ignoring_duplicates
from storage.models import AuditHead, AuditWitness

WITNESS_EVENT = "steward_audit_head"


def show(services: Services, actor: Actor, command: AuditShow) -> Message:
    with read_scope(services.engine) as session:
        initiative = require_initiative(session, team_id=actor.team_id, key=command.key)
        events = recent_events(session, team_id=actor.team_id, target=initiative.key, limit=20)
    lines = []
    for event in events:
        payload = json.loads(event.payload)
        details = ", ".join(f"{k}={v}" for k, v in payload.items() if v not in (None, "", [], {}) and k != "matrix")
        who = f"<@{event.actor}>" if event.actor.startswith(("U", "W")) else event.actor
        lines.append(f"`#{event.seq}` {local_time(event.created_at, initiative.timezone, '%d %b %H:%M')} {who} "
                     f"*{event.action}* {mrkdwn_escape(details)[:180]}")
    return render("incident_note", text=f"Audit trail of {initiative.key}",
                  line=f"*Latest audit events of `{initiative.key}`* (newest first)\n" + "\n".join(lines or ["none"]),
                  context_line="Every event is chained by hash to the one before; `steward audit verify` checks the "
                               "chain and `steward audit export` writes it out.")


def post_witnesses(engine, channel_id: str | None, *, now: datetime) -> int:
    """Once a day, post each workspace's chain head (count and latest hash) to the audit channel."""
    if not channel_id:
        return 0
    posted = 0
    with read_scope(engine) as session:
        heads = list(session.exec(select(AuditHead)))
    for head in heads:
        if head.seq == 0:
            continue
        with session_scope(engine) as session:
            day = now.date()
            witness_id = insert_ignoring_duplicates(session=session, model=AuditWitness, values=dict(
                team_id=head.team_id, day=day, seq=head.seq, hash=head.hash, channel_id=channel_id, created_at=now,
            ), conflict=["team_id", "day"])
            if witness_id is None:
                continue  # today's head was already witnessed
            message = render("incident_note", text=f"Steward audit chain head: {head.seq} events, {head.hash}",
                             line=f":lock: Audit chain head of workspace {head.team_id} on {day.isoformat()}: "
                                  f"*{head.seq}* events, latest hash `{head.hash}`.",
                             context_line="Posted daily so that a rewritten history no longer matches what this "
                                          "channel holds. `steward audit verify` compares them.")
            queue_message(session, team_id=head.team_id, key=f"witness:{day.isoformat()}", channel_id=channel_id,
                          message=message, purpose="audit.witness", at=now)
            posted += 1
    return posted
