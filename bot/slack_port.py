"""The one seam through which Steward's own posts reach Slack, with faults sorted by what to do next."""

from __future__ import annotations

import http.client
import logging
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from enum import StrEnum

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler

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
    maybe_sent: bool = False  # the call may have reached Slack and been done: only the answer was lost
    call: str | None = None  # the Web API method that failed, when Slack answered

    def __str__(self) -> str:
        return self.error


def make_web_client(*, token: str | None, base_url: str, interactive: bool = True, timeout: int = 10) -> WebClient:
    """Build a WebClient for Slack (or a local one) at `base_url`.

    No client sleeps on a 429's Retry-After or backs off after a 5xx: an interactive client (Bolt's,
    answering a person in a request thread) gets the SlackApiError at once, so a rate-limited
    `views.open` fails fast and never holds a server thread; it only retries a connection reset once,
    which costs no wait. The outbox's client retries nothing in place: a fault goes back to the outbox
    with a due time, so one rate-limited channel never blocks the others and a Retry-After of minutes
    costs no thread.
    """
    handlers = [ConnectionErrorRetryHandler(max_retry_count=1)] if interactive else []
    return WebClient(token=token, base_url=base_url, timeout=timeout, retry_handlers=handlers)


def classify(exc: Exception) -> SlackFault:
    """Turn an exception from slack_sdk into a fault that says whether and when to retry."""
    if isinstance(exc, SlackApiError):
        response = exc.response
        status = getattr(response, "status_code", 200)
        error = (response.get("error") if hasattr(response, "get") else None) or f"http_{status}"
        call = str(getattr(response, "api_url", "") or "").rstrip("/").rsplit("/", 1)[-1] or None
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
            return SlackFault("ratelimited", FaultKind.TRANSIENT, retry_after, call=call)
        if status >= 500 or error in _TRANSIENT:
            return SlackFault(error, FaultKind.TRANSIENT, call=call)
        if error in _NEEDS_ACTION:
            return SlackFault(error, FaultKind.NEEDS_ACTION, call=call)
        return SlackFault(error, FaultKind.PERMANENT, call=call)
    if isinstance(exc, (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError, OSError,
                        http.client.HTTPException)):
        return SlackFault(f"connection: {exc}"[:200], FaultKind.TRANSIENT, maybe_sent=_maybe_sent(exc))
    raise exc


