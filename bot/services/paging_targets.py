"""Hand-off to paging services: PagerDuty's Events API v2 and generic signed webhooks (issue 15, point 6).

Declaring an incident triggers it there, acknowledging in Steward acknowledges it, resolving resolves it.
Each event is an outbox row (method `pagerduty` or `webhook`) queued in the transaction that changed
the incident, under a key naming the target, the incident and the action: queued once, sent once, and
retried like any outbox row on 429, 5xx and dropped connections (`deliver` raises the outbox's faults).
A row that cannot go (400, a target no longer configured) fails with the reason `initiative show` lists.

PagerDuty deduplicates by `dedup_key`, so a retry after a lost answer changes nothing there; webhooks
carry the outbox key as `Idempotency-Key` for the same purpose.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from sqlmodel import Session

from bot.config import Settings
from bot.org_config import PagerDutyConfig, WebhooksConfig, load_paging_config
from bot.services.context import Services
from bot.slack_port import FaultKind, SlackFault
from storage import outbox, timeline
from storage.models import Incident, Initiative, OutboxMessage

log = logging.getLogger(__name__)

PAGERDUTY, WEBHOOK = "pagerduty", "webhook"  # outbox methods
TRIGGER, ACKNOWLEDGE, RESOLVE = "trigger", "acknowledge", "resolve"
SEVERITIES = {"sev1": "critical", "sev2": "error", "sev3": "warning", "sev4": "info"}
WEBHOOK_EVENTS = {TRIGGER: "incident.triggered", ACKNOWLEDGE: "incident.acknowledged", RESOLVE: "incident.resolved"}
SIGNATURE_HEADER = "X-Steward-Signature"
TIMESTAMP_HEADER = "X-Steward-Timestamp"
TIMEOUT_SECONDS = 10
RATE_LIMIT_BACKOFF = 30.0  # PagerDuty suggests retrying a 429 after some time; its answer names none
MAX_SUMMARY = 1024  # PagerDuty's limit on payload.summary


@lru_cache(maxsize=8)
def _config(path: Path | None) -> tuple[PagerDutyConfig, WebhooksConfig]:
    return load_paging_config(path)


@dataclass(frozen=True)
class Targets:
    pagerduty: bool
    webhook: bool
    pagerduty_from_level: int = 1  # PagerDuty is triggered when the ladder reaches this level


def targets_for(settings: Settings, key: str) -> Targets:
    pagerduty, webhooks = _config(settings.steward_config)
    target = pagerduty.initiatives.get(key)
    return Targets(pagerduty=target is not None, webhook=key in webhooks.initiatives,
                   pagerduty_from_level=target.from_level if target else 1)


def dedup_key(incident: Incident) -> str:
    """The incident's key in the paging service: its number, within its workspace."""
    return f"{incident.team_id}-INC{incident.number}"


def summary(incident: Incident, initiative: Initiative) -> str:
    return f"INC{incident.number} [{incident.severity}] {initiative.key}: {incident.title}"[:MAX_SUMMARY]


def queue(session: Session, services: Services, incident: Incident, initiative: Initiative, action: str,
          now: datetime, *, by: str | None = None, level: int | None = None) -> int:
    """Queue the incident's `action` (trigger, acknowledge, resolve) for each paging service of its initiative.

    A trigger names the level the ladder has reached (`level`, default the incident's): PagerDuty may be
    configured to be triggered only from a later level (`from_level`); once triggered, it is never again.
    Acknowledging or resolving goes to PagerDuty only if it was triggered.
    """
    targets = targets_for(services.settings, initiative.key)
    reached = incident.level_reached if level is None else level
    queued = 0
    for method, wanted in ((PAGERDUTY, targets.pagerduty), (WEBHOOK, targets.webhook)):
        if not wanted:
            continue
        if method == PAGERDUTY and action == TRIGGER and reached < targets.pagerduty_from_level:
            continue  # not yet: the ladder has not reached the level PagerDuty takes over from
        if method == PAGERDUTY and action != TRIGGER and outbox.by_key(
                session=session, team_id=incident.team_id, key=f"paging:{method}:{incident.id}:{TRIGGER}") is None:
            continue  # never triggered there: nothing to acknowledge or resolve
        if method == PAGERDUTY:
            event = {"event_action": action, "dedup_key": dedup_key(incident)}
            if action == TRIGGER:
                event["client"] = "Steward"
                event["payload"] = {
                    "summary": summary(incident, initiative), "source": f"steward/{initiative.key}",
                    "severity": SEVERITIES.get(incident.severity, "error"), "timestamp": now.isoformat(),
                    "component": initiative.key, "group": "steward", "class": incident.kind,
                    "custom_details": {"incident": f"INC{incident.number}", "initiative": initiative.key,
                                       "severity": incident.severity, "declared_by": incident.declared_by}}
        else:
            event = {"event": WEBHOOK_EVENTS[action], "dedup_key": dedup_key(incident),
                     "incident": f"INC{incident.number}", "initiative": initiative.key, "severity": incident.severity,
                     "kind": incident.kind, "title": incident.title, "summary": summary(incident, initiative),
                     "at": now.isoformat(), "by": by}
        envelope = json.dumps({"initiative": initiative.key, "event": event}, ensure_ascii=False, sort_keys=True)
        key = f"paging:{method}:{incident.id}:{action}"
        text = f"{method}: {action} INC{incident.number}"
        if outbox.enqueue(session=session, team_id=incident.team_id, key=key, channel_id=method, text=text,
                          blocks=envelope, purpose=f"paging.{method}.{action}", method=method,
                          initiative_id=initiative.id, subject_id=incident.id, at=now):
            queued += 1
            timeline.record(session=session, incident=incident, kind=timeline.PAGING_SERVICE, actor="steward",
                            at=now, text=f"{action} sent to {'PagerDuty' if method == PAGERDUTY else 'the webhook'}",
                            detail={"target": method, "action": action}, dedup=f"{key}:timeline")
    return queued


