"""Drain the outbox into Slack: claim, re-check, send, record; retry faults with backoff."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from bot.slack_port import FaultKind, SlackFault, SlackPort
from messages.render import Message
from storage import outbox
from storage.db import read_scope, session_scope
from storage.models import OutboxMessage

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
OUTBOX_EVENT = "steward_outbox"  # message metadata carrying the outbox key, so a post can be found again
MAX_TRANSIENT_BACKOFF = timedelta(minutes=5)
NEEDS_ACTION_BACKOFF = timedelta(minutes=15)
PARENT_WAIT = timedelta(seconds=1)  # the parent is being sent by another sender right now

# purpose -> predicate deciding, just before sending, whether the message is still wanted.
StillWanted = Callable[[Session, OutboxMessage], bool]
# purpose -> builder of a file's (content, filename, title), drawn when the message is sent.
Attachment = Callable[[Session, OutboxMessage], tuple[bytes, str, str]]
# purpose -> hook recording the Slack ts on the row that caused the message.
OnSent = Callable[[Session, OutboxMessage, str, datetime], None]


def queue_message(session: Session, *, team_id: str, key: str, channel_id: str, message: Message, purpose: str,
                  at: datetime, **options) -> bool:
    """Queue a rendered message in the caller's transaction; False if the key was queued before."""
    return outbox.enqueue(session, team_id=team_id, key=key, channel_id=channel_id, text=message.text,
                          blocks=message.blocks_json(), purpose=purpose, at=at, **options)


@dataclass
class DrainResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0


@dataclass
class OutboxSender:
    engine: Engine
    slack: SlackPort
    still_wanted: dict[str, StillWanted] = field(default_factory=dict)
    on_sent: dict[str, OnSent] = field(default_factory=dict)
    attachments: dict[str, Attachment] = field(default_factory=dict)

    def drain(self, now: datetime | None = None, *, batch: int = 50, max_batches: int = 20) -> DrainResult:
        """Send every message due at `now`; each is claimed first, so concurrent drains share the work."""
        result = DrainResult()
        for _ in range(max_batches):
            moment = now or datetime.now(UTC)
            with read_scope(self.engine) as session:
                ids = outbox.due_ids(session, now=moment, limit=batch)
            if not ids:
                break
            progressed = False
            for message_id in ids:
                outcome = self._deliver(message_id, moment)
                if outcome is not None:
                    progressed = True
                    setattr(result, outcome, getattr(result, outcome) + 1)
            if not progressed or len(ids) < batch:
                break
        return result

    def _deliver(self, message_id: int, now: datetime) -> str | None:
        with session_scope(self.engine) as session:
            row, lapsed = outbox.claim(session, message_id=message_id, now=now, lease=LEASE)
        if row is None:
            return None  # another sender has it
        with session_scope(self.engine) as session:
            wanted = self.still_wanted.get(row.purpose)
            if wanted is not None and not wanted(session, row):
                outbox.finish(session, row=row, values={"status": outbox.CANCELLED, "last_error": None})
                return "skipped"
            thread_ts = target_ts = None
            if row.thread_key:
                parent = outbox.by_key(session, team_id=row.team_id, key=row.thread_key)
                thread_ts = parent.ts if parent else None
            if row.target_key:
                target = outbox.by_key(session, team_id=row.team_id, key=row.target_key)
                target_ts = target.ts if target else None
            attachment = self.attachments[row.purpose](session, row) if row.method == "files.upload" else None
        if (row.thread_key and not thread_ts) or (row.target_key and not target_ts):
            # The message it answers or edits is not in Slack yet: wait for it, no attempt spent.
            with session_scope(self.engine) as session:
                outbox.finish(session, row=row, values={
                    "status": outbox.PENDING, "attempts": row.attempts - 1, "next_attempt_at": now + PARENT_WAIT})
            return "retried"
        blocks = json.loads(row.blocks)
        try:
            ts = None
            if lapsed and row.method == "chat.postMessage":
                # The sender before us died mid-send; if Slack has the message, record it instead of posting twice.
                ts = self.slack.find_posted(channel=row.channel_id, key=row.key, thread_ts=thread_ts)
            if ts is not None:
                log.info("outbox message %s was already in Slack (%s); not posting it again", row.key, ts)
            elif row.method == "chat.update":
                ts = self.slack.update_message(channel=row.channel_id, ts=target_ts, text=row.text, blocks=blocks)
            elif row.method == "files.upload":
                content, filename, title = attachment
                ts = self.slack.upload_file(channel=row.channel_id, thread_ts=thread_ts, content=content,
                                            filename=filename, title=title)
            elif row.method == "chat.postEphemeral":
                ts = self.slack.post_ephemeral(channel=row.channel_id, user=row.user_id, text=row.text, blocks=blocks)
            else:
                ts = self.slack.post_message(channel=row.channel_id, text=row.text, blocks=blocks, thread_ts=thread_ts,
                                             metadata={"event_type": OUTBOX_EVENT, "event_payload": {"key": row.key}})
        except SlackFault as fault:
            return self._record_fault(row, fault, now)
        with session_scope(self.engine) as session:
            if outbox.finish(session, row=row, values={"status": outbox.SENT, "ts": ts, "sent_at": now,
                                                       "last_error": None}):
                hook = self.on_sent.get(row.purpose)
                if hook is not None:
                    hook(session, row, ts, now)
        return "sent"

    def _record_fault(self, row: OutboxMessage, fault: SlackFault, now: datetime) -> str:
        if fault.kind is FaultKind.PERMANENT:
            log.error("Slack refused outbox message %s (%s): %s", row.key, row.method, fault.error)
            values = {"status": outbox.FAILED, "last_error": fault.error}
            outcome = "failed"
        else:
            if fault.kind is FaultKind.NEEDS_ACTION:
                delay = NEEDS_ACTION_BACKOFF
                log.warning("Outbox message %s waits for a person: %s", row.key, fault.error)
            elif fault.retry_after is not None:
                delay = timedelta(seconds=max(fault.retry_after, 1))
            else:
                delay = min(timedelta(seconds=5 * 2 ** min(row.attempts - 1, 10)), MAX_TRANSIENT_BACKOFF)
            values = {"status": outbox.PENDING, "last_error": fault.error[:500], "next_attempt_at": now + delay}
            outcome = "retried"
        with session_scope(self.engine) as session:
            outbox.finish(session, row=row, values=values)
        return outcome
