"""The replay guard: a signed Slack request is acted on once, however often it is delivered, on any replica.

Slack accepts a signature for 5 minutes, so the same body can be sent again inside that window (a replay, or a
retry of an event). Each request kind carries a unique id: a slash command its `trigger_id`, a button its
`action_ts` (with the user who clicked), a form submission its view `id`, `hash` and submitted values, an
event its `event_id`.
The first delivery claims the id in `request_replays` (a primary key, so two replicas cannot both claim it) and
acts; any later delivery inside the kept window is answered without acting again.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.services.context import Services
from storage import replays
from storage.db import session_scope

# Slack refuses a signature more than 5 minutes off in either direction: keep request ids twice as long, so
# clocks a little apart on two replicas cannot open a gap. Slack retries an event for longer (up to three
# times, the last about 5 minutes after the first, each with a fresh signature), so event ids are kept an hour.
KEEP_REQUEST = timedelta(minutes=10)
KEEP_EVENT = timedelta(hours=1)
PURGE_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Earlier:
    """The earlier delivery of a request: when it came, whether it finished, and a command's answer (JSON)."""

    seen_at: datetime
    done: bool
    answer: str | None


class _Purge:
    """Forget expired ids now and then (once a minute per process is plenty), not on every request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: datetime | None = None

    def due(self, now: datetime) -> bool:
        with self._lock:
            if self._last is not None and self._last <= now < self._last + PURGE_EVERY:
                return False
            self._last = now
            return True


_purge = _Purge()


def claim(services: Services, *, team_id: str, key: str, now: datetime) -> Earlier | None:
    """Claim a request id; None means it is new (act on it), otherwise the earlier delivery (do not act)."""
    keep = KEEP_EVENT if key.startswith("event:") else KEEP_REQUEST
    with session_scope(services.engine) as session:
        if _purge.due(now):
            replays.purge_expired(session=session, now=now)
        earlier = replays.claim(session=session, team_id=team_id, key=key, now=now, keep=keep)
        if earlier is None:
            return None
        return Earlier(seen_at=earlier.seen_at, done=earlier.done_at is not None, answer=earlier.answer)


def finish(services: Services, *, team_id: str, key: str, now: datetime, answer: str | None) -> None:
    """Record that a claimed request was handled (and a command's answer, for a replay to get the same)."""
    with session_scope(services.engine) as session:
        replays.finish(session=session, team_id=team_id, key=key, now=now, answer=answer)
