"""The KPI ingestion API: monitoring pipelines push measurements with a per-initiative bearer token."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime, timedelta

from bot.domain.kpis import KPIS, Reading
from bot.errors import NotFound, PermissionDenied
from bot.services import kpis, tokens
from bot.services.context import Services

PATH = re.compile(r"^/api/v1/initiatives/(?P<key>[a-z][a-z0-9-]{1,39})/kpis/?$")
ALERTS_PATH = "/api/v1/alerts/alertmanager"  # Alertmanager's and Grafana's webhooks (README, "Monitors")
HEARTBEAT_PATH = re.compile(r"^/api/v1/heartbeats/(?P<token>[^/]{1,100})/?$")
DISTRIBUTION_PATH = re.compile(r"^/api/v1/initiatives/(?P<key>[a-z][a-z0-9-]{1,39})/distribution/?$")  # issue 17
MAX_BODY = 1_000_000
MAX_ITEMS = 1000
FUTURE_SLACK = timedelta(minutes=5)  # clocks of a pipeline and of Steward may differ a little, not more
OLDEST = timedelta(days=400)  # a measurement older than this is a backfill mistake, not a reading
MAX_DIGITS = 400  # an integer longer than this is beyond any float (and beyond Python's int parsing limit)


class _TooLarge:
    """An integer in the body too large for a float: kept as a marker so the error can name its field."""


class ApiError(Exception):
    def __init__(self, status: int, message: str, field: str | None = None):
        super().__init__(message)
        self.status, self.message, self.field = status, message, field

    def body(self) -> dict:
        return {"error": self.message, **({"field": self.field} if self.field else {})}


def handles(path: str) -> bool:
    return path.startswith("/api/")


def handle(services: Services, *, method: str, path: str, headers: dict[str, str], body: bytes,
           now: datetime | None = None) -> tuple[int, dict]:
    """Answer one API request: (status, JSON body)."""
    now = now or datetime.now(UTC)
    if path.rstrip("/") == ALERTS_PATH:
        return _alerts(services, method=method, headers=headers, body=body, now=now)
    distribution = DISTRIBUTION_PATH.match(path)
    if distribution is not None:
        return _distribution(services, method=method, key=distribution["key"], headers=headers, body=body, now=now)
    heartbeat = HEARTBEAT_PATH.match(path)
    if heartbeat is not None:
        return _heartbeat(services, method=method, token=heartbeat["token"], now=now)
    try:
        match = PATH.match(path)
        if match is None:
            raise ApiError(404, "no such endpoint; KPIs go to POST /api/v1/initiatives/<key>/kpis, alerts to "
                                f"POST {ALERTS_PATH}, heartbeats to POST /api/v1/heartbeats/<token>")
        if method != "POST":
            raise ApiError(405, "use POST")
        token = _bearer(headers)
        _authorize(services, token, match["key"])  # before the body is even looked at
        if len(body) > MAX_BODY:
            raise ApiError(413, f"the body is over {MAX_BODY} bytes")
        readings = parse_body(body, now)
        return 201, _record(services, token, match["key"], readings, now)
    except ApiError as error:
        return error.status, error.body()


def _bearer(headers: dict[str, str]) -> str:
    value = headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "missing bearer token: send Authorization: Bearer <token from `steward token create`>")
    return token.strip()


def _authorize(services: Services, token: str, key: str) -> None:
    try:
        tokens.authorize(services, token=token, key=key)
    except NotFound:
        raise ApiError(401, "unknown or revoked token") from None
    except PermissionDenied:
        raise ApiError(403, f"this token is not for initiative {key!r}") from None


def _parse_int(text: str) -> int | _TooLarge:
    return _TooLarge() if len(text.lstrip("-")) > MAX_DIGITS else int(text)


def parse_body(body: bytes, now: datetime) -> list[Reading]:
    """Validate every item before anything is recorded; the error names the first bad field."""
    try:
        data = json.loads(body or b"", parse_int=_parse_int)
    except RecursionError:
        raise ApiError(422, "the body is nested too deeply; send a measurement or a list of them", "body") from None
    except (ValueError, UnicodeDecodeError):  # JSONDecodeError is a ValueError
        raise ApiError(422, "the body is not JSON", "body") from None
    items = data if isinstance(data, list) else [data]
    prefix = (lambda i: f"[{i}].") if isinstance(data, list) else (lambda i: "")
    if not items:
        raise ApiError(422, "the list is empty", "body")
    if len(items) > MAX_ITEMS:
        raise ApiError(422, f"at most {MAX_ITEMS} measurements per request", "body")
    readings = []
    for index, item in enumerate(items):
        where = prefix(index)
        if not isinstance(item, dict):
            raise ApiError(422, 'each measurement is an object {"kpi": ..., "value": ...}', where.rstrip(".") or "body")
        unknown = set(item) - {"kpi", "value", "at"}
        if unknown:
            raise ApiError(422, f"unknown field {sorted(unknown)[0]!r}", where + sorted(unknown)[0])
        name = item.get("kpi")
        kpi = KPIS.get(name) if isinstance(name, str) else None
        if kpi is None:
            raise ApiError(422, "kpi must be one of " + ", ".join(KPIS), where + "kpi")
        value = _number(item.get("value"), kpi, where + "value")
        at = _moment(item["at"], now, where + "at") if "at" in item else now
        readings.append(Reading(kpi.name, value, at))
    return readings


def _number(value: object, kpi, field: str) -> float:
    """The measured value as a float within the KPI's documented range."""
    if isinstance(value, _TooLarge):
        raise ApiError(422, f"value is too large to be a {kpi.label}", field)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ApiError(422, "value must be a number", field)
    try:
        number = float(value)
    except OverflowError:
        raise ApiError(422, f"value is too large to be a {kpi.label}", field) from None
    if not math.isfinite(number):
        raise ApiError(422, "value must be a finite number", field)
    problem = kpi.check(number)
    if problem:
        raise ApiError(422, f"{kpi.label} {problem}", field)
    return number


