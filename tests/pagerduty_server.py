"""A local PagerDuty Events API v2 (`POST /v2/enqueue`) and a webhook receiver, on 127.0.0.1, for tests.

The Events API validates each event as PagerDuty documents it (developer.pagerduty.com, "Send an Alert
Event" and "Events API v2 Overview"): `routing_key` (the 32-character integration key), `event_action`
(trigger, acknowledge or resolve), `dedup_key` (at most 255 characters; needed to acknowledge or resolve),
and for a trigger `payload.summary` (at most 1024 characters), `payload.source` and `payload.severity`
(critical, error, warning or info); a body over 512 KB is refused. It answers 202 with the dedup key,
400 "invalid event" with the errors, and 429 when a test asks for throttling; a test may also have it drop
the connection without answering. Alerts follow PagerDuty's de-duplication: a trigger opens an alert per
dedup key (another trigger on an open alert only adds to its log), acknowledge and resolve apply to the
open alert and are dropped when there is none.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")
MAX_BODY = 512 * 1024


def validate(event: object) -> list[str]:
    """The errors PagerDuty would report for this event (empty: valid)."""
    if not isinstance(event, dict):
        return ["Event object is invalid"]
    errors = []
    key = event.get("routing_key")
    if not isinstance(key, str) or len(key) != 32:
        errors.append("Length of 'routing_key' is incorrect (should be 32 characters)")
    action = event.get("event_action")
    if action not in ACTIONS:
        errors.append("'event_action' is invalid (must be one of: trigger, acknowledge, resolve)")
    dedup = event.get("dedup_key")
    if dedup is not None and (not isinstance(dedup, str) or not dedup or len(dedup) > 255):
        errors.append("'dedup_key' must be a string of at most 255 characters")
    if action in ("acknowledge", "resolve") and not dedup:
        errors.append("'dedup_key' is required for acknowledge and resolve events")
    if action == "trigger":
        payload = event.get("payload")
        if not isinstance(payload, dict):
            errors.append("'payload' is missing or invalid")
        else:
            summary = payload.get("summary")
            if not isinstance(summary, str) or not summary.strip():
                errors.append("'payload.summary' is missing or blank")
            elif len(summary) > 1024:
                errors.append("'payload.summary' is longer than 1024 characters")
            if not isinstance(payload.get("source"), str) or not payload["source"].strip():
                errors.append("'payload.source' is missing or blank")
            if payload.get("severity") not in SEVERITIES:
                errors.append("'payload.severity' is invalid (must be one of: critical, error, warning, info)")
    return errors


@dataclass
class Alert:
    dedup_key: str
    routing_key: str
    status: str = "triggered"
    log: list[str] = field(default_factory=list)


class _Recorder:
    """What a local server received, with a condition to wait on instead of sleeping."""

    def __init__(self):
        self.lock = threading.Condition()
        self.requests: list[dict] = []  # every request that reached the handler (body, headers, outcome)
        self.script: deque[str] = deque()  # forced outcomes for the next requests: "429", "500", "drop"

    def answer_next(self, *outcomes: str) -> None:
        with self.lock:
            self.script.extend(outcomes)

    def _forced(self) -> str | None:
        with self.lock:
            return self.script.popleft() if self.script else None

    def _note(self, entry: dict) -> None:
        with self.lock:
            self.requests.append(entry)
            self.lock.notify_all()

    def wait_for(self, predicate, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        with self.lock:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.lock.wait(left)
            return True


class _Server:
    def __init__(self, handler_class):
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
        self._server.daemon_threads = True
        self._server.owner = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self):
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def _drop(handler: BaseHTTPRequestHandler) -> None:
    """Close the connection without a word: the client sees it dropped."""
    handler.close_connection = True
    with contextlib.suppress(OSError):
        handler.connection.shutdown(socket.SHUT_RDWR)


def _reply(handler: BaseHTTPRequestHandler, status: int, body: dict, headers: dict | None = None) -> None:
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(data)


class PagerDuty(_Server, _Recorder):
    """The Events API v2 at `events_url`; `accepted` holds each event it took (202), in order."""

    def __init__(self):
        _Recorder.__init__(self)
        _Server.__init__(self, _EventsHandler)
        self.accepted: list[dict] = []
        self.alerts: dict[str, Alert] = {}
        self.alerts_opened = 0

    @property
    def events_url(self) -> str:
        return f"{self.base_url}/v2/enqueue"

    def actions(self) -> list[tuple[str, str]]:
        with self.lock:
            return [(e["event_action"], e.get("dedup_key", "")) for e in self.accepted]

    def _take(self, event: dict) -> str:
        """Apply an accepted event to the alerts as PagerDuty does; returns its dedup key."""
        action, dedup = event["event_action"], event.get("dedup_key") or f"generated-{len(self.accepted)}"
        alert = self.alerts.get(dedup)
        open_alert = alert is not None and alert.status != "resolved" and alert.routing_key == event["routing_key"]
        if action == "trigger":
            if not open_alert:
                self.alerts[dedup] = alert = Alert(dedup, event["routing_key"])
                self.alerts_opened += 1
            alert.log.append("trigger")
        elif open_alert:  # acknowledge and resolve without an open alert are dropped
            alert.status = "acknowledged" if action == "acknowledge" else "resolved"
            alert.log.append(action)
        self.accepted.append(event)
        return dedup


class _EventsHandler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        server: PagerDuty = self.server.owner  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        forced = server._forced()
        entry = {"path": self.path, "body": raw, "outcome": forced}
        if forced == "drop":
            server._note({**entry, "status": None})
            _drop(self)
            return
        if self.path != "/v2/enqueue":
            server._note({**entry, "status": 404})
            _reply(self, 404, {"status": "not found"})
            return
        if forced == "429":
            server._note({**entry, "status": 429})
            _reply(self, 429, {"status": "throttle exceeded",
                               "message": "Requests for this service are arriving too quickly. Please retry later."})
            return
        if forced is not None and forced.startswith("5"):
            server._note({**entry, "status": int(forced)})
            _reply(self, int(forced), {"status": "error", "message": "Internal Server Error"})
            return
        if forced == "400":  # a test's way to meet a refusal Steward's well-formed events never earn
            errors = ["Event object is invalid (forced by the test)"]
        elif len(raw) > MAX_BODY:
            errors = ["Event is larger than 512 KB"]
        else:
            try:
                event = json.loads(raw)
                errors = validate(event)
            except ValueError:
                errors = ["Event object is invalid: the body is not JSON"]
        if errors:
            server._note({**entry, "status": 400, "errors": errors})
            _reply(self, 400, {"status": "invalid event", "message": "Event object is invalid", "errors": errors})
            return
        with server.lock:
            dedup = server._take(event)
        server._note({**entry, "status": 202})
        _reply(self, 202, {"status": "success", "message": "Event processed", "dedup_key": dedup})


class WebhookReceiver(_Server, _Recorder):
    """A generic webhook target: records each POST (headers and body) and answers 200 unless told otherwise."""

    def __init__(self):
        _Recorder.__init__(self)
        _Server.__init__(self, _WebhookHandler)

    @property
    def url(self) -> str:
        return f"{self.base_url}/hooks/steward"

    def delivered(self) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if r["status"] == 200]


class _WebhookHandler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        server: WebhookReceiver = self.server.owner  # type: ignore[attr-defined]
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        forced = server._forced()
        entry = {"path": self.path, "body": raw, "headers": dict(self.headers.items()), "outcome": forced}
        if forced == "drop":
            server._note({**entry, "status": None})
            _drop(self)
            return
        status = int(forced) if forced else 200
        server._note({**entry, "status": status})
        _reply(self, status, {"ok": status == 200}, {"Retry-After": "2"} if status == 429 else None)
