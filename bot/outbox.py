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
from states import OutboxStatus
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


def queue_message(*, session: Session, team_id: str, key: str, channel_id: str, message: Message, purpose: str,
                  at: datetime, **options) -> bool:
    """Queue a rendered message in the caller's transaction; False if the key was queued before."""
    return outbox.enqueue(session=session, team_id=team_id, key=key, channel_id=channel_id, text=message.text,
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
                ids = outbox.due_ids(session=session, now=moment, limit=batch)
            if not ids:
                break
            progressed = False
            for message_id in ids:
                outcome = self._deliver_isolated(message_id, moment)
                if outcome is not None:
                    progressed = True
                    setattr(result, outcome, getattr(result, outcome) + 1)
            if not progressed or len(ids) < batch:
                break
        return result

    def _deliver_isolated(self, message_id: int, now: datetime) -> str | None:
        """Deliver one message; whatever goes wrong with it never stops the others."""
        try:
            return self._deliver(message_id, now)
        except Exception:
            # A bug or a lost database: the claim lapses and the message is tried again after the lease.
            log.exception("outbox message %s could not be delivered; it stays due", message_id)
            return "retried"

    def _deliver(self, message_id: int, now: datetime) -> str | None:
        with session_scope(self.engine) as session:
            row, lapsed = outbox.claim(session=session, message_id=message_id, now=now, lease=LEASE)
        if row is None:
            return None  # another sender has it
        with session_scope(self.engine) as session:
            wanted = self.still_wanted.get(row.purpose)
            if wanted is not None and not wanted(session, row):
                outbox.finish(session=session, row=row, values={"status": OutboxStatus.CANCELLED, "last_error": None})
                return "skipped"
            thread_ts = self._ts_of(session, row, row.thread_key)
            target_ts = self._ts_of(session, row, row.target_key)
            try:
                # Drawn now, from the rows as they are: what cannot be drawn (a value no chart can plot)
                # never will be, so the message fails with the reason instead of being retried for ever.
                blocks = json.loads(row.blocks)
                attachment = self.attachments[row.purpose](session, row) if row.method == "files.upload" else None
                unrenderable = None
            except Exception as exc:
                log.exception("outbox message %s cannot be rendered", row.key)
                unrenderable = f"could not be rendered: {type(exc).__name__}: {exc}"
        if unrenderable is not None:
            return self._give_up(row, unrenderable)
        if (row.thread_key and not thread_ts) or (row.target_key and not target_ts):
            # The message it answers or edits is not in Slack yet: wait for it, no attempt spent.
            with session_scope(self.engine) as session:
                outbox.finish(session=session, row=row, values={
                    "status": OutboxStatus.PENDING, "attempts": row.attempts - 1, "next_attempt_at": now + PARENT_WAIT})
            return "retried"
        try:
            ts = self._send(row, lapsed=lapsed, blocks=blocks, attachment=attachment, thread_ts=thread_ts,
                            target_ts=target_ts)
        except SlackFault as fault:
            return self._record_fault(row, fault, now)
        with session_scope(self.engine) as session:
            if outbox.finish(session=session, row=row, values={"status": OutboxStatus.SENT, "ts": ts, "sent_at": now,
                                                               "last_error": None}):
                hook = self.on_sent.get(row.purpose)
                if hook is not None:
                    hook(session, row, ts, now)
        return "sent"

    @staticmethod
    def _ts_of(session: Session, row: OutboxMessage, key: str | None) -> str | None:
        """The Slack ts of the message queued under `key` (a thread's parent, an edited message), once sent."""
        if not key:
            return None
        other = outbox.by_key(session=session, team_id=row.team_id, key=key)
        return other.ts if other else None

    def _send(self, row: OutboxMessage, *, lapsed: bool, blocks: list, attachment: tuple[bytes, str, str] | None,
              thread_ts: str | None, target_ts: str | None) -> str | None:
        if lapsed and row.method == "chat.postMessage":
            # The sender before us died mid-send; if Slack has the message, record it instead of posting twice.
            ts = self.slack.find_posted(channel=row.channel_id, key=row.key, thread_ts=thread_ts)
            if ts is not None:
                log.info("outbox message %s was already in Slack (%s); not posting it again", row.key, ts)
                return ts
        if row.method == "chat.update":
            return self.slack.update_message(channel=row.channel_id, ts=target_ts, text=row.text, blocks=blocks)
        if row.method == "files.upload":
            content, filename, title = attachment
            return self.slack.upload_file(channel=row.channel_id, thread_ts=thread_ts, content=content,
                                          filename=filename, title=title)
        if row.method == "chat.postEphemeral":
            return self.slack.post_ephemeral(channel=row.channel_id, user=row.user_id, text=row.text, blocks=blocks)
        return self.slack.post_message(channel=row.channel_id, text=row.text, blocks=blocks, thread_ts=thread_ts,
                                       metadata={"event_type": OUTBOX_EVENT, "event_payload": {"key": row.key}})

    def _give_up(self, row: OutboxMessage, reason: str) -> str:
        """Mark a message that can never be sent failed, with the reason `initiative show` lists."""
        with session_scope(self.engine) as session:
            outbox.finish(session=session, row=row, values={"status": OutboxStatus.FAILED, "last_error": reason[:500]})
        return "failed"

    def _record_fault(self, row: OutboxMessage, fault: SlackFault, now: datetime) -> str:
        if fault.kind is FaultKind.PERMANENT:
            log.error("Slack refused outbox message %s (%s): %s", row.key, row.method, fault.error)
            values = {"status": OutboxStatus.FAILED, "last_error": fault.error}
            outcome = "failed"
        else:
            if fault.kind is FaultKind.NEEDS_ACTION:
                delay = NEEDS_ACTION_BACKOFF
                log.warning("Outbox message %s waits for a person: %s", row.key, fault.error)
            elif fault.retry_after is not None:
                delay = timedelta(seconds=max(fault.retry_after, 1))
            else:
                delay = min(timedelta(seconds=5 * 2 ** min(row.attempts - 1, 10)), MAX_TRANSIENT_BACKOFF)
            values = {"status": OutboxStatus.PENDING, "last_error": fault.error[:500], "next_attempt_at": now + delay}
            outcome = "retried"
        with session_scope(self.engine) as session:
            outbox.finish(session=session, row=row, values=values)
        return outcome
