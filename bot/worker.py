"""A background thread that does the time-critical work (pages, the outbox) the moment it falls due.

The minute-by-minute sweep would leave a page up to a minute late; this thread sleeps exactly until
the next due row (or until a flow wakes it) instead. It only shortens the wait: the database still
decides what is due, so the sweep and other replicas stay correct without it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from bot import clock

log = logging.getLogger(__name__)


def seconds_to_wait(next_due: datetime | None, now: datetime, idle_seconds: float) -> float:
    """Sleep until the next due row, but never longer than `idle_seconds` (rows written by other replicas)."""
    if next_due is None:
        return idle_seconds
    return max(0.05, min(idle_seconds, (next_due - now).total_seconds()))


class DueWorker:
    def __init__(self, work: Callable[[datetime], object], next_due: Callable[[], datetime | None], *,
                 idle_seconds: float = 15.0, name: str = "steward-due"):
        self.work = work
        self.next_due = next_due
        self.idle_seconds = idle_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            next_due = None
            try:
                self.work(clock.now())
                next_due = self.next_due()
            except Exception:
                log.exception("due work failed; retrying shortly")
            self._wake.wait(seconds_to_wait(next_due, clock.now(), self.idle_seconds))
