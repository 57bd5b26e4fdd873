"""Drain the outbox into Slack: pace, claim, re-check, send, record; retry faults with backoff.

Exactly once: a post whose outcome is unknown (a claim that lapsed, a timeout or a connection dropped
after sending) leaves the row `unsure`; its next attempt first looks in the channel's history, from a
little before the first attempt, for a message carrying its outbox key, and records that one instead
of posting again. A look-up that fails is retried like any fault: the row never posts blind.
"""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from bot import metrics
from bot.pacing import CALLS, Pacer
from bot.slack_port import FaultKind, SlackFault, SlackPort
from messages.render import Message
from states import OutboxStatus
from storage import metrics as metric_rows
from storage import outbox
from storage.db import read_scope, session_scope
from storage.models import OutboxMessage

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
OUTBOX_EVENT = "steward_outbox"  # message metadata carrying the outbox key, so a post can be found again
MAX_TRANSIENT_BACKOFF = timedelta(minutes=5)
NEEDS_ACTION_BACKOFF = timedelta(minutes=15)
PARENT_WAIT = timedelta(seconds=1)  # the parent is being sent by another sender right now
LOOKBACK = timedelta(minutes=5)  # history is searched from this long before the first attempt (clock skew)
LIVE_SKEW = timedelta(seconds=5)  # a drain's `now` this close to the wall clock is a live drain
MAX_UPLOAD_ATTEMPTS = 4  # a chart that still cannot be shared after this many tries fails and is deleted
# Send errors that mean the channel needs a person (B's membership state listens through `on_channel_trouble`).
CHANNEL_TROUBLE = {"not_in_channel", "channel_not_found", "is_archived"}

# purpose -> predicate deciding, just before sending, whether the message is still wanted.
StillWanted = Callable[[Session, OutboxMessage], bool]
# purpose -> builder of a file's (content, filename, title), drawn when the message is sent.
Attachment = Callable[[Session, OutboxMessage], tuple[bytes, str, str]]
# purpose -> hook recording the Slack ts on the row that caused the message.
OnSent = Callable[[Session, OutboxMessage, str, datetime], None]
# purpose -> the row as it must go out now (recipient, channel and text looked up at sending), or None when
# nobody is to receive it any more; it may open a direct message through the SlackPort (raising SlackFault).
Resolver = Callable[[Session, OutboxMessage, SlackPort], OutboxMessage | None]
# (team_id, channel_id, error) -> None: a send met not_in_channel / channel_not_found / is_archived.
OnChannelTrouble = Callable[[str, str, str], None]


def queue_message(*, session: Session, team_id: str, key: str, channel_id: str, message: Message, purpose: str,
                  at: datetime, **options) -> bool:
    """Queue a rendered message in the caller's transaction; False if the key was queued before."""
    return outbox.enqueue(session=session, team_id=team_id, key=key, channel_id=channel_id, text=message.text,
                          blocks=message.blocks_json(), purpose=purpose, at=at, **options)


class _ClaimLost(Exception):
    """Another sender took a row while this one sent it: its outcome is not this sender's to record."""


@dataclass
class DrainResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    deferred: int = 0  # rows moved on to respect Slack's pace; no call made