def _moment(value: object, now: datetime, field: str) -> datetime:
    """`at` as UTC, neither beyond a small clock skew in the future nor older than the documented limit."""
    if not isinstance(value, str):
        raise ApiError(422, "at must be an ISO 8601 time such as 2026-03-02T10:00:00Z", field)
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
        at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    except ValueError:
        raise ApiError(422, "at must be an ISO 8601 time such as 2026-03-02T10:00:00Z", field) from None
    except OverflowError:  # 0001-01-01T00:00:00+14:00 is before the first representable UTC moment
        raise ApiError(422, "at is out of range", field) from None
    if at > now + FUTURE_SLACK:
        raise ApiError(422, f"at is in the future (more than {_minutes(FUTURE_SLACK)} minutes ahead)", field)
    if at < now - OLDEST:
        raise ApiError(422, f"at is more than {OLDEST.days} days in the past", field)
    return at


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


def _record(services: Services, token: str, key: str, readings: list[Reading], now: datetime) -> dict:
    try:
        standing = kpis.ingest(services, token=token, key=key, readings=readings, now=now)
    except NotFound:
        raise ApiError(401, "unknown or revoked token") from None
    except PermissionDenied:
        raise ApiError(403, f"this token is not for initiative {key!r}") from None
    return {"recorded": len(readings), "within_threshold": standing}


# -- Monitors (issue 16): Alertmanager/Grafana webhooks and pipeline heartbeats ------------------------------------


def _alerts(services: Services, *, method: str, headers: dict[str, str], body: bytes,
            now: datetime) -> tuple[int, dict]:
    """200: every alert handled; 422: the payload, or some of its alerts (named), could not be (the rest were)."""
    from bot.domain.alerts import MAX_ALERTS, PayloadError, parse_payload
    from bot.services import alerts

    try:
        if method != "POST":
            raise ApiError(405, "use POST")
        token = _bearer(headers)
        try:
            credential = alerts.authenticate(services, token)  # before the body is even looked at
        except alerts.Unauthorized:
            raise ApiError(401, "unknown or revoked token") from None
        if len(body) > MAX_BODY:
            raise ApiError(413, f"the body is over {MAX_BODY} bytes: set max_alerts (at most {MAX_ALERTS}) in the "
                                "receiver's webhook_config")
        try:
            data = json.loads(body or b"")
        except RecursionError:
            raise ApiError(422, "the body is nested too deeply", "body") from None
        except (ValueError, UnicodeDecodeError):
            raise ApiError(422, "the body is not JSON", "body") from None
        try:
            payload = parse_payload(data)
        except PayloadError as error:
            raise ApiError(error.status, error.message, error.field) from None
    except ApiError as error:
        return error.status, error.body()
    outcome = alerts.receive(services, credential, payload, now=now)
    answer = {"handled": outcome.handled, "truncated_alerts": payload.truncated}
    if payload.skipped:
        answer["skipped"] = payload.skipped
        answer["note"] = (f"Steward handles at most {MAX_ALERTS} alerts per notification; {payload.skipped} were "
                          f"not handled: set max_alerts: {MAX_ALERTS} in the webhook_config")
    if outcome.problems:
        problems = sorted(outcome.problems, key=lambda problem: problem.index)
        first = problems[0]
        return 422, {"error": f"{len(problems)} alert(s) not handled; alert {first.index} ({first.alert}): "
                              f"{first.error}", "problems": [problem.body() for problem in problems], **answer}
    return 200, answer


def _heartbeat(services: Services, *, method: str, token: str, now: datetime) -> tuple[int, dict]:
    """200: the ping is recorded; 404: no heartbeat has this URL (deleted, or never created)."""
    from bot.services import pipeline_heartbeats

    if method != "POST":
        return 405, {"error": "use POST (a GET could be a link preview or a crawler, not your pipeline)"}
    found = pipeline_heartbeats.ping(services, token=token, now=now)
    if found is None:
        return 404, {"error": "no heartbeat has this URL (deleted, or never created)"}
    return 200, found


# -- Data distribution comparison (issue 17) ------------------------------------------------------------------------


def _distribution(services: Services, *, method: str, key: str, headers: dict[str, str], body: bytes,
                  now: datetime) -> tuple[int, dict]:
    """201: compared and posted; 422 names the problem with the samples (the KPI API's tokens)."""
    from bot.domain.distribution import MAX_UPLOAD, DistributionError
    from bot.services import distribution

    try:
        if method != "POST":
            raise ApiError(405, "use POST")
        token = _bearer(headers)
        try:
            tokens.authorize(services, token=token, key=key)  # before the body is even looked at
        except NotFound:
            raise ApiError(401, "unknown or revoked token") from None
        except PermissionDenied:
            raise ApiError(403, f"this token is not for initiative {key!r}") from None
        if len(body) > MAX_UPLOAD:
            raise ApiError(413, f"the body is over {MAX_UPLOAD} bytes: send smaller samples (a few thousand rows "
                                "each are plenty)")
        try:
            return 201, distribution.compute(services, token=token, key=key,
                                             content_type=headers.get("content-type", ""), body=body, now=now)
        except DistributionError as error:
            raise ApiError(422, error.message, error.field) from None
        except NotFound:
            raise ApiError(401, "unknown or revoked token") from None
        except PermissionDenied:
            raise ApiError(403, f"this token is not for initiative {key!r}") from None
    except ApiError as error:
        return error.status, error.body()
