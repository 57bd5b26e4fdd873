"""Pacing by Slack's rate limits, decided before a call is made: no thread ever sleeps on a limit.

Slack allows `chat.postMessage` about one message a second per channel (short bursts tolerated) and
limits every other method by its tier, per workspace. The outbox asks the pacer, for each due row,
when it may call Slack: now, or a moment later; a row that must wait gets its `next_attempt_at`
moved on and no call is made. A 429 that gets through anyway (another replica, another app sharing
the token) cools the channel or method for its Retry-After.

The buckets are GCRA ("virtual scheduling"): each keeps the theoretical time its next call is
free; reserving a slot for a row moves that time on, so the rows waiting for one channel are
spread one interval apart and each is deferred once. The pacer is per process: replicas draining
one database each pace themselves, and a 429 from their sum is honoured like any other.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# Requests per minute per workspace for each tier (api.slack.com/apis/rate-limits).
TIER_PER_MINUTE = {1: 1, 2: 20, 3: 50, 4: 100}
METHOD_TIERS = {
    "chat.update": 3, "chat.postEphemeral": 4, "conversations.history": 3, "conversations.replies": 3,
    "conversations.join": 3, "files.getUploadURLExternal": 4, "files.completeUploadExternal": 4, "files.delete": 3,
    "views.publish": 4,
}
# Methods limited per channel (about one a second); every other method by its tier, workspace-wide.
CHANNEL_METHODS = {"chat.postMessage"}
# What each outbox method calls in Slack.
CALLS = {
    "chat.postMessage": ["chat.postMessage"],
    "chat.update": ["chat.update"],
    "chat.postEphemeral": ["chat.postEphemeral"],
    "files.upload": ["files.getUploadURLExternal", "files.completeUploadExternal"],
}
FORGET_AFTER = timedelta(minutes=10)  # a clock that jumps back this far starts the buckets afresh
MAX_SLOTS = 50_000


@dataclass
class _Bucket:
    interval: float  # seconds between calls at the sustained rate
    burst: int
    tat: datetime | None = None  # theoretical arrival time of the next call

    def earliest(self, now: datetime) -> datetime:
        if self.tat is None or self.tat - now > FORGET_AFTER + self.tolerance:
            return now
        return max(now, self.tat - self.tolerance)

    def take(self, at: datetime) -> None:
        start = at if self.tat is None or self.tat - at > FORGET_AFTER + self.tolerance else max(self.tat, at)
        self.tat = start + timedelta(seconds=self.interval)

    def cool(self, until: datetime) -> None:
        self.tat = max(self.tat or until, until + self.tolerance)

    @property
    def tolerance(self) -> timedelta:
        return timedelta(seconds=self.interval * (self.burst - 1))


@dataclass
class Pacer:
    """When each outbox row may call Slack. `channel_interval` seconds between posts in one channel
    beyond `channel_burst`; each method at its tier (`per_minute` overrides) beyond `method_burst`."""

    channel_interval: float = 1.0
    channel_burst: int = 3
    per_minute: dict[str, float] = field(default_factory=dict)
    method_burst: int = 10
    margin: float = 0.05  # seconds a deferred row is reserved after its slot
    enabled: bool = True
    _buckets: dict[tuple, _Bucket] = field(default_factory=dict, init=False)
    _slots: dict[int, datetime] = field(default_factory=dict, init=False)  # row id -> its reserved moment
    # The same buckets fed with the moments calls really left (a thread may call a little after its slot):
    # Slack counts those, so a row waits for them too, and a burst that left late delays the rows after it.
    _calls: dict[tuple, _Bucket] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def slot(self, *, row_id: int, team_id: str, channel: str, calls: list[str], now: datetime) -> datetime | None:
        """None when the row may call Slack now (its calls are counted); else the moment reserved for it."""
        if not self.enabled:
            return None
        with self._lock:
            reserved = self._slots.get(row_id)
            if reserved is not None and reserved <= now + timedelta(milliseconds=1):
                del self._slots[row_id]
                # Its calls were counted when it was reserved. Redeemed late (the drain was held up), it goes when
                # the calls that really left before it allow, as Slack counts them: rows saved up this way reach
                # Slack no faster than its burst, and are not pushed back a second time.
                called = self._called_earliest(team_id, channel, calls, now)
                if called > now + timedelta(milliseconds=1):
                    self._slots[row_id] = called + timedelta(seconds=self.margin)
                    return self._slots[row_id]
                return None
            buckets = [b for call in calls for b in self._buckets_for(team_id, channel, call)]
            # A row that comes back early (another sender, a retry) keeps its reservation.
            if reserved is not None:
                return reserved
            at = max([now, self._called_earliest(team_id, channel, calls, now), *(b.earliest(now) for b in buckets)])
            for bucket in buckets:
                bucket.take(at)
            if at <= now:
                return None
            # Reserved a little after its slot (not carried into the next one): the call leaves a few
            # milliseconds after the drain reads the clock, and must not reach Slack before the slot.
            at += timedelta(seconds=self.margin)
            self._slots[row_id] = at
            if len(self._slots) > MAX_SLOTS:  # rows another replica sent keep no reservation here for ever
                self._slots = {k: v for k, v in self._slots.items() if v > now - FORGET_AFTER}
            return at

    def called(self, *, team_id: str, channel: str, calls: list[str], at: datetime) -> None:
        """A row's calls left at `at` (the sender's clock, right after the call): count them as Slack does."""
        if not self.enabled:
            return
        with self._lock:
            for call in calls:
                for key, interval, burst in self._bucket_specs(team_id, channel, call):
                    if key not in self._calls:
                        self._calls[key] = _Bucket(interval, burst)
                    self._calls[key].take(at)

    def held_until(self, *, team_id: str, channel: str, calls: list[str], now: datetime) -> datetime | None:
        """When the calls that left (and the 429s met) let a row already given its slot go, if later than now."""
        if not self.enabled:
            return None
        with self._lock:
            earliest = self._called_earliest(team_id, channel, calls, now)
        return earliest if earliest > now + timedelta(milliseconds=1) else None

    def _called_earliest(self, team_id: str, channel: str, calls: list[str], now: datetime) -> datetime:
        found = [self._calls.get(key) for call in calls for key, _, _ in self._bucket_specs(team_id, channel, call)]
        return max([now, *(bucket.earliest(now) for bucket in found if bucket is not None)])

    def release(self, row_id: int) -> None:
        with self._lock:
            self._slots.pop(row_id, None)

    def cool(self, *, team_id: str, channel: str, call: str, until: datetime) -> None:
        """Slack answered 429 for this call: nothing more of it (in this channel, for a post) until `until`."""
        with self._lock:
            found = self._buckets_for(team_id, channel, call)
            # A post's 429 is the channel's; any other method's is the method's, workspace-wide.
            for bucket in found[:1] if call == "chat.postMessage" else found[-1:]:
                bucket.cool(until)
            specs = self._bucket_specs(team_id, channel, call)
            for key, interval, burst in specs[:1] if call == "chat.postMessage" else specs[-1:]:
                self._calls.setdefault(key, _Bucket(interval, burst)).cool(until)

    def _buckets_for(self, team_id: str, channel: str, call: str) -> list[_Bucket]:
        found = []
        for key, interval, burst in self._bucket_specs(team_id, channel, call):
            if key not in self._buckets:
                self._buckets[key] = _Bucket(interval, burst)
            found.append(self._buckets[key])
        return found

    def _bucket_specs(self, team_id: str, channel: str, call: str) -> list[tuple[tuple, float, int]]:
        """(key, interval, burst) of each bucket a call counts in: its channel's (posts), its method's tier."""
        specs = []
        if call in CHANNEL_METHODS:
            specs.append(((team_id, "channel", channel), self.channel_interval, self.channel_burst))
        per_minute = self.per_minute.get(call) or TIER_PER_MINUTE.get(METHOD_TIERS.get(call, 0))
        if per_minute:
            # A slow tier (Tier 1, history for a non-Marketplace app) takes no burst to speak of.
            specs.append(((team_id, "method", call), 60 / per_minute, min(self.method_burst, max(1, int(per_minute)))))
        return specs