@dataclass
class OutboxSender:
    engine: Engine
    slack: SlackPort
    still_wanted: dict[str, StillWanted] = field(default_factory=dict)
    on_sent: dict[str, OnSent] = field(default_factory=dict)
    attachments: dict[str, Attachment] = field(default_factory=dict)
    pacer: Pacer = field(default_factory=Pacer)
    on_channel_trouble: OnChannelTrouble | None = None
    resolvers: dict[str, Resolver] = field(default_factory=dict)
    # method -> delivery outside Slack (D: PagerDuty, webhooks; bot.services.paging_targets), raising SlackFault.
    deliveries: dict[str, Callable[[OutboxMessage], str | None]] = field(default_factory=dict)
    concurrency: int = 4  # channels sent to at once (each channel's rows stay in order)

    def drain(self, now: datetime | None = None, *, batch: int = 200, max_batches: int = 5) -> DrainResult:
        """Send every message due at `now` that Slack's pace allows; the rest are moved on to their moment.

        Each message is claimed first, so concurrent drains share the work. Nothing here sleeps.
        """
        result = DrainResult()
        started = datetime.now(UTC)
        # A live drain (now is the wall clock) paces each row at the moment it really calls Slack, later
        # than `now` by the rows before it, as Slack sees it; a drain at a given moment (tests, `sweep
        # --at`) paces at that moment.
        live = now is None or abs(now - started) < LIVE_SKEW
        for _ in range(max_batches):
            moment = now or datetime.now(UTC)
            with read_scope(self.engine) as session:
                due = outbox.due_rows(session=session, now=moment, limit=batch)
            if not due:
                break

            def pace_clock(moment=moment) -> datetime:
                if not live:
                    return moment
                return datetime.now(UTC) if now is None else now + (datetime.now(UTC) - started)

            later: list[tuple[int, datetime]] = []
            outcomes = self._drain_channels(due, moment, pace_clock, later)
            progressed = False
            for outcome in outcomes:
                if outcome is not None:
                    progressed = True
                    setattr(result, outcome, getattr(result, outcome) + 1)
            if later:
                with session_scope(self.engine) as session:
                    deferred = outbox.defer(session=session, slots=later, now=moment)
                result.deferred += deferred
                metrics.PACED.inc(deferred)
                progressed = True
            if not progressed or len(due) < batch:
                break
        return result

    def _drain_channels(self, due: list[outbox.DueRow], moment: datetime, pace_clock: Callable[[], datetime],
                        later: list[tuple[int, datetime]]) -> list[str | None]:
        """The batch's rows: channels side by side, each channel's rows in order; then the channels holding a row
        with a resolver, one after another."""
        by_channel: dict[tuple[str, str], list[outbox.DueRow]] = {}
        for row in due:
            by_channel.setdefault((row.team_id, row.channel_id), []).append(row)
        # A row with a resolver (C's pages) may need what an earlier row's hook records (the incident's root
        # ts): the channels holding one go after the others, one after another, in the order they were queued.
        after = [group for group in by_channel.values() if any(row.purpose in self.resolvers for row in group)]
        side_by_side = [group for group in by_channel.values() if group not in after]
        outcomes = self._drain_side_by_side(side_by_side, moment, pace_clock, later) if side_by_side else []
        return outcomes + [o for group in after for o in self._drain_channel(group, moment, pace_clock, later)]

    def _drain_side_by_side(self, groups: list[list[outbox.DueRow]], moment: datetime,
                            pace_clock: Callable[[], datetime], later: list[tuple[int, datetime]]) -> list[str | None]:
        """Channels' rows paced, then claimed together in one statement, then sent (`concurrency` channels at
        once: a call to Slack mostly waits), each channel's in order; what was sent is recorded together.

        A burst across many channels costs three transactions, not three per message. Exactly once still
        holds: a row sent but not yet recorded when the process dies keeps its claim, which lapses, and
        the next attempt finds the post in the channel's history instead of posting again.
        """
        go: list[tuple[outbox.DueRow, list[str]]] = []
        for group in groups:
            for row in group:
                calls = self._calls_of(row)
                at = self.pacer.slot(row_id=row.id, team_id=row.team_id, channel=row.channel_id, calls=calls,
                                     now=pace_clock()) if row.pending else None
                if at is None:
                    go.append((row, calls))
                else:
                    later.append((row.id, at))
        if not go:
            return []
        with session_scope(self.engine) as session:  # one prebuilt UPDATE ... RETURNING for the whole batch
            claimed = {row.id: row for row in outbox.claim_many(session=session, message_ids=[row.id for row, _ in go],
                                                                  now=moment, lease=LEASE)}
        channels: dict[tuple[str, str], list[tuple[OutboxMessage, list[str]]]] = {}
        for due_row, calls in go:
            if due_row.id in claimed:
                channels.setdefault((due_row.team_id, due_row.channel_id), []).append((claimed[due_row.id], calls))
            else:
                self.pacer.release(due_row.id)  # another sender has it
        sent: list[tuple[OutboxMessage, str | None]] = []  # recorded together below; appended from the threads

        def send_channel(rows: list[tuple[OutboxMessage, list[str]]]) -> list[str | None]:
            recent: dict[str, str | None] = {}  # key -> ts of what this channel sent just now (not yet recorded)
            outcomes = []
            for row, calls in rows:
                held = self.pacer.held_until(team_id=row.team_id, channel=row.channel_id, calls=calls,
                                             now=pace_clock())
                if held is not None:  # a 429 met by a row before it cooled the channel: it waits, no call made
                    outcomes.append(self._isolated(self._hand_back, row, moment, held))
                    continue

                def calling(row=row, calls=calls) -> None:  # the moment the call leaves, as Slack will count it
                    self.pacer.called(team_id=row.team_id, channel=row.channel_id, calls=calls, at=pace_clock())

                outcomes.append(self._isolated(self._deliver_claimed, row, moment, calling,
                                               sent=sent, recent=recent))
                self.pacer.release(row.id)
            return outcomes

        groups_claimed = list(channels.values())
        if len(groups_claimed) <= 1 or self.concurrency <= 1:
            outcomes = [o for rows in groups_claimed for o in send_channel(rows)]
        else:
            context = contextvars.copy_context()  # the sweep's log context goes with each row
            with ThreadPoolExecutor(max_workers=min(self.concurrency, len(groups_claimed)),
                                    thread_name_prefix="outbox") as pool:
                done = pool.map(lambda rows: context.copy().run(send_channel, rows), groups_claimed)
                outcomes = [outcome for channel_outcomes in done for outcome in channel_outcomes]
        if sent:
            self._record_all_sent(sent, moment)
        return outcomes

    def _record_all_sent(self, sent: list[tuple[OutboxMessage, str | None]], now: datetime) -> None:
        """Record rows Slack took, in one transaction and one statement. If that fails (or a claim was lost
        meanwhile), each again, in a savepoint of its own, so one row whose hook fails cannot undo the others.
        What stays unrecorded keeps its claim, which lapses; each next attempt looks in Slack first, so none
        is posted twice."""
        try:
            with session_scope(self.engine) as session:
                if not outbox.finish_all(session=session, rows=[row for row, _ in sent],
                                         values=[self._sent_values(ts, now) for _, ts in sent]):
                    raise _ClaimLost
                for row, ts in sent:
                    self._after_sent(session, row, ts, now)
            return
        except _ClaimLost:
            pass
        except Exception:
            log.warning("recording %d sent outbox messages together failed; recording each on its own", len(sent),
                        exc_info=True)
        try:
            with session_scope(self.engine) as session:
                for row, ts in sent:
                    try:
                        with session.begin_nested():
                            self._record_sent(session, row, ts, now)
                    except Exception:
                        log.exception("outbox message %s was sent as %s but could not be recorded; it will be "
                                      "found in Slack", row.key, ts)
        except Exception:
            log.exception("%d sent outbox messages could not be recorded; they will be found in Slack", len(sent))

    def _drain_channel(self, rows: list[outbox.DueRow], moment: datetime, pace_clock: Callable[[], datetime],
                       later: list[tuple[int, datetime]]) -> list[str | None]:
        """One channel's due rows in order, each paced just before it is claimed and sent, so a 429 met by a row
        cools the channel for the rows behind it; a row that must wait is added to `later` (no call made). A
        lapsed claim goes at once: it was paced before and looks first."""
        outcomes = []
        for row in rows:
            calls = self._calls_of(row)
            at = self.pacer.slot(row_id=row.id, team_id=row.team_id, channel=row.channel_id, calls=calls,
                                 now=pace_clock()) if row.pending else None
            if at is not None:
                later.append((row.id, at))
                continue

            def calling(row=row, calls=calls) -> None:  # the moment the call leaves, as Slack will count it
                self.pacer.called(team_id=row.team_id, channel=row.channel_id, calls=calls, at=pace_clock())

            outcomes.append(self._isolated(self._deliver, row.id, moment, calling))
            self.pacer.release(row.id)
        return outcomes

    @staticmethod
    def _calls_of(row: outbox.DueRow) -> list[str]:
        calls = CALLS.get(row.method, [row.method])
        if row.unsure and row.method == "chat.postMessage":
            return ["conversations.history", *calls]  # it looks in history first
        return calls

    @staticmethod
    def _isolated(deliver: Callable[..., str | None], subject, now: datetime, *args, **options) -> str | None:
        """Deliver one message; whatever goes wrong with it never stops the others."""
        try:
            return deliver(subject, now, *args, **options)
        except Exception:
            # A bug or a lost database: the claim lapses and the message is tried again after the lease.
            log.exception("outbox message %s could not be delivered; it stays due",
                          getattr(subject, "id", subject))
            return "retried"

    def _deliver(self, message_id: int, now: datetime, calling: Callable[[], None] | None = None) -> str | None:
        with session_scope(self.engine) as session:  # one prebuilt UPDATE ... RETURNING
            claimed = outbox.claim_many(session=session, message_ids=[message_id], now=now, lease=LEASE)
        if not claimed:
            return None  # another sender has it
        return self._deliver_claimed(claimed[0], now, calling)

    def _deliver_claimed(self, row: OutboxMessage, now: datetime, calling: Callable[[], None] | None = None, *,
                         sent: list[tuple[OutboxMessage, str | None]] | None = None,
                         recent: dict[str, str | None] | None = None) -> str:
        """Resolve, re-check, send and record a row this sender claimed. With `sent`, a successful send is
        appended there for the caller to record (with others) instead of being recorded here; `recent`
        then holds the ts of what was sent before it, for a reply to a message not yet recorded."""
        resolve = self.resolvers.get(row.purpose)
        if resolve is not None:  # C: who it goes to is looked up now, at sending (a page names today's holders)
            try:
                with session_scope(self.engine) as session:
                    resolved = resolve(session, row, self.slack)
            except SlackFault as fault:
                return self._record_fault(row, fault, now)
            if resolved is None:
                with session_scope(self.engine) as session:
                    outbox.finish(session=session, row=row, values={"status": OutboxStatus.CANCELLED,
                                                                    "last_error": None})
                return "skipped"
            row = resolved
        # Read only (no write lock): whether it is still wanted, its parent's ts, its attachment.
        with read_scope(self.engine) as session:
            wanted = self.still_wanted.get(row.purpose)
            prepared = None if wanted is not None and not wanted(session, row) else self._prepare(session, row,
                                                                                                 recent or {})
        if prepared is None:
            with session_scope(self.engine) as session:
                outbox.finish(session=session, row=row, values={"status": OutboxStatus.CANCELLED, "last_error": None})
            return "skipped"
        thread_ts, target_ts, blocks, attachment, unrenderable = prepared
        if unrenderable is not None:
            return self._give_up(row, unrenderable)
        if (row.thread_key and not thread_ts) or (row.target_key and not target_ts):
            # The message it answers or edits is not in Slack yet: wait for it, no attempt spent.
            with session_scope(self.engine) as session:
                outbox.finish(session=session, row=row, values={
                    "status": OutboxStatus.PENDING, "attempts": row.attempts - 1, "next_attempt_at": now + PARENT_WAIT})
            return "retried"
        if calling is not None:
            calling()
        try:
            ts = self._send(row, blocks=blocks, attachment=attachment, thread_ts=thread_ts, target_ts=target_ts)
        except SlackFault as fault:
            return self._record_fault(row, fault, now)
        if sent is not None:
            sent.append((row, ts))
            if recent is not None:
                recent[row.key] = ts
            return "sent"
        with session_scope(self.engine) as session:
            self._record_sent(session, row, ts, now)
        return "sent"

    def _hand_back(self, row: OutboxMessage, now: datetime, until: datetime) -> str:
        """Return a claimed row unsent, due at `until`, its attempt not spent."""
        with session_scope(self.engine) as session:
            outbox.finish(session=session, row=row, values={
                "status": OutboxStatus.PENDING, "attempts": row.attempts - 1, "next_attempt_at": until})
        self.pacer.release(row.id)
        return "deferred"

    def _record_sent(self, session: Session, row: OutboxMessage, ts: str | None, now: datetime) -> None:
        """Record a claimed row as sent, with what its purpose's hook keeps of it, if the claim is still ours."""
        if outbox.finish(session=session, row=row, values=self._sent_values(ts, now)):
            self._after_sent(session, row, ts, now)

    @staticmethod
    def _sent_values(ts: str | None, now: datetime) -> dict:
        return {"status": OutboxStatus.SENT, "ts": ts, "sent_at": now, "last_error": None, "unsure_until": None}

    def _after_sent(self, session: Session, row: OutboxMessage, ts: str | None, now: datetime) -> None:
        """What a recorded send brings about: its purpose's hook, and the counts."""
        hook = self.on_sent.get(row.purpose)
        if hook is not None:
            hook(session, row, ts, now)
        metrics.POSTS_SENT.labels(kind=row.purpose).inc()
        if row.purpose in metrics.PAGE_KINDS:
            sev = metric_rows.incident_severity(session=session, incident_id=row.subject_id)
            metrics.PAGES_SENT.labels(severity=metrics.severity(sev)).inc()

    def _prepare(self, session: Session, row: OutboxMessage, recent: dict[str, str | None]) -> tuple:
        """(thread ts, target ts, blocks, attachment, why it cannot be rendered) of a claimed row; `recent`: the ts
        of messages sent in this drain and not yet recorded, by key."""
        thread_ts = recent.get(row.thread_key) or self._ts_of(session, row, row.thread_key)
        target_ts = recent.get(row.target_key) or self._ts_of(session, row, row.target_key)
        try:
            # Drawn now, from the rows as they are: what cannot be drawn (a value no chart can plot)
            # never will be, so the message fails with the reason instead of being retried for ever.
            blocks = json.loads(row.blocks)
            attachment = self.attachments[row.purpose](session, row) if row.method == "files.upload" else None
        except Exception as exc:
            log.exception("outbox message %s cannot be rendered", row.key)
            return thread_ts, target_ts, None, None, f"could not be rendered: {type(exc).__name__}: {exc}"
        return thread_ts, target_ts, blocks, attachment, None

    @staticmethod
    def _ts_of(session: Session, row: OutboxMessage, key: str | None) -> str | None:
        """The Slack ts of the message queued under `key` (a thread's parent, an edited message), once sent."""
        if not key:
            return None
        other = outbox.by_key(session=session, team_id=row.team_id, key=key)
        return other.ts if other else None

    def _send(self, row: OutboxMessage, *, blocks: list, attachment: tuple[bytes, str, str] | None,
              thread_ts: str | None, target_ts: str | None) -> str | None:
        deliver = self.deliveries.get(row.method)
        if deliver is not None:  # not Slack: a paging service's event (its body is the row's `blocks`)
            return deliver(row)
        if row.unsure_until is not None and row.method == "chat.postMessage":
            # An earlier attempt may have reached Slack (a sender died mid-send, or the answer was lost):
            # if Slack has the message, record it instead of posting twice. A failed look-up raises.
            # No `latest` bound: Slack's clock, not ours, stamps the message, so only the start is trusted
            # (less the margin for skew).
            oldest = (row.first_attempt_at or row.created_at) - LOOKBACK
            ts = self.slack.find_posted(channel=row.channel_id, key=row.key, thread_ts=thread_ts,
                                        oldest=oldest.timestamp())
            if ts is not None:
                log.info("outbox message %s was already in Slack (%s); not posting it again", row.key, ts)
                return ts
        if row.method == "chat.update":
            return self.slack.update_message(channel=row.channel_id, ts=target_ts, text=row.text, blocks=blocks)
        if row.method == "files.upload":
            return self._upload(row, attachment, thread_ts)
        if row.method == "response_url":  # B: a click's or form's private answer; `blocks` are the message's
            return self.slack.respond(url=row.reply_url, text=row.text, blocks=blocks, channel=row.channel_id,
                                      user=row.user_id)
        if row.method == "views.publish":  # B: a Home tab; `blocks` holds the whole view
            return self.slack.publish_home(user=row.user_id, view=blocks)
        if row.method == "chat.postEphemeral":
            return self.slack.post_ephemeral(channel=row.channel_id, user=row.user_id, text=row.text, blocks=blocks)
        return self.slack.post_message(channel=row.channel_id, text=row.text, blocks=blocks, thread_ts=thread_ts,
                                       metadata={"event_type": OUTBOX_EVENT, "event_payload": {"key": row.key}})

    def _upload(self, row: OutboxMessage, attachment: tuple[bytes, str, str], thread_ts: str | None) -> str:
        """Upload (once: the file id is kept on the row) and share in the channel."""
        content, filename, title = attachment
        if not row.file_id:
            file_id = self.slack.start_upload(content=content, filename=filename)
            with session_scope(self.engine) as session:
                outbox.remember_file(session=session, row=row, file_id=file_id)
        try:
            return self.slack.complete_upload(file_id=row.file_id, title=title, channel=row.channel_id,
                                              thread_ts=thread_ts)
        except SlackFault as fault:
            if fault.error == "file_not_found":
                # Slack no longer has the upload (it expired unshared): the next attempt uploads afresh.
                with session_scope(self.engine) as session:
                    outbox.remember_file(session=session, row=row, file_id=None)
                raise SlackFault("upload expired before it was shared", FaultKind.TRANSIENT) from fault
            raise

    def _give_up(self, row: OutboxMessage, reason: str) -> str:
        """Mark a message that can never be sent failed, with the reason `initiative show` lists."""
        with session_scope(self.engine) as session:
            outbox.finish(session=session, row=row, values={"status": OutboxStatus.FAILED, "last_error": reason[:500]})
        return "failed"

    def _discard_upload(self, row: OutboxMessage) -> str:
        """Delete an upload that will never be shared; '' when gone (or none), else why it is left."""
        if not row.file_id:
            return ""
        try:
            self.slack.delete_file(file_id=row.file_id)
        except SlackFault as fault:
            log.warning("could not delete the unshared upload %s of %s: %s", row.file_id, row.key, fault.error)
            return f"; the upload {row.file_id} could not be deleted ({fault.error})"
        return ""

    def _record_fault(self, row: OutboxMessage, fault: SlackFault, now: datetime) -> str:
        metrics.POSTS_FAILED.labels(error=metrics.slack_error(fault.error)).inc()
        if fault.retry_after is not None:
            # Cool what was limited, so the rows behind this one wait without calling Slack.
            call = fault.call or CALLS.get(row.method, [row.method])[-1]
            metrics.RATE_LIMITED.labels(method=metrics.slack_method(call)).inc()
            metrics.RATE_LIMITED_WAIT.labels(method=metrics.slack_method(call)).inc(fault.retry_after)
            self.pacer.cool(team_id=row.team_id, channel=row.channel_id, call=call,
                            until=now + timedelta(seconds=fault.retry_after))
        if fault.error in CHANNEL_TROUBLE and self.on_channel_trouble is not None:
            try:
                self.on_channel_trouble(row.team_id, row.channel_id, fault.error)
            except Exception:
                log.exception("recording the channel trouble of %s failed", row.channel_id)
        upload_capped = (row.method == "files.upload" and fault.kind is FaultKind.NEEDS_ACTION
                         and row.attempts >= MAX_UPLOAD_ATTEMPTS)
        if fault.kind is FaultKind.PERMANENT or upload_capped:
            log.error("Slack refused outbox message %s (%s): %s", row.key, row.method, fault.error)
            reason = fault.error
            if upload_capped:
                reason = f"{fault.error} (gave up after {row.attempts} attempts)"
            if row.method == "files.upload":
                reason += self._discard_upload(row)
            values = {"status": OutboxStatus.FAILED, "last_error": reason[:500]}
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
            if fault.maybe_sent and row.method == "chat.postMessage" and fault.call in (None, "chat.postMessage"):
                # Slack may have it, taken at any moment until the client gave up: look before posting again.
                timeout = timedelta(seconds=self.slack.client.timeout or 0)
                values["unsure_until"] = max(filter(None, [row.unsure_until, now + timeout]))
            outcome = "retried"
        with session_scope(self.engine) as session:
            outbox.finish(session=session, row=row, values=values)
        return outcome