# --- Delivery (called by the outbox sender) ------------------------------------------------------------------

Delivery = Callable[[OutboxMessage], str | None]


def deliveries(settings: Settings) -> dict[str, Delivery]:
    """The outbox's deliveries for the paging methods, reading the targets as configured when sent."""
    return {PAGERDUTY: lambda row: deliver_pagerduty(settings, row),
            WEBHOOK: lambda row: deliver_webhook(settings, row)}


def deliver_pagerduty(settings: Settings, row: OutboxMessage) -> str:
    envelope = json.loads(row.blocks)
    pagerduty, _ = _config(settings.steward_config)
    target = pagerduty.initiatives.get(envelope["initiative"])
    if target is None:
        raise SlackFault(f"no PagerDuty routing key for {envelope['initiative']} any more", FaultKind.PERMANENT,
                         call=PAGERDUTY)
    body = json.dumps({"routing_key": target.routing_key, **envelope["event"]}).encode()
    return _post(settings.pagerduty_events_url, body, {"Content-Type": "application/json"}, service="PagerDuty")


def deliver_webhook(settings: Settings, row: OutboxMessage) -> str:
    envelope = json.loads(row.blocks)
    _, webhooks = _config(settings.steward_config)
    target = webhooks.initiatives.get(envelope["initiative"])
    if target is None:
        raise SlackFault(f"no webhook for {envelope['initiative']} any more", FaultKind.PERMANENT, call=WEBHOOK)
    body = json.dumps(envelope["event"], ensure_ascii=False, sort_keys=True).encode()
    stamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", "Idempotency-Key": row.key, TIMESTAMP_HEADER: stamp,
               SIGNATURE_HEADER: "sha256=" + sign(target.secret, stamp, body)}
    return _post(target.url, body, headers, service="the webhook")


def sign(secret: str, stamp: str, body: bytes) -> str:
    """HMAC-SHA256 of `<timestamp>.<body>` with the target's secret, hex: what a receiver recomputes."""
    return hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _post(url: str, body: bytes, headers: dict[str, str], *, service: str) -> str:
    """POST once; the status as the row's ts on success, else the outbox's fault (retried or failed)."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return str(response.status)
    except urllib.error.HTTPError as exc:
        detail = _error_detail(exc)
        if exc.code == 429:
            retry = exc.headers.get("Retry-After")
            try:
                after = float(retry) if retry else RATE_LIMIT_BACKOFF
            except ValueError:
                after = RATE_LIMIT_BACKOFF
            raise SlackFault(f"{service} rate limit (429)", FaultKind.TRANSIENT, retry_after=after,
                             call=service) from None
        if exc.code >= 500:
            raise SlackFault(f"{service} answered {exc.code}{detail}", FaultKind.TRANSIENT, call=service) from None
        raise SlackFault(f"{service} refused the event ({exc.code}){detail}", FaultKind.PERMANENT,
                         call=service) from None
    except (TimeoutError, urllib.error.URLError, http.client.HTTPException, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SlackFault(f"{service} unreachable: {type(exc).__name__}: {reason}"[:300], FaultKind.TRANSIENT,
                         call=service) from None


def _error_detail(exc: urllib.error.HTTPError) -> str:
    try:
        data = json.loads(exc.read()[:4000] or b"{}")
    except (ValueError, OSError):
        return ""
    parts = [str(data.get("message") or "")] + [str(e) for e in data.get("errors") or []]
    text = "; ".join(p for p in parts if p)
    return f": {text}"[:300] if text else ""
