"""A Slack Web API server on 127.0.0.1 that keeps channels, messages and threads, and records every call.

It serves the methods Steward calls, answers like Slack (ok/error JSON, 429 with Retry-After), and
can be told to fail: the test suite uses it as Slack, and so will the sandbox.
"""

from __future__ import annotations

import base64
import itertools
import json
import math
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    token: str | None
    at: float = field(default_factory=time.time)  # when the call arrived


@dataclass
class Fault:
    method: str
    status: int = 200
    error: str | None = None
    retry_after: int | None = None
    drop: bool = False  # close the connection without answering (a timeout or reset, to the client)
    hold: threading.Event | None = None  # answer only once this is set (the caller may be gone by then)
    arrived: threading.Event | None = None  # set when a held call arrives
    channel: str | None = None
    times: int | None = 1  # None: until cleared
    after: bool = False  # with drop: handle the call first (the message is stored), then drop the connection


# Slack's rate-limit tiers: requests per minute per method per workspace (api.slack.com/apis/rate-limits).
TIER_PER_MINUTE = {1: 1, 2: 20, 3: 50, 4: 100}
METHOD_TIERS = {
    "chat.update": 3, "chat.delete": 3, "chat.postEphemeral": 4,
    "conversations.history": 3, "conversations.replies": 3, "conversations.join": 3, "conversations.info": 3,
    "conversations.open": 3, "users.info": 4,
    "views.open": 4, "views.update": 4, "views.push": 4, "views.publish": 4,
    "files.getUploadURLExternal": 4, "files.completeUploadExternal": 4, "files.delete": 3, "files.info": 4,
    "apps.connections.open": 1,
}
# Since 2025, commercially distributed apps outside the Marketplace: 1 request a minute, at most 15 objects.
NON_MARKETPLACE_HISTORY = {"per_minute": 1, "max_limit": 15}
# The real monotonic clock, held in a closure: freezegun replaces module attributes that *are*
# time.monotonic (and a call to time.monotonic() made under a freeze), never this wrapper.
_REAL_CLOCK = (lambda monotonic: (lambda: monotonic()))(time.monotonic)
# The real wall clock likewise: a trigger_id carries the real time of its click (bot.localslack.requests).
_REAL_NS = (lambda time_ns: (lambda: time_ns()))(time.time_ns)
_TRIGGER = re.compile(r"^trigger-(\d{10,20})\.\d+$")


def _plain_text(node, where: str, limit: int, problems: list[str], *, required: bool = True) -> None:
    if node is None:
        if required:
            problems.append(f"[ERROR] missing required field: {where}")
        return
    if not isinstance(node, dict) or node.get("type") != "plain_text" or not isinstance(node.get("text"), str):
        problems.append(f"[ERROR] must be a plain_text object [json-pointer:/view/{where}]")
        return
    if not node["text"]:
        problems.append(f"[ERROR] must be at least 1 character [json-pointer:/view/{where}/text]")
    if len(node["text"]) > limit:
        problems.append(f"[ERROR] must be less than {limit + 1} characters [json-pointer:/view/{where}/text]")


