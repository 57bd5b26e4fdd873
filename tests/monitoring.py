"""Real monitors for tests: Debian's Prometheus and Alertmanager, started on free 127.0.0.1 ports.

`prometheus_server(tmp_path, scrape_configs=[...])` and `alertmanager_server(tmp_path, config={...})` are
context managers yielding the server's base URL (`http://127.0.0.1:<port>`). Each writes its configuration
(JSON, which is YAML) under `tmp_path`, starts the binary, waits for the line it logs once it serves (an
event, not a poll: it gives up after `READY_TIMEOUT` seconds and says what the process printed), and stops the
process on exit.

A missing binary raises `MonitorUnavailable`: the run fails, it never skips (`.ci/run` installs Debian's
`prometheus` and `prometheus-alertmanager`).

`openmetrics_blocks(tmp_path, text)` turns OpenMetrics text into TSDB blocks with `promtool tsdb
create-blocks-from openmetrics`; pass the directory as `prometheus_server(..., storage=...)` so the series are
there to query from the first request.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

READY_TIMEOUT = 30.0  # seconds a server may take to answer /-/ready

PROMETHEUS_BINARY = "prometheus"
ALERTMANAGER_BINARY = "prometheus-alertmanager"
PROMTOOL_BINARY = "promtool"


class MonitorUnavailable(RuntimeError):
    """A monitor's binary is missing or the server never became ready."""


def _binary(name: str) -> str:
    found = shutil.which(name) or (f"/usr/bin/{name}" if os.access(f"/usr/bin/{name}", os.X_OK) else None)
    if not found:
        raise MonitorUnavailable(
            f"{name} is not installed: install Debian's prometheus and prometheus-alertmanager (.ci/run does)")
    return found


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _ready(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/-/ready")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


# The line each server logs once it answers requests: waiting on it is waiting on an event, not polling.
READY_LINES = {"prometheus": b"Server is ready to receive web requests", "alertmanager": b"Listening on"}


@contextlib.contextmanager
def _serve(name: str, argv: list[str], port: int, log: Path) -> Iterator[str]:
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    ready = threading.Event()

    def copy_log() -> None:  # the server's output into its log file, noting the ready line as it passes
        with open(log, "wb") as output:
            for line in process.stdout:
                output.write(line)
                output.flush()
                if READY_LINES[name] in line:
                    ready.set()
        ready.set()  # the process ended: whoever waits finds out why below

    reader = threading.Thread(target=copy_log, daemon=True)
    reader.start()
    try:
        if not ready.wait(READY_TIMEOUT):
            raise MonitorUnavailable(f"{name} not ready after {READY_TIMEOUT:.0f}s:\n{_tail(log)}")
        if process.poll() is not None or not _ready(port):
            raise MonitorUnavailable(f"{name} is not serving (exit {process.poll()}):\n{_tail(log)}")
        yield f"http://127.0.0.1:{port}"
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        reader.join(5)


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@contextlib.contextmanager
def prometheus_server(tmp_path: Path, *, scrape_configs: Sequence[dict] = (), extra_args: Sequence[str] = (),
                      global_config: dict | None = None, storage: Path | None = None) -> Iterator[str]:
    """A real Prometheus scraping `scrape_configs` (dicts as in prometheus.yml); yields its base URL.

    `storage` is a TSDB directory to start from (see `openmetrics_blocks`); by default a fresh one.
    """
    binary = _binary(PROMETHEUS_BINARY)
    home = Path(tmp_path) / f"prometheus-{time.monotonic_ns()}"
    home.mkdir(parents=True)
    config = {"global": global_config or {"scrape_interval": "1s", "evaluation_interval": "1s"},
              "scrape_configs": list(scrape_configs)}
    (home / "prometheus.yml").write_text(json.dumps(config, indent=2))
    port = free_port()
    argv = [binary, f"--config.file={home / 'prometheus.yml'}",
            f"--storage.tsdb.path={storage or home / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            # Blocks loaded from OpenMetrics may be old: keep them whatever their age.
            "--storage.tsdb.retention.time=100y",
            *extra_args]
    with _serve("prometheus", argv, port, home / "prometheus.log") as url:
        yield url


@contextlib.contextmanager
def alertmanager_server(tmp_path: Path, *, config: dict, extra_args: Sequence[str] = ()) -> Iterator[str]:
    """A real Alertmanager with `config` (a dict as in alertmanager.yml), no clustering; yields its base URL."""
    binary = _binary(ALERTMANAGER_BINARY)
    home = Path(tmp_path) / f"alertmanager-{time.monotonic_ns()}"
    home.mkdir(parents=True)
    (home / "alertmanager.yml").write_text(json.dumps(config, indent=2))
    port = free_port()
    argv = [binary, f"--config.file={home / 'alertmanager.yml'}", f"--storage.path={home / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=", *extra_args]
    with _serve("alertmanager", argv, port, home / "alertmanager.log") as url:
        yield url


def openmetrics_blocks(tmp_path: Path, text: str) -> Path:
    """TSDB blocks made from OpenMetrics `text` (must end with `# EOF`) by promtool; returns the directory."""
    binary = _binary(PROMTOOL_BINARY)
    home = Path(tmp_path) / f"blocks-{time.monotonic_ns()}"
    home.mkdir(parents=True)
    source = home / "series.om"
    source.write_text(text if text.endswith("\n") else text + "\n")
    data = home / "data"
    result = subprocess.run([binary, "tsdb", "create-blocks-from", "openmetrics", str(source), str(data)],
                            capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise MonitorUnavailable(f"promtool failed ({result.returncode}): {result.stderr or result.stdout}")
    return data


def post_json(url: str, body, *, headers: dict | None = None, timeout: float = 10) -> tuple[int, bytes]:
    """POST JSON to a server on 127.0.0.1: (status, body bytes)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        connection.request("POST", parts.path + (f"?{parts.query}" if parts.query else ""), body=payload,
                           headers={"Content-Type": "application/json", **(headers or {})})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def get_json(url: str, *, timeout: float = 10) -> tuple[int, dict]:
    """GET a JSON document from a server on 127.0.0.1: (status, parsed body)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""))
        response = connection.getresponse()
        raw = response.read()
        return response.status, json.loads(raw or b"{}")
    finally:
        connection.close()
