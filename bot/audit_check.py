"""Checking and exporting the audit log for an auditor: the chain, the rows it binds, its witnesses, an export."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from typing import TextIO

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from bot.config import Settings
from bot.outbox import OUTBOX_EVENT
from bot.services.audit_trail import WitnessKey
from storage import audit, timeline
from storage.db import read_scope


class CouldNotCheck(Exception):
    """The check could not be made (Slack or the database would not answer); the reason is for a person."""


@dataclass
class WorkspaceReport:
    team_id: str
    with_slack: bool
    events: int = 0
    checked_before_break: int = 0
    chain_break: tuple[int, str] | None = None
    bound_rows: int = 0
    row_problems: list[tuple[str, str]] = field(default_factory=list)
    lost_heads: list[tuple[int, str, str]] = field(default_factory=list)
    witnessed: int = 0
    latest_witness: int | None = None

    @property
    def intact(self) -> bool:
        return self.chain_break is None and not self.row_problems and not self.lost_heads


def verify_workspace(session: Session, team_id: str, slack_heads: list[tuple[int, str]], *,
                     with_slack: bool = False) -> WorkspaceReport:
    """Check one workspace: the chain itself, the operative rows it binds, and every witnessed head."""
    report = WorkspaceReport(team_id, with_slack)
    checked, problem = audit.verify_chain(session=session, team_id=team_id)
    report.events = report.checked_before_break = checked
    if problem is not None:
        report.chain_break = (problem.seq, problem.reason)
    report.bound_rows, problems = audit.verify_bindings(session=session, team_id=team_id)
    report.row_problems = [(p.row, p.reason) for p in problems]
    held = {(seq, digest): "the database" for seq, digest in audit.witnessed_heads(session=session, team_id=team_id)}
    held.update({(seq, digest): "Slack" for seq, digest in slack_heads})
    for (seq, digest), where in sorted(held.items()):
        event = audit.event_at(session=session, team_id=team_id, seq=seq)
        if event is None or event.hash != digest:
            report.lost_heads.append((seq, digest, where))
    report.witnessed = len(held)
    report.latest_witness = max((seq for seq, _ in held), default=None)
    return report


def verify_all(engine, slack_heads: dict[str, list[tuple[int, str]]], *, with_slack: bool) -> list[WorkspaceReport]:
    """Every workspace's report: those with a chain or bound rows in the database, and those Slack names."""
    try:
        with read_scope(engine) as session:
            teams = sorted(set(audit.workspaces(session=session)) | set(slack_heads))
            return [verify_workspace(session, team, slack_heads.get(team, []), with_slack=with_slack)
                    for team in teams]
    except SQLAlchemyError as exc:
        detail = str(exc.orig if getattr(exc, "orig", None) is not None else exc).splitlines()[0][:200]
        raise CouldNotCheck(f"the database would not answer ({type(exc).__name__}: {detail}); if it predates "
                            "this version of Steward, run `steward db upgrade` first") from None


def posted_witness(message: dict, *, user_id: str | None, bot_id: str | None) -> WitnessKey | None:
    """The head a Slack message witnesses, if Steward's own bot user posted it as a witness.

    Trusted only with both marks of Steward's own post: its bot user (or bot id) as the author, and the
    outbox metadata naming a witness key. Words alone, another app's post or a person's never count.
    """
    if not user_id and not bot_id:
        return None
    by_steward = (user_id is not None and message.get("user") == user_id) or \
                 (bot_id is not None and message.get("bot_id") == bot_id)
    metadata = message.get("metadata") or {}
    if not by_steward or metadata.get("event_type") != OUTBOX_EVENT:
        return None
    return WitnessKey.decode((metadata.get("event_payload") or {}).get("key"))


def slack_witnesses(settings: Settings) -> dict[str, list[tuple[int, str]]]:
    """The chain heads Steward posted to the audit channel, read back from Slack; CouldNotCheck if Slack won't say."""
    from slack_sdk.errors import SlackApiError, SlackClientError
    from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

    from bot.slack_port import make_web_client

    client = make_web_client(token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url,
                             interactive=False)
    # A command line may wait out Slack's history limit (Tier 3, or 1 a minute for unlisted apps).
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=5))
    channel = settings.steward_audit_channel
    try:
        identity = client.auth_test()
        user_id, bot_id = identity.get("user_id"), identity.get("bot_id")
        found: dict[str, list[tuple[int, str]]] = {}
        cursor = None
        while True:
            response = client.conversations_history(channel=channel, limit=200, cursor=cursor,
                                                    include_all_metadata=True)
            for message in response.get("messages", []):
                head = posted_witness(message, user_id=user_id, bot_id=bot_id)
                if head is not None:
                    found.setdefault(head.team_id, []).append((head.seq, head.digest))
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return found
    except SlackApiError as exc:
        error = exc.response.get("error") if hasattr(exc.response, "get") else None
        error = error or f"HTTP {getattr(exc.response, 'status_code', '?')}"
        hint = {"invalid_auth": "SLACK_BOT_TOKEN is not valid", "token_revoked": "SLACK_BOT_TOKEN was revoked",
                "not_authed": "SLACK_BOT_TOKEN is missing", "channel_not_found":
                f"STEWARD_AUDIT_CHANNEL {channel} does not exist or Steward is not in it",
                "not_in_channel": f"Steward is not a member of STEWARD_AUDIT_CHANNEL {channel}",
                "missing_scope": "the app lacks channels:history/groups:history",
                "ratelimited": "Slack kept answering ratelimited; try again later"}.get(error, "")
        raise CouldNotCheck(f"Slack answered {error} reading the audit channel" + (f" ({hint})" if hint else "")
                            ) from None
    except (SlackClientError, OSError) as exc:
        raise CouldNotCheck(f"could not reach Slack at {settings.slack_api_url} ({type(exc).__name__}: "
                            f"{str(exc).splitlines()[0][:200] if str(exc) else ''})") from None


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
        # Issue 15 (D): every incident's timeline follows the chain, one row per entry (no seq or hash: the
        # timeline is a record of the thread, not part of the chain).
        for entry in export_timeline(session=session, team_id=team_id):
            row, payload = {name: entry[name] for name in FIELDS if name != "payload"}, entry["payload"]
            if writer:
                writer.writerow({**row, "payload": json.dumps(payload, ensure_ascii=False, sort_keys=True)})
            else:
                stream.write(json.dumps({**row, "payload": payload}, ensure_ascii=False) + "\n")
            count += 1
    return count


def export_timeline(*, session: Session, team_id: str | None = None) -> list[dict]:
    """The incidents' timelines as export rows: who, when, what (`timeline.reply`, ...), on which incident."""
    rows = []
    for entry, number in timeline.for_export(session=session, team_id=team_id):
        payload = {"incident": f"INC{number}", "kind": entry.kind, "text": entry.text,
                   "message_ts": entry.message_ts, "detail": json.loads(entry.detail) if entry.detail else None}
        rows.append({"team_id": entry.team_id, "seq": "", "at": entry.at.isoformat(), "actor": entry.actor,
                     "role": "", "action": f"timeline.{entry.kind}", "target": f"INC{number}", "payload": payload,
                     "prev_hash": "", "hash": "", "incident": f"INC{number}", "kind": entry.kind})
    return rows
