"""Checking and exporting the audit log for an auditor: the chain, its witnesses, and a flat export."""

from __future__ import annotations

import csv
import json
import re
from typing import TextIO

from sqlmodel import Session, select

from bot.config import Settings
from storage.audit import verify_chain
from storage.models import AuditEvent, AuditWitness

_HEAD = re.compile(r"workspace (?P<team>\w+) on (?P<day>[\d-]+): \*(?P<seq>\d+)\* events, "
                   r"latest hash `(?P<hash>[0-9a-f]{64})`")


def verify_workspace(session: Session, team_id: str, slack_heads: list[tuple[int, str]]) -> tuple[bool, str]:
    """Check one workspace: the chain itself, then every witnessed head (the database's and Slack's)."""
    checked, problem = verify_chain(session, team_id)
    if problem is not None:
        return False, (f"{team_id}: BROKEN at event {problem.seq}: {problem.reason} "
                       f"({checked} events verified before it)")
    heads = [(w.seq, w.hash) for w in session.exec(select(AuditWitness).where(AuditWitness.team_id == team_id))]
    heads += slack_heads
    for seq, digest in sorted(set(heads)):
        event = session.exec(select(AuditEvent).where(AuditEvent.team_id == team_id, AuditEvent.seq == seq)).first()
        if event is None or event.hash != digest:
            return False, (f"{team_id}: BROKEN: the chain head witnessed at event {seq} ({digest[:12]}) is not in "
                           "the chain any more; the history was rewritten")
    witnessed = f", {len(set(heads))} witnessed heads match" if heads else ""
    return True, f"{team_id}: {checked} events, chain intact{witnessed}"


def slack_witnesses(settings: Settings) -> dict[str, list[tuple[int, str]]]:
    """The chain heads Steward posted to the audit channel, read back from Slack."""
    from bot.slack_port import make_web_client

    client = make_web_client(token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url)
    found: dict[str, list[tuple[int, str]]] = {}
    cursor = None
    while True:
        response = client.conversations_history(channel=settings.steward_audit_channel, limit=200, cursor=cursor)
        for message in response.get("messages", []):
            texts = [message.get("text", "")] + [b.get("text", {}).get("text", "") for b in message.get("blocks", [])
                                                 if isinstance(b.get("text"), dict)]
            for text in texts:
                match = _HEAD.search(text)
                if match:
                    found.setdefault(match["team"], []).append((int(match["seq"]), match["hash"]))
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return found


FIELDS = ["team_id", "seq", "at", "actor", "role", "action", "target", "payload", "prev_hash", "hash"]


def export_rows(engine, stream: TextIO, *, format: str, team_id: str | None = None) -> int:
    """Write every event, oldest first per workspace; returns the count."""
    writer = csv.DictWriter(stream, fieldnames=FIELDS) if format == "csv" else None
    if writer:
        writer.writeheader()
    count = 0
    with Session(engine) as session:
        statement = select(AuditEvent).order_by(AuditEvent.team_id, AuditEvent.seq)
        if team_id:
            statement = statement.where(AuditEvent.team_id == team_id)
        for event in session.exec(statement):
            payload = json.loads(event.payload)
            # The role the actor acted in: sign-offs name one, completions and acknowledgements list those held.
            role = payload.get("role", "") if event.action.startswith("signoff") else \
                ",".join(payload.get("roles") or [])
            row = {"team_id": event.team_id, "seq": event.seq, "at": event.created_at.isoformat(),
                   "actor": event.actor, "role": role, "action": event.action, "target": event.target,
                   "payload": event.payload, "prev_hash": event.prev_hash, "hash": event.hash}
            if writer:
                writer.writerow(row)
            else:
                stream.write(json.dumps({**row, "payload": payload}, ensure_ascii=False) + "\n")
            count += 1
    return count
