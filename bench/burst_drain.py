"""Burst drain: N prompts due at once across C channels, drained against the strict local Slack.

Prints the drain time next to the minimum Slack's limits allow (per channel: a burst, then one post
per interval), the number of 429s Slack answered, the sender's own CPU time and its peak memory. The
clock is real: the loop drains, then waits for the next due moment, as the due-work thread does. The
local Slack runs in a process of its own, as Slack is elsewhere for a deployed Steward: the CPU time
and memory printed are the sender's alone.

Usage: .venv/bin/python bench/burst_drain.py [--prompts 200] [--channels 20] [--burst 3] [--interval 1.0]
       [--database-url URL]
Issue 18 asks 10,000 prompts across 1,000 channels within 1.2x of the minimum and under 150 MB.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy import insert
from sqlmodel import func, select

from bot.localslack.webapi import LocalSlack, RateLimits
from bot.outbox import OutboxSender
from bot.pacing import Pacer
from bot.slack_port import SlackPort, make_web_client
from states import OutboxStatus
from storage import outbox
from storage.db import make_engine, read_scope, upgrade
from storage.models import OutboxMessage


def fill(engine, *, prompts: int, channels: int, at: datetime) -> None:
    rows = [{"team_id": "T0LOCAL", "key": f"bench:{n}", "method": "chat.postMessage",
             "channel_id": f"C{n % channels:08d}", "text": f"Review {n} is due", "blocks": "[]",
             "purpose": "review.prompt", "status": OutboxStatus.PENDING, "attempts": 0, "due_at": at,
             "next_attempt_at": at, "version": 0, "created_at": at} for n in range(prompts)]
    with engine.begin() as connection:
        for start in range(0, len(rows), 1000):
            connection.execute(insert(OutboxMessage), rows[start:start + 1000])


def minimum_seconds(*, prompts: int, channels: int, burst: int, interval: float) -> float:
    per_channel = -(-prompts // channels)  # the busiest channel
    return max(0, per_channel - burst) * interval


def serve_slack(*, channels: int, burst: int, interval: float) -> None:
    """The local Slack for the benchmark, in this (child) process: prints its URL, then on end of input the
    number of 429s it answered and of messages it holds."""
    slack = LocalSlack(limits=RateLimits(post_burst=burst, post_interval=interval)).start()
    for n in range(channels):
        slack.add_channel(f"C{n:08d}", f"channel-{n}")
    print(slack.api_url, flush=True)
    sys.stdin.read()
    posted = sum(len(messages) for messages in slack.state.messages.values())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(f"{len(slack.limits.limited)} {posted} {usage.ru_utime + usage.ru_stime:.2f}", flush=True)
    slack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=200)
    parser.add_argument("--channels", type=int, default=20)
    parser.add_argument("--burst", type=int, default=3, help="posts a channel takes at once (Slack and outbox)")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between posts in one channel")
    parser.add_argument("--database-url")
    parser.add_argument("--serve-slack", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_slack:
        serve_slack(channels=args.channels, burst=args.burst, interval=args.interval)
        return

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        engine = make_engine(url)
        upgrade(engine)
        slack = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve-slack",
                                  f"--channels={args.channels}", f"--burst={args.burst}",
                                  f"--interval={args.interval}"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        api_url = slack.stdout.readline().strip()
        start_at = datetime.now(UTC)
        fill(engine, prompts=args.prompts, channels=args.channels, at=start_at)
        sender = OutboxSender(engine=engine, slack=SlackPort(make_web_client(
            token="xoxb-local-token", base_url=api_url, interactive=False)),
            pacer=Pacer(channel_interval=args.interval, channel_burst=args.burst))

        cpu_before = resource.getrusage(resource.RUSAGE_SELF)
        started = time.monotonic()
        while True:
            sender.drain()
            with read_scope(engine) as session:
                following = outbox.next_due_at(session=session)
            if following is None:
                break
            wait = (following - datetime.now(UTC)).total_seconds()
            if wait > 0:
                time.sleep(wait)  # the benchmark is the due-work thread here: it waits for the next due row
        elapsed = time.monotonic() - started
        cpu_after = resource.getrusage(resource.RUSAGE_SELF)
        cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)

        with read_scope(engine) as session:
            sent = session.exec(select(func.count()).select_from(OutboxMessage)
                                .where(OutboxMessage.status == OutboxStatus.SENT)).one()
        slack.stdin.close()
        limited, posted, slack_cpu = slack.stdout.readline().split()
        limited, posted = int(limited), int(posted)
        slack.wait(30)
        limit = minimum_seconds(prompts=args.prompts, channels=args.channels, burst=args.burst,
                                interval=args.interval)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{args.prompts} prompts across {args.channels} channels, burst {args.burst}, "
              f"one post per {args.interval:g} s per channel; load average {os.getloadavg()[0]:.2f} "
              f"on {os.cpu_count()} cores")
        print(f"  drained in      {elapsed:8.2f} s   ({sent} sent, {posted} in Slack)")
        print(f"  limit-bound min {limit:8.2f} s   (ratio {elapsed / limit:.2f}x, target < 1.2x)" if limit else
              f"  limit-bound min {limit:8.2f} s")
        print(f"  429 answers     {limited:8d}")
        print(f"  sender CPU time {cpu:8.2f} s   ({cpu / max(sent, 1) * 1000:.2f} ms a message)")
        print(f"  local Slack CPU {float(slack_cpu):8.2f} s   (its own process, serving the posts)")
        print(f"  peak memory     {peak_mb:8.1f} MB (the sender's process; target < 150 MB)")
        engine.dispose()
        if sent != args.prompts or posted != args.prompts:
            sys.exit(1)


if __name__ == "__main__":
    main()
