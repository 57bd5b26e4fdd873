"""Socket Mode: Steward's websocket to Slack, opened at start-up, watched by /healthz, reopened when it drops.

slack_sdk's built-in client (no extra dependency) does the protocol: `apps.connections.open` for a URL,
the websocket, acknowledgements by `envelope_id`, and a new connection when Slack sends `disconnect` or the
socket dies. This module adds what an operator needs around it: a refused app token stops start-up with one
line, and `status()` says whether Slack's `hello` arrived on the live connection and, if not, why.
"""

from __future__ import annotations

import logging
import threading

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.errors import SlackApiError

from bot.runtime import TOKEN_REFUSED, SlackRefused

log = logging.getLogger("steward.socket_mode")


class SocketModeLink:
    """One Socket Mode connection for `app`; `open()` once, `status()` for /healthz, `close()` at the end."""

    def __init__(self, app: App, app_token: str, *, retry_seconds: float = 10.0):
        self.retry_seconds = retry_seconds
        # The client pings every `ping_interval` seconds and, when the socket is gone, reconnects on that beat.
        self._handler = SocketModeHandler(app, app_token, ping_interval=retry_seconds)
        self.client = self._handler.client
        self.client.message_listeners.append(self._on_message)
        self.client.on_error_listeners.append(self._on_error)
        self.client.on_close_listeners.append(self._on_close)
        self._lock = threading.Lock()
        self._changed = threading.Condition()  # notified whenever the link's state may have changed
        self._hello_session: str | None = None
        self._reason = "Socket Mode: not connected yet"
        self._stop = threading.Event()
        self._failures = 0
        self._retrier: threading.Thread | None = None

    def open(self) -> None:
        """Ask Slack for a websocket URL and connect.

        A refused app token raises SlackRefused (start-up stops); anything else (Slack or the websocket
        unreachable) is recorded for /healthz and retried in the background until it connects.
        """
        try:
            self.client.connect()
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else None
            if error in TOKEN_REFUSED:
                raise SlackRefused("SLACK_APP_TOKEN", f"Slack refused the app-level token ({error}); it needs "
                                   "the connections:write scope (Basic Information > App-Level Tokens)") from None
            self._failed(f"apps.connections.open answered {error or exc}")
            self._retry_in_background()
        except Exception as exc:  # Slack's Web API unreachable for the moment: retry, say so in /healthz
            self._failed(f"apps.connections.open failed: {type(exc).__name__}: {_first_line(exc)}")
            self._retry_in_background()
        else:
            if not self.client.is_connected():
                log.warning("Socket Mode: cannot connect yet (%s); retrying every %s s, /healthz answers 503 "
                            "until connected", self._reason, _seconds(self.retry_seconds))

    def wait_connected(self, timeout: float) -> bool:
        """True once Slack's hello arrived on the live connection; False at once when an attempt failed."""
        with self._changed:
            self._changed.wait_for(lambda: self.status()[0] or self._failures, timeout)
        return self.status()[0]

    def wait_for_state(self, connected: bool, timeout: float) -> bool:
        """True once the link is up (or down), however many attempts fail on the way."""
        with self._changed:
            return self._changed.wait_for(lambda: self.status()[0] is connected, timeout)

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def status(self) -> tuple[bool, str | None]:
        """(connected, reason): connected once Slack's hello arrived on the connection in use."""
        with self._lock:
            if self.client.is_connected() and self._hello_session == self.client.session_id():
                return True, None
            if self.client.is_connected():
                return False, "Socket Mode: connected, waiting for Slack's hello"
            return False, self._reason

    def close(self) -> None:
        self._stop.set()
        self._handler.close()
        if self._retrier is not None:
            self._retrier.join(5)

    # -- what the client reports -----------------------------------------------------------------------------
    def _on_message(self, client, message: dict, _raw: str | None) -> None:
        if message.get("type") == "hello":
            with self._lock:
                first = self._hello_session is None
                self._hello_session = client.session_id()
                self._reason = None
            log.info("Socket Mode connected" + ("" if first else " again"))
            self._notify()
        elif message.get("type") == "disconnect":
            log.info("Socket Mode: Slack asked to reconnect (%s)", message.get("reason", "no reason given"))

    def _on_error(self, error: Exception) -> None:
        self._failed(f"websocket: {type(error).__name__}: {_first_line(error)}")

    def _on_close(self, code: int, reason: str | None = None) -> None:
        self._notify()

    def _failed(self, reason: str) -> None:
        with self._lock:
            self._failures += 1
            self._reason = f"Socket Mode is not connected ({reason}); retrying every {_seconds(self.retry_seconds)} s"
        log.warning("%s", self._reason)
        self._notify()

    def _retry_in_background(self) -> None:
        """Before the first URL was issued the client has no reconnect loop of its own: run one until it has."""

        def retry():
            while not self._stop.wait(self.retry_seconds):
                try:
                    self.client.connect()
                    return  # the client's own monitor reconnects from now on
                except SlackApiError as exc:
                    error = exc.response.get("error") if exc.response is not None else None
                    hint = "; check SLACK_APP_TOKEN" if error in TOKEN_REFUSED else ""
                    self._failed(f"apps.connections.open answered {error or exc}{hint}")
                except Exception as exc:
                    self._failed(f"apps.connections.open failed: {type(exc).__name__}: {_first_line(exc)}")

        self._retrier = threading.Thread(target=retry, name="socket-mode-retry", daemon=True)
        self._retrier.start()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else "no detail"


def _seconds(value: float) -> str:
    return f"{value:g}"