def _maybe_sent(exc: BaseException) -> bool:
    """Whether Slack may have done the call although no answer came: everything but a connection that
    was never made (refused, no route, a name that does not resolve)."""
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, (ConnectionRefusedError, socket.gaierror)):
        return False
    return not (isinstance(reason, OSError) and "refused" in str(reason).lower())


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

    def start_upload(self, *, content: bytes, filename: str) -> str:
        """Steps 1 and 2 of an upload: ask for an upload URL, send the bytes there; the file's id.

        The file exists in Slack from here on, shared nowhere until `complete_upload`: the caller
        remembers the id so a retry completes this upload instead of leaving it orphaned.
        """
        try:
            response = self.client.files_getUploadURLExternal(filename=filename, length=len(content))
        except Exception as exc:
            raise classify(exc) from exc
        file_id, url = response["file_id"], response["upload_url"]
        request = urllib.request.Request(url, data=content, method="POST",
                                         headers={"Content-Type": "application/octet-stream"})
        try:
            with urllib.request.urlopen(request, timeout=self.client.timeout) as answer:  # Slack's own upload URL
                answer.read()
        except urllib.error.HTTPError as exc:
            raise SlackFault(f"upload refused: http_{exc.code}", FaultKind.TRANSIENT) from exc
        except Exception as exc:
            raise classify(exc) from exc
        return file_id

    def complete_upload(self, *, file_id: str, title: str, channel: str, thread_ts: str | None) -> str:
        """Step 3: share an uploaded file in the channel (membership needed; a public channel is joined)."""
        kwargs = {"files": [{"id": file_id, "title": title}], "channel_id": channel}
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        try:
            self.client.files_completeUploadExternal(**kwargs)
        except Exception as exc:
            fault = classify(exc)
            if fault.error != "not_in_channel" or not self._join(channel):
                raise fault from exc
            try:
                self.client.files_completeUploadExternal(**kwargs)
            except Exception as retry_exc:
                raise classify(retry_exc) from retry_exc
        return file_id

    def delete_file(self, *, file_id: str) -> None:
        """Delete an upload that will never be shared (files.delete, files:write)."""
        try:
            self.client.files_delete(file=file_id)
        except Exception as exc:
            raise classify(exc) from exc

    def open_dm(self, *, user: str) -> str:
        """The id (D…) of the app's direct message with a person: conversations.open (im:write)."""
        try:
            response = self.client.conversations_open(users=user)
        except Exception as exc:
            raise classify(exc) from exc
        return response["channel"]["id"]

    def update_message(self, *, channel: str, ts: str, text: str, blocks: list[dict]) -> str:
        try:
            response = self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
        except Exception as exc:
            raise classify(exc) from exc
        return response["ts"]

    def find_posted(self, *, channel: str, key: str, thread_ts: str | None = None,
                    oldest: float | None = None, latest: float | None = None) -> str | None:
        """The ts of a message Steward posted with this outbox key (in its metadata), or None when it is not there.

        Pages through the channel's history (or the thread) from `oldest` (a Unix time before the first
        attempt), up to `latest` when given, however many messages came. A public channel Steward has not
        joined is joined first, since history needs membership. When the look-up itself fails (rate-limited,
        a fault) it raises SlackFault: the caller retries the look-up and never posts blind. Only when
        history can never be read (the history scopes are missing) does it answer None, and the caller
        posts: a possible duplicate is the lesser evil than a lost page.
        """
        cursor, joined = None, False
        while True:
            options = {"channel": channel, "limit": HISTORY_PAGE, "include_all_metadata": True}
            if cursor:
                options["cursor"] = cursor
            if oldest is not None:
                options["oldest"] = f"{oldest:.6f}"
            if latest is not None:
                options["latest"] = f"{latest:.6f}"
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

    # -- answers to a person and the Home tab (B: membership; minimal additions) -------------------
    def respond(self, *, url: str, text: str, blocks: list[dict], channel: str | None = None,
                user: str | None = None) -> str:
        """Answer a click or form privately through its response_url (no channel membership needed).

        An expired or used-up URL (30 minutes, 5 uses) falls back to chat.postEphemeral when the
        channel and person are known.
        """
        from slack_sdk.webhook import WebhookClient

        try:
            answer = WebhookClient(url, timeout=self.client.timeout, retry_handlers=[]).send(
                text=text, blocks=blocks, response_type="ephemeral", replace_original=False)
        except Exception as exc:
            raise classify(exc) from exc
        if 200 <= answer.status_code < 300:
            return ""
        error = (answer.body or "").strip()[:100] or f"http_{answer.status_code}"
        if answer.status_code == 429:
            retry_after = (answer.headers or {}).get("Retry-After") or (answer.headers or {}).get("retry-after")
            try:
                delay = float(retry_after[0] if isinstance(retry_after, list) else retry_after)
            except (TypeError, ValueError):
                delay = None
            raise SlackFault("ratelimited", FaultKind.TRANSIENT, delay)
        if answer.status_code >= 500:
            raise SlackFault(error, FaultKind.TRANSIENT)
        if channel and user:
            log.info("response_url refused (%s); answering with chat.postEphemeral instead", error)
            return self.post_ephemeral(channel=channel, user=user, text=text, blocks=blocks)
        raise SlackFault(f"response_url: {error}", FaultKind.PERMANENT)

    def publish_home(self, *, user: str, view: dict) -> str:
        """Publish a person's Home tab (views.publish)."""
        try:
            response = self.client.views_publish(user_id=user, view=view)
        except Exception as exc:
            raise classify(exc) from exc
        return (response.get("view") or {}).get("id") or ""
