"""Shared pieces of the benchmarks: processes on 127.0.0.1, signed requests, percentiles, memory."""

from __future__ import annotations

import http.client
import itertools
import os
import statistics
import subprocess
import sys
import threading
import time
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
ADMIN = "UADMIN0001"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def start(args: list[str], env: dict) -> tuple[subprocess.Popen, int]:
    """Start a server process and wait (by reading its output) until it says where it listens."""
    process = subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in process.stdout:
        if "listening on http://" in line:
            port = int(line.rsplit(":", 1)[1].split("/")[0])
            threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
            return process, port
    raise RuntimeError("server did not start")


def steward_env(api_url: str, database_url: str, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "STEWARD_", "DATABASE_"))}
    env.update(SLACK_BOT_TOKEN="xoxb-local-token", SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=api_url,
               DATABASE_URL=database_url, STEWARD_PORT="0", STEWARD_ADMINS=ADMIN, **extra)
    return env


_triggers = itertools.count(1)


def command_body(text: str, user: str = ADMIN, channel: str = "C0OPS") -> str:
    """A slash command's form body; each has its own trigger_id, as Slack's do (the same one is a replay)."""
    trigger = f"{os.getpid()}.{next(_triggers)}.{time.time_ns()}"
    return urlencode({"team_id": "T0LOCAL", "channel_id": channel, "user_id": user, "command": "/steward",
                      "text": text, "response_url": "", "trigger_id": trigger})


def signed(body: str) -> dict:
    timestamp = str(int(time.time()))
    return {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": SignatureVerifier(SECRET).generate_signature(timestamp=timestamp, body=body)}


def load(port: int, texts: list[str], *, total: int, clients: int) -> list[float]:
    """Send `total` signed commands from `clients` threads with keep-alive connections; latencies in ms."""
    latencies: list[float] = []
    lock = threading.Lock()
    per_client = total // clients

    def client(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        for n in range(per_client):
            body = command_body(texts[(index + n) % len(texts)])
            started = time.perf_counter()
            connection.request("POST", "/slack/events", body=body, headers=signed(body))
            response = connection.getresponse()
            response.read()
            mine.append((time.perf_counter() - started) * 1000)
            if response.status != 200:
                raise RuntimeError(f"HTTP {response.status}")
        connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def describe(values: list[float]) -> str:
    return (f"p50 {percentile(values, 50):6.2f} ms   p99 {percentile(values, 99):6.2f} ms   "
            f"max {max(values):6.2f} ms   mean {statistics.mean(values):6.2f} ms   n={len(values)}")


def memory_mb(pid: int) -> tuple[float, float]:
    """Resident size now and its peak (VmRSS, VmHWM), in MB."""
    fields = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            fields[name] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def python() -> str:
    return sys.executable
