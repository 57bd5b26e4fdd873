"""Command latency and memory: Steward's `steward run` next to a bare Bolt app, in the same run.

One client sends 800 signed /steward requests to each server, then 20 concurrent clients send 2,000, over
HTTP on 127.0.0.1 (each request with its own trigger_id, as Slack's: the same one would be a replay).
Targets: Steward's p50 at one client and p99 at 20 clients within 2x of the bare app's; resident memory
under 150 MB. Then each command alone from one client (its p50 next to the bare app's), and, in-process,
the SQL statements and time of each command (bench/command_profile.py).
Usage: .venv/bin/python bench/command_latency.py [--requests 2000] [--clients 20] [--single 800]
       [--alone 300] [--database-url URL] [--profile]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.command_profile import per_command, print_rows
from bench.common import (
    SECRET,
    describe,
    load,
    memory_mb,
    percentile,
    python,
    start,
    steward_env,
)
from bot.localslack.webapi import LocalSlack


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--single", type=int, default=800, help="requests from one client")
    parser.add_argument("--alone", type=int, default=300, help="requests of each command on its own")
    parser.add_argument("--database-url")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions as well")
    options = parser.parse_args()
    slack = LocalSlack().start()
    slack.add_channel("C0OPS", "ai-ops")
    database_url = options.database_url or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    steward, steward_port = start([python(), "-m", "bot", "run", "--host", "127.0.0.1"],
                                  steward_env(slack.api_url, database_url))
    bare, bare_port = start([python(), "bench/bare_bolt.py", "0", SECRET, slack.api_url],
                            steward_env(slack.api_url, database_url))
    try:
        load(steward_port, ["initiative create churn Churn predictor stage=operations since=2026-01-05",
                            "role assign churn owner <@UOWNER0001>", "role assign churn pm <@UPM0000001>"],
             total=3, clients=1)
        idle_rss, _ = memory_mb(steward.pid)
        texts = ["initiative show churn", "initiative list", "review list churn", "help", "audit churn",
                 "governance churn", "role assign churn data <@UDATA00001>", "incident ack INC999"]
        load(bare_port, texts, total=200, clients=options.clients)  # warm-up
        load(steward_port, texts, total=200, clients=options.clients)
        bare_one = load(bare_port, texts, total=options.single, clients=1)
        steward_one = load(steward_port, texts, total=options.single, clients=1)
        bare_ms = load(bare_port, texts, total=options.requests, clients=options.clients)
        steward_ms = load(steward_port, texts, total=options.requests, clients=options.clients)
        rss, peak = memory_mb(steward.pid)
        # Each command on its own, one client, next to the bare app's p50: what each costs over HTTP.
        bare_alone = percentile(load(bare_port, ["help"], total=options.alone, clients=1), 50)
        alone = [(text, percentile(load(steward_port, [text], total=options.alone, clients=1), 50))
                 for text in texts]
    finally:
        for process in (steward, bare):
            process.terminate()
            process.wait(20)
    try:
        rows = per_command(slack.api_url, f"sqlite:///{tempfile.mkdtemp()}/profile.db", repeat=100,
                           profile=options.profile)
    finally:
        slack.stop()
    one = percentile(steward_one, 50) / percentile(bare_one, 50)
    ratio = percentile(steward_ms, 99) / percentile(bare_ms, 99)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; "
          f"database: {database_url.split(':')[0]}")
    print(f"1 client, {options.single} requests per server:")
    print(f"  bare Bolt (ack only)  {describe(bare_one)}")
    print(f"  Steward               {describe(steward_one)}")
    print(f"{options.clients} concurrent clients, {options.requests} requests per server:")
    print(f"  bare Bolt (ack only)  {describe(bare_ms)}")
    print(f"  Steward               {describe(steward_ms)}")
    print(f"Steward p50 / bare p50 at 1 client = {one:.2f}x; p99 / bare p99 at {options.clients} clients = "
          f"{ratio:.2f}x (target < 2x each)")
    print(f"Steward memory: idle {idle_rss:.0f} MB, after the load {rss:.0f} MB, peak {peak:.0f} MB (target < 150 MB)")
    print(f"each command alone, 1 client, {options.alone} requests: p50 (bare Bolt app {bare_alone:.2f} ms)")
    for text, p50 in sorted(alone, key=lambda item: item[1]):
        print(f"  {text:<40} {p50:6.2f} ms  {p50 / bare_alone:5.1f}x")
    print_rows(rows)


if __name__ == "__main__":
    main()
