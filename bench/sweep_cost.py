"""Sweep cost when nothing is due: 10, 1,000 and 10,000 initiatives with a million past reviews; then the cost
of the work itself: 1,000 initiatives whose reviews fall due at one moment, prompted by one sweep.

Target: under 20 ms at the largest, growing with the work due, not with history.
Usage: .venv/bin/python bench/sweep_cost.py [--database-url URL] [--reviews 1000000] [--due 1000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy import insert

from bot.config import load_settings
from bot.localslack.webapi import LocalSlack
from bot.runtime import build_runtime
from storage.db import make_engine, upgrade
from storage.models import AuditEvent, Initiative, Review

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def fill(engine, initiatives: int, reviews: int) -> None:
    """Initiatives in operations whose next review is a month away, each with its share of past reviews."""
    with engine.begin() as connection:
        connection.execute(insert(Initiative), [
            {"team_id": "T0BENCH", "key": f"i{n}", "name": f"Initiative {n}", "channel_id": "C0OPS",
             "stage": "operations", "stage_entered_at": NOW - timedelta(days=3000), "timezone": "UTC",
             "created_by": "UADMIN0001", "created_at": NOW - timedelta(days=3000), "archived": False,
             "cadence_next_at": NOW + timedelta(days=30), "kpi_silent_after": NOW + timedelta(days=5)}
            for n in range(initiatives)])
        ids = [row[0] for row in connection.exec_driver_sql("SELECT id FROM initiatives ORDER BY id")]
        batch = []
        for n in range(reviews):
            batch.append({"team_id": "T0BENCH", "number": n + 1, "initiative_id": ids[n % len(ids)],
                          "kind": "monthly-performance-review", "due_at": NOW - timedelta(hours=n + 1),
                          "status": "completed", "reminders_sent": 0, "created_at": NOW, "next_reminder_at": None})
            if len(batch) == 50_000:
                connection.execute(insert(Review), batch)
                batch = []
        if batch:
            connection.execute(insert(Review), batch)
        connection.execute(insert(AuditEvent), [{"team_id": "T0BENCH", "seq": 1, "actor": "x", "action": "x",
                                                 "target": "x", "payload": "{}", "created_at": NOW,
                                                 "prev_hash": "0" * 64, "hash": "0" * 64}])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    parser.add_argument("--reviews", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=1_000, help="initiatives due at one moment")
    options = parser.parse_args()
    slack = LocalSlack().start()
    print(f"machine: {os.cpu_count()} cores; {options.reviews:,} past reviews spread over the initiatives")
    for count in (10, 1_000, 10_000):
        url = options.database_url or f"sqlite:///{tempfile.mkdtemp()}/sweep.db"
        engine = make_engine(url)
        upgrade(engine)
        started = time.perf_counter()
        fill(engine, count, options.reviews)
        filled = time.perf_counter() - started
        settings = load_settings(_env_file=None, slack_bot_token=slack.token, slack_api_url=slack.api_url,
                                 database_url=url, slack_signing_secret="s")
        runtime = build_runtime(settings, engine=engine, migrate=False, with_app=False)
        runtime.sweep(NOW)  # warm caches
        timings = []
        for _ in range(30):
            started = time.perf_counter()
            report = runtime.sweep(NOW)
            timings.append((time.perf_counter() - started) * 1000)
        assert report.prompts == 0 and report.sent == 0
        print(f"{count:>6} initiatives: sweep with nothing due: median {statistics.median(timings):6.2f} ms, "
              f"max {max(timings):6.2f} ms  (database filled in {filled:.0f} s)")
        runtime.stop()
        if options.database_url:
            break
    prompt_cost(slack, options)
    slack.stop()


def prompt_cost(slack: LocalSlack, options) -> None:
    """One sweep with `--due` initiatives due at once: every prompt is queued by it (none waits for the next)."""
    url = f"sqlite:///{tempfile.mkdtemp()}/due.db" if not options.database_url else options.database_url
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(insert(Initiative), [
            {"team_id": "T0BENCH", "key": f"due{n}", "name": f"Initiative {n}", "channel_id": "C0OPS",
             "stage": "operations", "stage_entered_at": NOW - timedelta(days=40), "timezone": "UTC",
             "created_by": "UADMIN0001", "created_at": NOW - timedelta(days=40), "archived": False,
             "cadence_next_at": NOW - timedelta(minutes=1), "kpi_silent_after": NOW + timedelta(days=5)}
            for n in range(options.due)])
    settings = load_settings(_env_file=None, slack_bot_token=slack.token, slack_api_url=slack.api_url,
                             database_url=url, slack_signing_secret="s")
    runtime = build_runtime(settings, engine=engine, migrate=False, with_app=False)
    from bot.services.cadence import materialize_due

    cpu = time.process_time()
    started = time.perf_counter()
    result = materialize_due(runtime.services, now=NOW)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"{options.due} initiatives due at one moment: one sweep queued {result.done} prompts in {elapsed:.2f} s "
          f"({elapsed / max(result.done, 1) * 1000:.1f} ms and {cpu / max(result.done, 1) * 1000:.1f} ms of CPU "
          f"a prompt)")
    runtime.stop()


if __name__ == "__main__":
    main()
