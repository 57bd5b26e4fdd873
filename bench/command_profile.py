"""Where a command's time goes, in-process: SQL statements and wall time per command, and a cProfile.

Runs Steward's real WSGI app (Bolt, signature check, replay guard, flows, templates) on a fresh SQLite
database, with no HTTP server or threads in the way, and counts every statement SQLAlchemy sends
(`before_cursor_execute`). Used by bench/command_latency.py; on its own:
.venv/bin/python bench/command_profile.py [--repeat 200] [--profile] [--database-url URL]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy import event

from bench.common import SECRET, command_body, signed

SETUP = ["initiative create churn Churn predictor stage=operations since=2026-01-05",
         "role assign churn owner <@UOWNER0001>", "role assign churn pm <@UPM0000001>"]
TEXTS = ["initiative show churn", "initiative list", "review list churn", "help", "audit churn",
         "governance churn", "role assign churn data <@UDATA00001>", "incident ack INC999"]


class InProcess:
    """Steward's WSGI app on a database, called directly; statements counted per request."""

    def __init__(self, api_url: str, database_url: str):
        from bot.config import load_settings
        from bot.runtime import build_runtime
        from bot.server import make_wsgi_app

        settings = load_settings(_env_file=None, slack_bot_token="xoxb-local-token", slack_signing_secret=SECRET,
                                 slack_api_url=api_url, database_url=database_url, steward_admins="UADMIN0001")
        self.runtime = build_runtime(settings)
        self.app = make_wsgi_app(self.runtime.app, self.runtime.services)
        self.statements: Counter[str] = Counter()
        self.counting = 0

        @event.listens_for(self.runtime.engine, "before_cursor_execute")
        def _count(conn, cursor, statement, parameters, context, executemany):
            self.counting += 1
            self.statements[statement.split(None, 1)[0].upper()] += 1

    def command(self, text: str) -> tuple[int, float]:
        """Run one signed /steward request; (statements sent, milliseconds)."""
        body = command_body(text).encode()
        headers = signed(body.decode())
        environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/slack/events", "CONTENT_LENGTH": str(len(body)),
                   "CONTENT_TYPE": headers["Content-Type"], "wsgi.input": io.BytesIO(body),
                   "HTTP_X_SLACK_REQUEST_TIMESTAMP": headers["X-Slack-Request-Timestamp"],
                   "HTTP_X_SLACK_SIGNATURE": headers["X-Slack-Signature"], "QUERY_STRING": "",
                   "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "0", "wsgi.url_scheme": "http",
                   "SERVER_PROTOCOL": "HTTP/1.1"}
        before = self.counting
        started = time.perf_counter()
        status = []
        b"".join(self.app(environ, lambda s, h: status.append(s)))
        elapsed = (time.perf_counter() - started) * 1000
        if not status or not status[0].startswith("200"):
            raise RuntimeError(f"{text}: {status}")
        return self.counting - before, elapsed

    def close(self) -> None:
        self.runtime.engine.dispose()


def per_command(api_url: str, database_url: str, *, repeat: int, profile: bool = False) -> list[tuple]:
    """(command, statements per request, median ms) for each benchmark command; the profile printed if asked."""
    steward = InProcess(api_url, database_url)
    try:
        for text in SETUP:
            steward.command(text)
        for text in TEXTS:  # warm caches (templates, statements) as a running server has them
            steward.command(text)
        rows = []
        profiler = cProfile.Profile() if profile else None
        for text in TEXTS:
            counts, times = [], []
            if profiler:
                profiler.enable()
            for _ in range(repeat):
                count, ms = steward.command(text)
                counts.append(count)
                times.append(ms)
            if profiler:
                profiler.disable()
            times.sort()
            rows.append((text, max(counts), times[len(times) // 2]))
        if profiler:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(30)
            print(out.getvalue())
        return rows
    finally:
        steward.close()


def print_rows(rows: list[tuple]) -> None:
    print("per command, in-process, one at a time:   statements   median ms")
    for text, count, ms in sorted(rows, key=lambda r: -r[2]):
        print(f"  {text:<40} {count:>10}   {ms:9.2f}")


def main() -> None:
    import logging
    logging.basicConfig(level=logging.WARNING)
    from bot.localslack.webapi import LocalSlack

    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--profile", action="store_true", help="print cProfile's top 30 functions by own time")
    parser.add_argument("--database-url")
    options = parser.parse_args()
    slack = LocalSlack().start()
    slack.add_channel("C0OPS", "ai-ops")
    try:
        database_url = options.database_url or f"sqlite:///{tempfile.mkdtemp()}/profile.db"
        print_rows(per_command(slack.api_url, database_url, repeat=options.repeat, profile=options.profile))
    finally:
        slack.stop()


if __name__ == "__main__":
    main()