def view_problems(view) -> list[str]:
    """What Slack's view validation says of a modal (Block Kit's documented limits), as its `messages`."""
    if not isinstance(view, dict):
        return ["[ERROR] missing required field: view"]
    problems: list[str] = []
    if view.get("type") != "modal":
        problems.append("[ERROR] must be modal [json-pointer:/view/type]")
    _plain_text(view.get("title"), "title", 24, problems)
    _plain_text(view.get("submit"), "submit", 24, problems, required=False)
    _plain_text(view.get("close"), "close", 24, problems, required=False)
    if len(str(view.get("callback_id") or "")) > 255:
        problems.append("[ERROR] must be less than 256 characters [json-pointer:/view/callback_id]")
    if len(str(view.get("private_metadata") or "")) > 3000:
        problems.append("[ERROR] must be less than 3001 characters [json-pointer:/view/private_metadata]")
    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        return [*problems, "[ERROR] missing required field: blocks [json-pointer:/view/blocks]"]
    if len(blocks) > 100:
        problems.append("[ERROR] no more than 100 items allowed [json-pointer:/view/blocks]")
    seen: set[str] = set()
    for index, block in enumerate(blocks):
        where = f"blocks/{index}"
        block_id = str((block or {}).get("block_id") or "")
        if len(block_id) > 255:
            problems.append(f"[ERROR] must be less than 256 characters [json-pointer:/view/{where}/block_id]")
        if block_id and block_id in seen:
            problems.append(f"[ERROR] duplicate block_id [json-pointer:/view/{where}/block_id]")
        seen.add(block_id)
        if (block or {}).get("type") != "input":
            continue
        if view.get("submit") is None:
            problems.append("[ERROR] must provide a submit property when using input blocks "
                            "[json-pointer:/view/submit]")
        _plain_text(block.get("label"), f"{where}/label", 2000, problems)
        _plain_text(block.get("hint"), f"{where}/hint", 2000, problems, required=False)
        element = block.get("element") or {}
        if element.get("type") == "plain_text_input" and int(element.get("max_length") or 0) > 3000:
            problems.append(f"[ERROR] must be at most 3000 [json-pointer:/view/{where}/element/max_length]")
        options = element.get("options")
        if options is not None:
            if not 1 <= len(options) <= 100:
                problems.append(f"[ERROR] must have 1 to 100 options [json-pointer:/view/{where}/element/options]")
            for n, option in enumerate(options):
                _plain_text((option or {}).get("text"), f"{where}/element/options/{n}/text", 75, problems)
                if len(str((option or {}).get("value") or "")) > 150:
                    problems.append(f"[ERROR] must be less than 151 characters "
                                    f"[json-pointer:/view/{where}/element/options/{n}/value]")
    return problems


class RateLimits:
    """Token buckets as Slack applies them: chat.postMessage about one a second per channel beyond a short
    burst, and every other listed method by its tier per workspace. A call over the limit is answered 429,
    `error: ratelimited`, with `Retry-After` in whole seconds.

    `clock` defaults to a real monotonic clock captured here (out of freezegun's reach, which patches
    module attributes); tests that measure pacing pass their own. The default bursts are generous (200
    posts per channel, a minute's worth of each tier): tests that sweep a year of fake time in a few real
    seconds never meet a limit; tests of pacing, the benchmark and the sandbox configure Slack-sized ones.
    """

    def __init__(self, *, clock=None, post_interval: float = 1.0, post_burst: int = 200,
                 tier_burst: dict[int, int] | None = None, history_limited: bool = False,
                 enabled: bool = True):
        self.clock = clock or _REAL_CLOCK
        self.post_interval = post_interval
        self.post_burst = post_burst
        self.tier_burst = tier_burst or {}
        self.history_limited = history_limited
        self.enabled = enabled
        self.limited: list[tuple[str, str | None]] = []  # (method, channel) of each 429 answered
        self._buckets: dict[tuple, tuple[float, float]] = {}  # key -> (tokens, at)

    def per_minute(self, method: str) -> float | None:
        if self.history_limited and method in ("conversations.history", "conversations.replies"):
            return NON_MARKETPLACE_HISTORY["per_minute"]
        tier = METHOD_TIERS.get(method)
        return TIER_PER_MINUTE[tier] if tier else None

    def check(self, method: str, args: dict) -> float | None:
        """Take a token for this call; None when allowed, else the seconds until one is free."""
        if not self.enabled:
            return None
        if method == "chat.postMessage":
            channel = args.get("channel")
            return self._take(("post", channel), rate=1 / self.post_interval, burst=self.post_burst)
        per_minute = self.per_minute(method)
        if per_minute is None:
            return None
        if self.history_limited and method in ("conversations.history", "conversations.replies"):
            burst = 1
        else:
            tier = METHOD_TIERS[method]
            burst = self.tier_burst.get(tier, max(per_minute, 10))
        return self._take(("method", method), rate=per_minute / 60, burst=burst)

    def _take(self, key: tuple, *, rate: float, burst: int) -> float | None:
        now = self.clock()
        tokens, at = self._buckets.get(key, (float(burst), now))
        tokens = min(float(burst), tokens + (now - at) * rate)
        if tokens >= 1 - 1e-9:  # a call exactly on time is on time, whatever the float sum says
            self._buckets[key] = (tokens - 1, now)
            return None
        self._buckets[key] = (tokens, now)
        return (1 - tokens) / rate


