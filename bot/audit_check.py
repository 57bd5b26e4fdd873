"""Checking and exporting the audit log for an auditor: the chain, its witnesses, and a flat export."""

from __future__ import annotations

import csv
import json
from typing import TextIO

from sqlmodel import Session

from bot.config import Settings
from bot.outbox import OUTBOX_EVENT
from bot.services.audit_trail import WitnessKey
from storage import audit
from storage.db import read_scope


def verify_workspace(session: Session, team_id: str, slack_heads: list[tuple[int, str]]) -> tuple[bool, str]:
    """Check one workspace: the chain itself, then every witnessed head (the database's and Slack's)."""
    checked, problem = audit.verify_chain(session=session, team_id=team_id)
    if problem is not None:
        return False, (f"{team_id}: BROKEN at event {problem.seq}: {problem.reason} "
                       f"({checked} events verified before it)")
    heads = audit.witnessed_heads(session=session, team_id=team_id) + slack_heads
    for seq, digest in sorted(set(heads)):
        event = audit.event_at(session=session, team_id=team_id, seq=seq)
        if event is None or event.hash != digest:
            return False, (f"{team_id}: BROKEN: the chain head witnessed at event {seq} ({digest[:12]}) is not in "
                           "the chain any more; the history was rewritten")
    witnessed = f", {len(set(heads))} witnessed heads match" if heads else ""
    return True, f"{team_id}: {checked} events, chain intact{witnessed}"


def posted_witness(message: dict, *, user_id: str | None, bot_id: str | None) -> WitnessKey | None:
    """The head a Slack message witnesses, if Steward's own bot user posted it as a witness."""
    by_steward = (user_id is not None and message.get("user") == user_id) or \
                 (bot_id is not None and message.get("bot_id") == bot_id)
    metadata = message.get("metadata") or {}
    if not by_steward or metadata.get("event_type") != OUTBOX_EVENT:
        return None
    return WitnessKey.decode((metadata.get("event_payload") or {}).get("key"))


def slack_witnesses(settings: Settings) -> dict[str, list[tuple[int, str]]]:
    """The chain heads Steward posted to the audit channel, read back from Slack."""
    from bot.slack_port import make_web_client

    client = make_web_client(token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url)
    identity = client.auth_test()
    user_id, bot_id = identity.get("user_id"), identity.get("bot_id")
    found: dict[str, list[tuple[int, str]]] = {}
    cursor = None
    while True:
        response = client.conversations_history(channel=settings.steward_audit_channel, limit=200, cursor=cursor,
                                                include_all_metadata=True)
        for message in response.get("messages", []):
            head = posted_witness(message, user_id=user_id, bot_id=bot_id)
            if head is not None:
                found.setdefault(head.team_id, []).append((head.seq, head.digest))
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
    with read_scope(engine) as session:
        for event in audit.all_events(session=session, team_id=team_id):
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
