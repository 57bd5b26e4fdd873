"""The one seam through which Steward's own posts reach Slack, with faults sorted by what to do next."""

from __future__ import annotations

import logging
import socket
import urllib.error
from dataclasses import dataclass
from enum import StrEnum

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

log = logging.getLogger(__name__)


class FaultKind(StrEnum):
    TRANSIENT = "transient"  # 429, 5xx, timeouts, refused connections: retry soon
    NEEDS_ACTION = "needs_action"  # the channel or token needs a person: retry rarely, show it
    PERMANENT = "permanent"  # Slack refuses the message itself: retrying cannot help


# Errors a person can fix (invite the bot, restore the channel, reinstall the app).
_NEEDS_ACTION = {
    "channel_not_found", "not_in_channel", "is_archived", "invalid_auth", "account_inactive",
    "token_revoked", "token_expired", "missing_scope", "not_authed", "restricted_action",
    "team_access_not_granted", "ekm_access_denied",
}
# Errors that mean history can never be read with this installation: checking is impossible, not late.
_HISTORY_UNREADABLE = {"missing_scope", "not_allowed_token_type"}
HISTORY_PAGE = 200
_TRANSIENT = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}


@dataclass
class SlackFault(Exception):
    error: str
    kind: FaultKind
    retry_after: float | None = None

    def __str__(self) -> str:
        return self.error


def make_web_client(*, token: str | None, base_url: str, interactive: bool = True, timeout: int = 10) -> WebClient:
    """Build a WebClient for Slack (or a local one) at `base_url`.

    Interactive clients (Bolt's, answering a person) retry 429s, 5xx and broken connections in
    place, as slack_sdk's handlers do. The outbox's client retries nothing in place: a fault goes
    back to the outbox with a due time, so one rate-limited channel never blocks the others and a
    Retry-After of minutes costs no thread.
    """
    handlers = (
        [ConnectionErrorRetryHandler(), RateLimitErrorRetryHandler(max_retry_count=2), ServerErrorRetryHandler()]
        if interactive
        else []
    )
    return WebClient(token=token, base_url=base_url, timeout=timeout, retry_handlers=handlers)


def classify(exc: Exception) -> SlackFault:
    """Turn an exception from slack_sdk into a fault that says whether and when to retry."""
    if isinstance(exc, SlackApiError):
        response = exc.response
        status = getattr(response, "status_code", 200)
        error = (response.get("error") if hasattr(response, "get") else None) or f"http_{status}"
        if status == 429 or error == "ratelimited":
            retry_after = None
            headers = getattr(response, "headers", {}) or {}
            for name, value in headers.items():
                if name.lower() == "retry-after":
                    value = value[0] if isinstance(value, list) else value
                    try:
                        retry_after = float(value)
                    except (TypeError, ValueError):
                        retry_after = None
            return SlackFault("ratelimited", FaultKind.TRANSIENT, retry_after)
        if status >= 500 or error in _TRANSIENT:
            return SlackFault(error, FaultKind.TRANSIENT)
        if error in _NEEDS_ACTION:
            return SlackFault(error, FaultKind.NEEDS_ACTION)
        return SlackFault(error, FaultKind.PERMANENT)
    if isinstance(exc, (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError, OSError)):
        return SlackFault(f"connection: {exc}"[:200], FaultKind.TRANSIENT)
    raise exc


class SlackPort:
    """Post and update Steward's messages; every failure comes out as a SlackFault."""

    def __init__(self, client: WebClient):
        self.client = client

    def post_message(self, *, channel: str, text: str, blocks: list[dict], thread_ts: str | None = None,
                     metadata: dict | None = None) -> str:
        kwargs = {"channel": channel, "text": text, "blocks": blocks, "unfurl_links": False, "unfurl_media": False}
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        if metadata:
            kwargs["metadata"] = metadata
        try:
            response = self.client.chat_postMessage(**kwargs)
        except Exception as exc:
            fault = classify(exc)
            if fault.error != "not_in_channel" or not self._join(channel):
                raise fault from exc
            try:
                response = self.client.chat_postMessage(**kwargs)
            except Exception as retry_exc:
                raise classify(retry_exc) from retry_exc
        return response["ts"]

    def post_ephemeral(self, *, channel: str, user: str, text: str, blocks: list[dict]) -> str:
        try:
            response = self.client.chat_postEphemeral(channel=channel, user=user, text=text, blocks=blocks)
        except Exception as exc:
            raise classify(exc) from exc
        return response.get("message_ts") or ""

    def upload_file(self, *, channel: str, thread_ts: str | None, content: bytes, filename: str, title: str) -> str:
        """Upload with files.getUploadURLExternal + completeUploadExternal (files.upload is retired)."""
        try:
            response = self.client.files_upload_v2(channel=channel, thread_ts=thread_ts, content=content,
                                                   filename=filename, title=title)
        except Exception as exc:
            raise classify(exc) from exc
        files = response.get("files") or [{}]
        return files[0].get("id", "")

    def update_message(self, *, channel: str, ts: str, text: str, blocks: list[dict]) -> str:
        try:
            response = self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
        except Exception as exc:
            raise classify(exc) from exc
        return response["ts"]

    def find_posted(self, *, channel: str, key: str, thread_ts: str | None = None,
                    oldest: float | None = None) -> str | None:
        """The ts of a message Steward posted with this outbox key (in its metadata), or None when it is not there.

        Pages through the channel's history (or the thread) from `oldest` (a Unix time before the first
        attempt), however many messages came since. A public channel Steward has not joined is joined
        first, since history needs membership. When the look-up itself fails (rate-limited, a fault) it
        raises SlackFault: the caller retries the look-up and never posts blind. Only when history can
        never be read (the history scopes are missing) does it answer None, and the caller posts:
        a possible duplicate is the lesser evil than a lost page.
        """
        cursor, joined = None, False
        while True:
            options = {"channel": channel, "limit": HISTORY_PAGE, "include_all_metadata": True}
            if cursor:
                options["cursor"] = cursor
            if oldest is not None:
                options["oldest"] = f"{oldest:.6f}"
            try:
                if thread_ts:
                    response = self.client.conversations_replies(ts=thread_ts, **options)
                else:
                    response = self.client.conversations_history(**options)
            except Exception as exc:
                fault = classify(exc)
                if fault.error == "not_in_channel" and not joined and self._join(channel):
                    joined = True
                    continue
                if fault.error in _HISTORY_UNREADABLE:
                    log.warning("cannot read the history of %s (%s) to check for %s; posting it", channel,
                                fault.error, key)
                    return None
                raise fault from exc
            for message in response.get("messages", []):
                payload = (message.get("metadata") or {}).get("event_payload") or {}
                if payload.get("key") == key:
                    return message.get("ts")
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None

    def _join(self, channel: str) -> bool:
        """Join a public channel after not_in_channel; private ones need an invitation."""
        try:
            self.client.conversations_join(channel=channel)
            return True
        except Exception:
            return False
