"""The HTTP face of Steward: Slack's requests at /slack/events and the health check at /healthz."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot import api
from bot.services.context import Services
from storage import outbox, reviews, sweeps
from storage.db import ping, read_scope

log = logging.getLogger(__name__)
OVERDUE = timedelta(minutes=5)


def health(services: Services, now: datetime | None = None) -> tuple[int, dict]:
    """Return 200 when the database answers and nothing is stuck, else 503 with the reason.

    Rows the latest sweep could not handle are listed in the detail either way: they are a problem of
    data to fix, not of this process, so alone they do not make it unhealthy.
    """
    now = now or datetime.now(UTC)
    try:
        ping(services.engine)
    except Exception as exc:
        return 503, {"status": "down", "reason": f"database does not answer: {type(exc).__name__}"}
    with read_scope(services.engine) as session:
        stuck = outbox.oldest_overdue(session=session, now=now, grace=OVERDUE)
        late_work = reviews.overdue_work(session=session, before=now - OVERDUE)
        swept_at = sweeps.last_ran_at(session=session)
        failing = sweeps.failing_steps(session=session)
    detail = {"sweep_failures": [{"step": step.name, "failed": step.failed, "rows": json.loads(step.failures)}
                                 for step in failing]} if failing else {}
    if stuck is not None:
        minutes = int((now - stuck.due_at).total_seconds() // 60)
        return 503, {"status": "degraded",
                     "reason": f"outbox message {stuck.key} is {minutes} minutes overdue"
                               + (f" (last error: {stuck.last_error})" if stuck.last_error else ""), **detail}
    # Overdue work while sweeps run is a failing row (listed in the detail); with no recent sweep, none runs.
    if late_work is not None and (swept_at is None or swept_at < now - OVERDUE):
        return 503, {"status": "degraded", "reason": f"the sweep is behind: {late_work}", **detail}
    return 200, {"status": "ok", **detail}


def make_wsgi_app(app: App, services: Services):
    """Return the WSGI application serving Slack and the health check."""
    slack = SlackRequestHandler(app, path="/slack/events")

    def application(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/healthz" and environ.get("REQUEST_METHOD") == "GET":
            status, body = health(services)
            return _json(start_response, status, body)
        if path == "/slack/events":
            return slack(environ, start_response)
        if api.handles(path):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(min(length, api.MAX_BODY + 1)) if length > 0 else b""
            headers = {"authorization": environ.get("HTTP_AUTHORIZATION", "")}
            status, payload = api.handle(services, method=environ.get("REQUEST_METHOD", ""), path=path,
                                         headers=headers, body=body)
            return _json(start_response, status, payload)
        return _json(start_response, 404, {"error": "not found"})

    return application


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
    """A waitress server (production-grade, threaded); `.run()` serves, `.close()` stops."""
    from waitress.server import create_server

    options = dict(threads=threads, ident="steward", connection_limit=200, channel_timeout=30,
                   clear_untrusted_proxy_headers=True)
    options.update(adjustments)
    return create_server(wsgi_app, host=host, port=port, **options)
