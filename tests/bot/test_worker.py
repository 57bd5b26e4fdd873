"""The due-work thread: woken by flows, and sleeping only until the next due row."""

import threading
from datetime import UTC, datetime, timedelta

from bot.worker import DueWorker, seconds_to_wait

NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def test_waits_exactly_until_the_next_due_row_within_the_idle_cap():
    assert seconds_to_wait(NOW + timedelta(seconds=3), NOW, 15) == 3
    assert seconds_to_wait(NOW + timedelta(minutes=10), NOW, 15) == 15
    assert seconds_to_wait(NOW - timedelta(seconds=30), NOW, 15) == 0.05  # overdue: at once
    assert seconds_to_wait(None, NOW, 15) == 15


def test_a_wake_runs_the_work_again_without_waiting_for_the_idle_time():
    runs = []
    second_run = threading.Event()

    def work(now):
        runs.append(now)
        if len(runs) == 2:
            second_run.set()

    worker = DueWorker(work, lambda: None, idle_seconds=3600)
    worker.start()
    try:
        worker.wake()
        assert second_run.wait(10), "the woken worker did not run"
    finally:
        worker.stop()
    assert len(runs) >= 2


def test_a_failing_run_does_not_kill_the_thread():
    calls = []
    recovered = threading.Event()

    def work(now):
        calls.append(now)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        recovered.set()

    worker = DueWorker(work, lambda: None, idle_seconds=3600)
    worker.start()
    try:
        worker.wake()
        assert recovered.wait(10)
    finally:
        worker.stop()