@dataclass
class SlackState:
    team_id: str = "T0LOCAL"
    bot_user_id: str = "UBOTSTEWARD"
    channels: dict[str, dict] = field(default_factory=dict)
    messages: dict[str, list[dict]] = field(default_factory=dict)
    views: list[dict] = field(default_factory=list)
    files: dict[str, dict] = field(default_factory=dict)
    responses: list[dict] = field(default_factory=list)
    ephemerals: list[dict] = field(default_factory=list)


class _SlackHTTPServer(ThreadingHTTPServer):
    """Slack takes many connections at once: a listen backlog of 5 (the standard library's default) would
    drop the connections of a sender with more calls in flight, each then retried a second later."""

    request_queue_size = 128
    daemon_threads = True


class LocalSlack:
    """The server. `start()` binds 127.0.0.1 on a free port; `api_url` is the base for WebClient."""

    def __init__(self, *, token: str = "xoxb-local-token", host: str = "127.0.0.1", port: int = 0,
                 limits: RateLimits | None = None):
        self.token = token
        self.app_token = "xapp-local-app-token"  # Socket Mode: apps.connections.open takes only this
        self.socket_mode_url: str | None = None  # the websocket apps.connections.open hands out
        self.limits = limits or RateLimits()
        self.state = SlackState()
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        self.scopes: set[str] | None = None  # the bot token's scopes; None: every scope a method needs
        self.disabled_users: set[str] = set()  # deactivated accounts (conversations.open: user_disabled)
        self.lock = threading.RLock()
        self._changed = threading.Condition(self.lock)  # notified after every call, so tests wait without polling
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self.trigger_ttl = 3.0  # seconds a click's trigger_id can be exchanged for a modal (views.open)
        self._exchanged: set[str] = set()
        self._server = _SlackHTTPServer((host, port), _handler_for(self))
        self._thread: threading.Thread | None = None
        self.add_channel("C0GENERAL", "general")

    # -- lifecycle -------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    def start(self) -> LocalSlack:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="local-slack", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- set-up and inspection -------------------------------------------------------------------
    def add_channel(self, channel_id: str, name: str, *, private: bool = False, member: bool = True) -> None:
        with self.lock:
            self.state.channels[channel_id] = {"id": channel_id, "name": name, "is_private": private,
                                               "is_member": member, "archived": False}
            self.state.messages.setdefault(channel_id, [])

    def fail(self, method: str, **kwargs) -> Fault:
        """Make the next call(s) of `method` fail: status=429/500, error='channel_not_found', drop=True."""
        fault = Fault(method=method, **kwargs)
        with self.lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def calls_to(self, method: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.method == method]

    def posts(self, channel: str | None = None) -> list[dict]:
        """Messages posted by the bot (top level and in threads), oldest first."""
        with self.lock:
            channels = [channel] if channel else list(self.state.messages)
            found = [m for c in channels for m in self.state.messages.get(c, [])]
        return sorted(found, key=lambda m: float(m["ts"]))

    def thread(self, channel: str, thread_ts: str) -> list[dict]:
        return [m for m in self.posts(channel) if m.get("thread_ts") == thread_ts]

    def message(self, channel: str, ts: str) -> dict | None:
        return next((m for m in self.posts(channel) if m["ts"] == ts), None)

    def wait_for(self, predicate, timeout: float = 10.0):
        """Wait until `predicate()` is true (re-checked after every call Slack receives); return its last value."""
        with self._changed:
            return self._changed.wait_for(predicate, timeout)

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def reset_calls(self) -> None:
        with self.lock:
            self.calls.clear()

    # -- the API ---------------------------------------------------------------------------------
    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    def handle(self, method: str, args: dict[str, Any], token: str | None) -> tuple[int, dict, dict]:
        """Answer one Web API call: (status, headers, body)."""
        with self.lock:
            self.calls.append(Call(method, args, token))
            fault = self._take_fault(method, args)
        if fault is not None and fault.hold is not None:
            if fault.arrived is not None:
                fault.arrived.set()
            fault.hold.wait(30)
            fault = None  # then it is handled as usual
        if fault is not None and fault.drop and fault.after:
            self._answer(method, args, token)  # Slack took it; the answer never reaches the caller
            return -1, {}, {}
        if fault is not None:
            if fault.drop:
                return -1, {}, {}
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            if fault.status == 429:
                return 429, headers, {"ok": False, "error": "ratelimited"}
            if fault.status >= 500:
                return fault.status, headers, {"ok": False, "error": fault.error or "internal_error"}
            return 200, headers, {"ok": False, "error": fault.error or "fatal_error"}
        return self._answer(method, args, token)

    def _answer(self, method: str, args: dict[str, Any], token: str | None) -> tuple[int, dict, dict]:
        if token != (self.app_token if method == "apps.connections.open" else self.token):
            return 200, {}, {"ok": False, "error": "invalid_auth" if token else "not_authed"}
        handler = getattr(self, "_api_" + method.replace(".", "_"), None)
        if handler is None:
            return 200, {}, {"ok": False, "error": "unknown_method"}
        with self.lock:
            wait = self.limits.check(method, args)
            if wait is not None:
                self.limits.limited.append((method, args.get("channel")))
                return 429, {"Retry-After": str(max(1, math.ceil(wait)))}, {"ok": False, "error": "ratelimited"}
            return 200, {}, handler(args)

    def _take_fault(self, method: str, args: dict) -> Fault | None:
        for fault in self.faults:
            if fault.method == method and (fault.channel is None or fault.channel == args.get("channel")):
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                return fault
        return None

    def _channel_error(self, channel: str | None, *, membership: bool = False) -> str | None:
        """Slack's answer for a channel the bot cannot use this way, or None.

        A private channel the bot is not in does not exist for it (`channel_not_found`). A public one
        takes posts without membership (chat:write.public) but not ephemerals, file shares or history
        reads (`not_in_channel`), as Slack's method reference says.
        """
        info = self.state.channels.get(channel or "")
        if info is None or (info["is_private"] and not info["is_member"]):
            return "channel_not_found"
        if info["archived"]:
            return "is_archived"
        if membership and not info["is_member"]:
            return "not_in_channel"
        return None

    def _dm_channel(self, channel: str | None) -> str | None:
        """chat.postMessage to a user id posts in the app's direct message with that person (a D… channel)."""
        if channel and channel[0] in "UW":
            dm = "D" + channel[1:]
            if dm not in self.state.channels:
                self.state.channels[dm] = {"id": dm, "name": channel, "is_private": True, "is_member": True,
                                           "archived": False, "is_im": True, "user": channel}
                self.state.messages.setdefault(dm, [])
            return dm
        return channel

    def _api_conversations_open(self, args):
        """Open (or resume) the app's direct message with one person, as Slack's reference describes: `users`
        (comma-separated; one user makes a 1:1 DM) or `channel` (an existing D…), scope im:write."""
        if self.scopes is not None and "im:write" not in self.scopes:
            return {"ok": False, "error": "missing_scope", "needed": "im:write",
                    "provided": ",".join(sorted(self.scopes))}
        channel = args.get("channel")
        if channel:
            info = self.state.channels.get(channel)
            if info is None:
                return {"ok": False, "error": "channel_not_found"}
            if not info.get("is_im"):
                return {"ok": False, "error": "method_not_supported_for_channel_type"}
            return {"ok": True, "no_op": True, "already_open": True, "channel": {"id": channel}}
        users = [u.strip() for u in str(args.get("users") or "").split(",") if u.strip()]
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        if len(users) > 8:
            return {"ok": False, "error": "too_many_users"}
        if any(u[:1] not in ("U", "W") for u in users):
            return {"ok": False, "error": "user_not_found"}
        if users[0] in self.disabled_users:
            return {"ok": False, "error": "user_disabled"}
        if len(users) > 1:
            return {"ok": False, "error": "method_not_supported_for_channel_type"}  # mpims: not served here
        existed = "D" + users[0][1:] in self.state.channels
        dm = self._dm_channel(users[0])
        answer = {"ok": True, "channel": {"id": dm}}
        if existed:
            answer.update(no_op=True, already_open=True)
        return answer

    def _api_auth_test(self, args):
        return {"ok": True, "url": "http://localhost/", "team": "Local", "user": "steward",
                "team_id": self.state.team_id, "user_id": self.state.bot_user_id, "bot_id": "BSTEWARD"}

    def _api_apps_connections_open(self, args):
        if self.socket_mode_url is None:
            return {"ok": False, "error": "internal_error"}
        return {"ok": True, "url": self.socket_mode_url}

    def _api_chat_postMessage(self, args):
        channel = self._dm_channel(args.get("channel"))
        error = self._channel_error(channel)
        if error:
            return {"ok": False, "error": error}
        if not args.get("text") and not args.get("blocks"):
            return {"ok": False, "error": "no_text"}
        blocks = _as_json(args.get("blocks"))
        if blocks is not None and len(blocks) > 50:
            return {"ok": False, "error": "invalid_blocks"}
        thread_ts = args.get("thread_ts")
        if thread_ts and not any(m["ts"] == thread_ts for m in self.state.messages[channel]):
            return {"ok": False, "error": "thread_not_found"}
        message = {"type": "message", "channel": channel, "ts": self._next_ts(), "text": args.get("text", ""),
                   "blocks": blocks or [], "user": self.state.bot_user_id, "edited": False}
        if thread_ts:
            message["thread_ts"] = thread_ts
        metadata = _as_json(args.get("metadata"))
        if metadata:
            message["metadata"] = metadata
        self.state.messages[channel].append(message)
        return {"ok": True, "channel": channel, "ts": message["ts"], "message": message}

    def _api_chat_update(self, args):
        channel, ts = args.get("channel"), args.get("ts")
        error = self._channel_error(channel)
        if error:
            return {"ok": False, "error": error}
        message = next((m for m in self.state.messages[channel] if m["ts"] == ts), None)
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        message["text"] = args.get("text", message["text"])
        if "blocks" in args:
            message["blocks"] = _as_json(args["blocks"]) or []
        message["edited"] = True
        return {"ok": True, "channel": channel, "ts": ts, "text": message["text"]}

    def _api_chat_postEphemeral(self, args):
        error = self._channel_error(args.get("channel"), membership=True)
        if error:
            return {"ok": False, "error": error}
        self.state.ephemerals.append({"channel": args.get("channel"), "user": args.get("user"),
                                      "text": args.get("text"), "blocks": _as_json(args.get("blocks")) or []})
        return {"ok": True, "message_ts": self._next_ts()}

    def _api_conversations_join(self, args):
        info = self.state.channels.get(args.get("channel", ""))
        if info is None:
            return {"ok": False, "error": "channel_not_found"}
        if info["is_private"]:
            return {"ok": False, "error": "method_not_supported_for_channel_type"}
        info["is_member"] = True
        return {"ok": True, "channel": {"id": info["id"], "name": info["name"]}}

    def _api_conversations_info(self, args):
        info = self.state.channels.get(args.get("channel", ""))
        if info is None:
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "channel": dict(info)}

    def _api_conversations_history(self, args):
        channel = args.get("channel")
        error = self._channel_error(channel, membership=True)
        if error:
            return {"ok": False, "error": error}
        if missing := self._history_scope_missing(channel):
            return missing
        top = [m for m in self.state.messages[channel] if "thread_ts" not in m or m["thread_ts"] == m["ts"]]
        return _page(list(reversed(top)), args, max_limit=self._history_max())  # newest first, as Slack returns history

    def _api_conversations_replies(self, args):
        channel, ts = args.get("channel"), args.get("ts")
        error = self._channel_error(channel, membership=True)
        if error:
            return {"ok": False, "error": error}
        if missing := self._history_scope_missing(channel):
            return missing
        thread = [m for m in self.state.messages[channel] if m["ts"] == ts or m.get("thread_ts") == ts]
        if not thread:
            return {"ok": False, "error": "thread_not_found"}
        return _page(thread, args, max_limit=self._history_max())  # oldest first: the parent, then its replies

    def _history_scope_missing(self, channel: str) -> dict | None:
        """Reading history needs the scope of the channel's type: channels:, groups: or im:history."""
        if self.scopes is None:
            return None
        info = self.state.channels[channel]
        needed = ("im:history" if info.get("is_im") else
                  "groups:history" if info.get("is_private") else "channels:history")
        if needed in self.scopes:
            return None
        return {"ok": False, "error": "missing_scope", "needed": needed, "provided": ",".join(sorted(self.scopes))}

    def _history_max(self) -> int:
        return NON_MARKETPLACE_HISTORY["max_limit"] if self.limits.history_limited else MAX_PAGE

    def _api_users_info(self, args):
        user = args.get("user", "")
        return {"ok": True, "user": {"id": user, "name": user.lower(), "tz": "UTC", "real_name": user}}

    def _api_views_open(self, args):
        """Open a modal by exchanging a click's trigger_id, as Slack does: once only (`exchanged_trigger_id`),
        within 3 seconds of the click (`expired_trigger_id`), one Slack issued (`invalid_trigger_id`), and a view
        within Slack's limits (`invalid_arguments` naming the field)."""
        trigger = str(args.get("trigger_id") or "")
        if not trigger:
            return {"ok": False, "error": "invalid_arguments",
                    "response_metadata": {"messages": ["[ERROR] missing required field: trigger_id"]}}
        match = _TRIGGER.match(trigger)
        if match is None:
            return {"ok": False, "error": "invalid_trigger_id"}
        if trigger in self._exchanged:
            return {"ok": False, "error": "exchanged_trigger_id"}
        if (_REAL_NS() - int(match.group(1))) / 1e9 > self.trigger_ttl:
            return {"ok": False, "error": "expired_trigger_id"}
        view = _as_json(args.get("view"))
        problems = view_problems(view)
        if problems:
            return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": problems}}
        self._exchanged.add(trigger)
        record = {"id": f"V{next(self._ids):08d}", "trigger_id": trigger, "view": view, "kind": "modal"}
        self.state.views.append(record)
        return {"ok": True, "view": {"id": record["id"], "team_id": self.state.team_id, **view}}

    def _api_views_update(self, args):
        view = _as_json(args.get("view"))
        problems = view_problems(view)
        if problems:
            return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": problems}}
        record = {"id": args.get("view_id") or f"V{next(self._ids):08d}", "view": view, "kind": "modal"}
        self.state.views.append(record)
        return {"ok": True, "view": {"id": record["id"], **view}}

    def _api_views_publish(self, args):
        view = _as_json(args.get("view")) or {}
        record = {"id": f"V{next(self._ids):08d}", "user_id": args.get("user_id"), "view": view, "kind": "home"}
        self.state.views.append(record)
        return {"ok": True, "view": {"id": record["id"], **view}}

    def _api_files_getUploadURLExternal(self, args):
        file_id = f"F{next(self._ids):08d}"
        self.state.files[file_id] = {"id": file_id, "name": args.get("filename"), "length": args.get("length"),
                                     "content": None}
        return {"ok": True, "upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    def _api_files_completeUploadExternal(self, args):
        if args.get("channel_id"):
            error = self._channel_error(args.get("channel_id"), membership=True)
            if error:
                return {"ok": False, "error": error}
        files = _as_json(args.get("files")) or []
        shared = []
        for item in files:
            record = self.state.files.get(item.get("id"))
            if record is None or record["content"] is None:
                return {"ok": False, "error": "file_not_found"}
            record.update(title=item.get("title"), channel=args.get("channel_id"), thread_ts=args.get("thread_ts"))
            shared.append({"id": record["id"], "title": record["title"]})
            channel = args.get("channel_id")
            if channel in self.state.messages:
                message = {"type": "message", "channel": channel, "ts": self._next_ts(),
                           "text": args.get("initial_comment", ""), "blocks": [], "files": [record["id"]],
                           "user": self.state.bot_user_id, "edited": False}
                if args.get("thread_ts"):
                    message["thread_ts"] = args["thread_ts"]
                self.state.messages[channel].append(message)
        return {"ok": True, "files": shared}

    def _api_files_delete(self, args):
        record = self.state.files.get(args.get("file", ""))
        if record is None:
            return {"ok": False, "error": "file_not_found"}
        del self.state.files[record["id"]]
        for messages in self.state.messages.values():
            messages[:] = [m for m in messages if record["id"] not in m.get("files", [])]
        return {"ok": True}

    def receive_upload(self, file_id: str, content: bytes) -> bool:
        with self.lock:
            record = self.state.files.get(file_id)
            if record is None:
                return False
            record["content"] = content
            return True

    def receive_response(self, response_id: str, body: dict) -> None:
        with self.lock:
            self.calls.append(Call("response_url", body, None))
            self.state.responses.append({"id": response_id, **body})


MAX_PAGE = 999  # conversations.history and .replies cap `limit` here; the default is 100


def _page(messages: list[dict], args: dict, *, max_limit: int = MAX_PAGE) -> dict:
    """One page of messages as Slack pages them: `oldest`/`latest` bounds, `limit`, and an opaque cursor."""
    oldest, latest = float(args.get("oldest") or 0), float(args.get("latest") or "inf")
    inclusive = str(args.get("inclusive", "")).lower() in ("1", "true")
    within = [m for m in messages
              if (oldest <= float(m["ts"]) if inclusive else oldest < float(m["ts"]))
              and (float(m["ts"]) <= latest if inclusive else float(m["ts"]) < latest)]
    try:
        limit = max(1, min(int(args.get("limit") or 100), max_limit))
    except (TypeError, ValueError):
        return {"ok": False, "error": "invalid_limit"}
    cursor = str(args.get("cursor") or "")
    try:
        start = int(base64.urlsafe_b64decode(cursor.encode()).decode().removeprefix("offset:")) if cursor else 0
    except (ValueError, UnicodeDecodeError):
        return {"ok": False, "error": "invalid_cursor"}
    page = within[start:start + limit]
    more = start + limit < len(within)
    return {"ok": True, "messages": page, "has_more": more,
            "response_metadata": {"next_cursor": _cursor(start + limit) if more else ""}}


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _as_json(value):
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return None
    return value


def _handler_for(slack: LocalSlack):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet
            pass

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            path = urlparse(self.path).path
            if path.startswith("/upload/"):
                ok = slack.receive_upload(path.rsplit("/", 1)[1], raw)
                return self._send(200 if ok else 404, {}, b"OK" if ok else b"no such file", "text/plain")
            if path.startswith("/response/"):
                slack.receive_response(path.rsplit("/", 1)[1], json.loads(raw or b"{}"))
                slack._notify()
                return self._send(200, {}, b"ok", "text/plain")
            if not path.startswith("/api/"):
                return self._send(404, {}, b"not found", "text/plain")
            method = path[len("/api/"):]
            content_type = self.headers.get("Content-Type", "")
            if "json" in content_type:
                args = json.loads(raw or b"{}")
            else:
                args = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            auth = self.headers.get("Authorization", "")
            token = auth.removeprefix("Bearer ").strip() or args.pop("token", None)
            status, headers, body = slack.handle(method, args, token)
            slack._notify()
            if status == -1:
                self.close_connection = True
                self.connection.shutdown(2)
                return None
            return self._send(status, headers, json.dumps(body).encode(), "application/json")

        do_GET = do_POST

        def _send(self, status: int, headers: dict, payload: bytes, content_type: str):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

    return Handler
