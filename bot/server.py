"""The HTTP face of Steward: Slack's requests at /slack/events, the health check at /healthz, metrics at /metrics."""

from __future__ import annotations

import io
import json
import logging
import time
from datetime import UTC, datetime, timedelta

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot import api, metrics
from bot.services import heartbeat
from bot.services.context import Services
from storage import channels, reviews, sweeps
from storage.db import ping, read_scope

log = logging.getLogger(__name__)
OVERDUE = timedelta(minutes=5)
# Slack's largest requests (a view submission of a 100-block modal, an event) stay far below 1 MB; anything
# larger is not Slack's and is refused with 413 before its body is read (waitress enforces it as well).
MAX_REQUEST_BODY = 1_000_000
SIGNATURE_WINDOW = 5 * 60  # seconds; Slack's own rule for X-Slack-Request-Timestamp


def health(services: Services, now: datetime | None = None) -> tuple[int, dict]:
    """Return 200 when the database answers and nothing is stuck, else 503 with the reason.

    Rows the latest sweep could not handle are listed in the detail either way: they are a problem of
    data to fix, not of this process, so alone they do not make it unhealthy.
    """
    now = now or datetime.now(UTC)
    try:
        ping(services.engine)
    except Exception as exc:
        return 503, {"status": "down", "check": "database",
                     "reason": f"database does not answer: {type(exc).__name__}"}
    cannot_write = heartbeat.writable(services, now)
    if cannot_write is not None:
        return 503, {"status": "down", "check": "database_writable",
                     "reason": f"database does not take writes: {cannot_write}"}
    with read_scope(services.engine) as session:
        # Messages held for a channel that needs an invitation (B) are not this process's fault: detail, not 503.
        stuck = channels.oldest_overdue_elsewhere(session=session, now=now, grace=OVERDUE)
        held = channels.held_channels(session=session)
        late_work = reviews.overdue_work(session=session, before=now - OVERDUE)
        swept_at = sweeps.last_ran_at(session=session)
        failing = sweeps.failing_steps(session=session)
    detail = {"sweep_failures": [{"step": step.name, "failed": step.failed, "rows": json.loads(step.failures)}
                                 for step in failing]} if failing else {}
    if held:
        detail["channels_not_in"] = [{"team": h.team_id, "channel": h.channel_id, "state": str(h.state),
                                      "since": h.since.isoformat() if h.since else None,
                                      "initiatives": h.initiatives, "held_messages": h.held} for h in held]
    if stuck is not None:
        minutes = int((now - stuck.due_at).total_seconds() // 60)
        return 503, {"status": "degraded", "check": "outbox",
                     "reason": f"outbox message {stuck.key} is {minutes} minutes overdue"
                               + (f" (last error: {stuck.last_error})" if stuck.last_error else ""), **detail}
    # Overdue work while sweeps run is a failing row (listed in the detail); with no recent sweep, none runs.
    if late_work is not None and (swept_at is None or swept_at < now - OVERDUE):
        return 503, {"status": "degraded", "check": "sweep", "reason": f"the sweep is behind: {late_work}", **detail}
    return 200, {"status": "ok", **detail}


def make_wsgi_app(app: App, services: Services, *, socket_link=None):
    """Return the WSGI application serving Slack, the KPI API and the health check.

    With `socket_link` (Socket Mode) Slack's requests arrive over the websocket: `/slack/events` is not
    served (the app checks no signatures then), and `/healthz` is 503 while the websocket is down.
    """
    slack = SlackRequestHandler(app, path="/slack/events")
    secret = services.settings.slack_signing_secret

    def application(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/healthz" and environ.get("REQUEST_METHOD") == "GET":
            if socket_link is not None:
                connected, reason = socket_link.status()
                if not connected:
                    return _json(start_response, 503, {"status": "down", "reason": reason})
            status, body = health(services)
            return _json(start_response, status, body)
        if path == "/metrics" and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            payload = metrics.exposition(services.engine)
            start_response("200 OK", [("Content-Type", metrics.CONTENT_TYPE), ("Content-Length", str(len(payload)))])
            return [payload]
        if path == "/slack/events" and socket_link is None:
            refused = _admit_slack_request(environ, secret.get_secret_value() if secret else "")
            if refused is not None:
                status, reason = refused
                log.warning("refused a request to /slack/events from %s: %s", environ.get("REMOTE_ADDR", "?"),
                            reason)
                return _json(start_response, status, {"error": reason})
            try:
                return slack(environ, start_response)
            except Exception as exc:  # signed by Slack, yet Bolt could not read it: one line, no traceback
                log.error("could not handle a signed request to /slack/events: %s: %s", type(exc).__name__,
                          str(exc).splitlines()[0][:200] if str(exc) else "")
                return _json(start_response, 400, {"error": "malformed request"})
        if api.handles(path):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(min(length, api.MAX_BODY + 1)) if length > 0 else b""
            headers = {"authorization": environ.get("HTTP_AUTHORIZATION", ""),
                       "content-type": environ.get("CONTENT_TYPE", "")}  # H: the distribution API's samples
            status, payload = api.handle(services, method=environ.get("REQUEST_METHOD", ""), path=path,
                                         headers=headers, body=body)
            return _json(start_response, status, payload)
        return _json(start_response, 404, {"error": "not found"})

    return application


def _content_length(environ) -> int | None:
    text = environ.get("CONTENT_LENGTH") or "0"
    return int(text) if text.isdigit() else None


def _admit_slack_request(environ, signing_secret: str) -> tuple[int, str] | None:
    """Check a request claims to be Slack's before anything parses it: (status, reason) to refuse it, or None.

    The body is read only when its declared length is within Slack's limit; then the timestamp must be a
    number within 5 minutes and the signature must match. The body read is put back for Bolt.
    """
    if environ.get("REQUEST_METHOD") != "POST":
        return 405, "only POST"
    length = _content_length(environ)
    if length is None:
        return 400, "bad Content-Length"
    if length > MAX_REQUEST_BODY:
        return 413, f"body of {length} bytes is over the {MAX_REQUEST_BODY} bytes Slack ever sends"
    timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "")
    signature = environ.get("HTTP_X_SLACK_SIGNATURE", "")
    if not timestamp or not signature:
        return 401, "not signed"
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return 401, "X-Slack-Request-Timestamp is not a number"
    if abs(time.time() - int(timestamp)) > SIGNATURE_WINDOW:
        return 401, "X-Slack-Request-Timestamp is more than 5 minutes off"
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    if not signing_secret or not _signature_matches(signing_secret, timestamp, body, signature):
        return 401, "signature does not match"
    return None


def _signature_matches(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    import hashlib
    import hmac

    expected = "v0=" + hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body,
                                hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


def _json(start_response, status: int, body: dict):
    reason = {200: "OK", 201: "Created", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
              405: "Method Not Allowed", 413: "Content Too Large", 422: "Unprocessable Entity",
              503: "Service Unavailable"}.get(status, "")
    payload = json.dumps(body).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
    if status == 401:
        headers.append(("WWW-Authenticate", 'Bearer realm="steward"'))
    start_response(f"{status} {reason}", headers)
    return [payload]


def make_http_server(wsgi_app, *, host: str, port: int, threads: int = 4, **adjustments):
    """A waitress server (production-grade, threaded); `.run()` serves, `.close()` stops.

    Idle or slow connections cost a socket, not a thread (waitress reads requests in its event loop and
    hands only complete ones to the threads), so the connection limit is high and idle connections are
    closed after 15 s: 200 idle connections cannot keep `/healthz` from answering. Bodies over 1 MB are
    refused with 413 before they are read.
    """
    from waitress.server import create_server

    options = dict(threads=threads, ident="steward", connection_limit=_connection_limit(1000), channel_timeout=15,
                   cleanup_interval=5, asyncore_use_poll=True, max_request_body_size=MAX_REQUEST_BODY + 1,
                   max_request_header_size=64 * 1024, clear_untrusted_proxy_headers=True)
    options.update(adjustments)
    return create_server(wsgi_app, host=host, port=port, **options)


def _connection_limit(wanted: int) -> int:
    """`wanted`, raising the soft open-files limit if it allows fewer (keeping room for the database and Slack)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Windows
        return wanted
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = wanted + 200
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return wanted if soft == resource.RLIM_INFINITY else max(50, min(wanted, soft - 200))
