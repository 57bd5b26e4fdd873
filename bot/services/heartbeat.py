"""Is the database writable? A heartbeat row rewritten at most every few seconds answers it cheaply for /healthz."""

from __future__ import annotations

import os
import socket
import threading
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.services.context import Services
from storage import heartbeats
from storage.db import session_scope

BEAT_EVERY = timedelta(seconds=5)


@dataclass(frozen=True)
class Beat:
    at: datetime
    error: str | None  # None: the write went through


class Heartbeat:
    """One per process: writes its row when the last attempt is older than BEAT_EVERY, else answers from memory."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"[:64]
        self._lock = threading.Lock()
        self._last: Beat | None = None

    def check(self, services: Services, now: datetime) -> str | None:
        """None if the database took a write within the last few seconds, else why it did not."""
        with self._lock:
            if self._last is not None and self._last.at <= now < self._last.at + BEAT_EVERY:
                return self._last.error
            try:
                with session_scope(services.engine) as session:
                    heartbeats.beat(session=session, name=self.name, now=now)
                error = None
            except Exception as exc:  # a full disk, a read-only replica, a lost lock: all mean "cannot write"
                error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}".rstrip(": ")
            self._last = Beat(now, error)
            return error


_beats: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # one heartbeat per engine (database)
_beats_lock = threading.Lock()


def writable(services: Services, now: datetime) -> str | None:
    """None when this process's database takes writes (checked at most every BEAT_EVERY), else the reason."""
    with _beats_lock:
        beat = _beats.get(services.engine)
        if beat is None:
            beat = _beats[services.engine] = Heartbeat()
    return beat.check(services, now)
