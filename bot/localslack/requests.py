"""Build and send requests to the bot exactly as Slack does: form or JSON bodies, signed with the secret."""

from __future__ import annotations

import hashlib
import http.client
import itertools
import json
import time
from dataclasses import dataclass
from urllib.parse import urlencode, urlparse

from slack_sdk.signature import SignatureVerifier

# Slack's ids are unique per request even when a test freezes the clock: a counter makes them so here.
_serial = itertools.count(1)


def _unique(prefix: str) -> str:
    return f"{prefix}{time.time_ns()}.{next(_serial)}"


# The real wall clock, held in a closure out of freezegun's reach: a trigger_id carries the moment it was
# issued, so the local Slack can refuse it 3 seconds later as Slack does (expired_trigger_id).
_REAL_NS = (lambda time_ns: (lambda: time_ns()))(time.time_ns)


def trigger_id() -> str:
    """A click's trigger_id: unique, and dated with the real time it was issued (see LocalSlack views.open)."""
    return f"trigger-{_REAL_NS()}.{next(_serial)}"


@dataclass
class BotResponse:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self):
        return json.loads(self.body or b"{}")

    @property
    def text(self) -> str:
        data = self.json()
        return data.get("text", "") if isinstance(data, dict) else ""


def signed_headers(secret: str, body: str, *, timestamp: int | None = None, content_type: str) -> dict[str, str]:
    """Headers Slack sends: `v0=` HMAC-SHA256 of `v0:{timestamp}:{body}` with the signing secret."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = SignatureVerifier(secret).generate_signature(timestamp=str(timestamp), body=body)
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": str(timestamp),
            "X-Slack-Signature": signature}


class SlackSender:
    """Sends signed slash commands, button clicks, modal submissions and events to the bot's URL."""

    def __init__(self, *, bot_url: str, signing_secret: str, team_id: str = "T0LOCAL",
                 response_base: str | None = None):
        self.bot_url = bot_url
        self.secret = signing_secret
        self.team_id = team_id
        self.response_base = response_base
        self._responses = 0

    def post(self, body: str, *, content_type: str, timestamp: int | None = None, secret: str | None = None,
             extra_headers: dict[str, str] | None = None) -> BotResponse:
        headers = signed_headers(secret or self.secret, body, timestamp=timestamp, content_type=content_type)
        headers.update(extra_headers or {})
        parsed = urlparse(self.bot_url)
        connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
        try:
            connection.request("POST", parsed.path, body=body.encode(), headers=headers)
            response = connection.getresponse()
            return BotResponse(response.status, response.read(), dict(response.getheaders()))
        finally:
            connection.close()

    def _response_url(self) -> str:
        self._responses += 1
        return f"{self.response_base}/response/R{self._responses}" if self.response_base else ""

    def command(self, text: str, *, user: str, channel: str = "C0GENERAL", team_id: str | None = None,
                **options) -> BotResponse:
        form = {
            "token": "legacy-verification-token", "team_id": team_id or self.team_id, "team_domain": "local",
            "channel_id": channel, "channel_name": channel.lower(), "user_id": user, "user_name": user.lower(),
            "command": "/steward", "text": text, "api_app_id": "ASTEWARD", "is_enterprise_install": "false",
            "response_url": self._response_url(), "trigger_id": trigger_id(),
        }
        return self.post(urlencode(form), content_type="application/x-www-form-urlencoded", **options)

    def interaction(self, payload: dict, **options) -> BotResponse:
        payload.setdefault("team", {"id": self.team_id, "domain": "local"})
        payload.setdefault("api_app_id", "ASTEWARD")
        payload.setdefault("token", "legacy-verification-token")
        body = urlencode({"payload": json.dumps(payload)})
        return self.post(body, content_type="application/x-www-form-urlencoded", **options)

    def click(self, *, action_id: str, value: str, user: str, channel: str, message: dict | None = None,
              block_id: str = "actions", team_id: str | None = None, **options) -> BotResponse:
        payload = {
            "type": "block_actions", "user": {"id": user, "username": user.lower(), "team_id": team_id or self.team_id},
            "team": {"id": team_id or self.team_id, "domain": "local"},
            "channel": {"id": channel, "name": channel.lower()}, "container": {"type": "message",
            "message_ts": (message or {}).get("ts"), "channel_id": channel, "is_ephemeral": False},
            "message": message or {}, "trigger_id": trigger_id(),
            "response_url": self._response_url(),
            "actions": [{"type": "button", "action_id": action_id, "block_id": block_id, "value": value,
                         "action_ts": f"{int(time.time())}.{next(_serial):06d}"}],
        }
        return self.interaction(payload, **options)

    def submit_view(self, *, callback_id: str, values: dict, private_metadata: str, user: str,
                    team_id: str | None = None, view_id: str | None = None, **options) -> BotResponse:
        # One form, opened once, has one view id and hash: submitting the same form twice (a double click on
        # Submit) sends both again, as Slack does. A different form, or another person's, gets its own.
        opened = hashlib.sha256(f"{callback_id}|{private_metadata}|{user}".encode()).hexdigest()
        payload = {
            "type": "view_submission", "user": {"id": user, "team_id": team_id or self.team_id},
            "team": {"id": team_id or self.team_id, "domain": "local"},
            "view": {"id": view_id or f"V{opened[:10].upper()}", "hash": opened[10:30], "type": "modal",
                     "callback_id": callback_id,
                     "private_metadata": private_metadata, "state": {"values": values}},
            "trigger_id": trigger_id(),
        }
        return self.interaction(payload, **options)

    def event(self, event: dict, *, team_id: str | None = None, retry_num: int | None = None,
              event_id: str | None = None, **options) -> BotResponse:
        body = json.dumps({
            "token": "legacy-verification-token", "team_id": team_id or self.team_id, "api_app_id": "ASTEWARD",
            "type": "event_callback", "event": event, "event_id": event_id or _unique("Ev"),
            "event_time": int(time.time()),
        })
        headers = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        return self.post(body, content_type="application/json", extra_headers=headers, **options)
