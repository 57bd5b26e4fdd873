"""A local websocket server speaking Slack's Socket Mode protocol, for tests.

What Slack does on its side of the socket, as its Socket Mode documentation describes: a `hello` when a
connection opens; requests sent as envelopes (`{"envelope_id", "type", "payload", "accepts_response_payload"}`,
type `slash_commands`, `interactive` or `events_api`); the app acknowledges each by `envelope_id`, with a
response `payload` where one is accepted; a `disconnect` message asks the app to open a new connection
(through `apps.connections.open` again) before the old one goes.

`SocketModeSender` is `SlackSender` with the HTTP post swapped for an envelope over this socket, so tests type
commands, click buttons and submit forms exactly as they do over HTTP.
"""

from __future__ import annotations

import itertools
import json
import queue
import threading
import time
from urllib.parse import parse_qs

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

from bot.localslack.requests import BotResponse, SlackSender
from bot.localslack.webapi import LocalSlack


class SocketModeServer:
    """Serves ws://127.0.0.1:<port>/link; `attach(slack)` makes the local Slack's apps.connections.open hand it out."""

    def __init__(self):
        self._server = serve(self._serve_connection, "127.0.0.1", 0, compression=None, ping_interval=None)
        self.port = self._server.socket.getsockname()[1]
        self.url = f"ws://127.0.0.1:{self.port}/link"
        self._lock = threading.Condition()  # notified when a connection opens or closes
        self._live: list[ServerConnection] = []
        self._acks: dict[str, queue.Queue] = {}
        self._ids = itertools.count(1)
        self.opened = 0  # connections opened so far
        self.received: list[dict] = []  # every message the app sent
        self._thread = threading.Thread(target=self._server.serve_forever, name="socket-mode-server", daemon=True)

    def start(self) -> SocketModeServer:
        self._thread.start()
        return self

    def attach(self, slack: LocalSlack) -> SocketModeServer:
        slack.socket_mode_url = f"{self.url}?ticket=local-{time.time_ns()}&app_id=ASTEWARD"
        return self

    def stop(self) -> None:
        self._server.shutdown()
        with self._lock:
            live = list(self._live)
        for connection in live:
            connection.close()
        self._thread.join(5)

    # -- Slack's side of a connection ------------------------------------------------------------------------
    def _serve_connection(self, connection: ServerConnection) -> None:
        with self._lock:
            self._live.append(connection)
            self.opened += 1
            self._lock.notify_all()
            count = len(self._live)
        try:
            connection.send(json.dumps({
                "type": "hello", "num_connections": count,
                "debug_info": {"host": "applink-local", "build_number": 1, "approximate_connection_time": 18060},
                "connection_info": {"app_id": "ASTEWARD"}}))
            for raw in connection:
                message = json.loads(raw)
                with self._lock:
                    self.received.append(message)
                    waiting = self._acks.get(message.get("envelope_id"))
                if waiting is not None:
                    waiting.put(message)
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                if connection in self._live:
                    self._live.remove(connection)
                self._lock.notify_all()

    def live_connections(self) -> int:
        with self._lock:
            return len(self._live)

    def wait_for_connections(self, opened: int, timeout: float = 10) -> bool:
        """True once `opened` connections were opened in all and one is live."""
        with self._lock:
            return self._lock.wait_for(lambda: self.opened >= opened and bool(self._live), timeout)

    def send_envelope(self, kind: str, payload: dict, *, accepts_response_payload: bool,
                      timeout: float = 10, retry_attempt: int | None = None) -> dict:
        """Send one request over the newest live connection; return the app's acknowledgement."""
        envelope_id = f"env-{next(self._ids)}-{time.time_ns()}"
        envelope = {"envelope_id": envelope_id, "type": kind, "payload": payload,
                    "accepts_response_payload": accepts_response_payload}
        if kind == "events_api":
            envelope["retry_attempt"] = retry_attempt or 0
            envelope["retry_reason"] = "timeout" if retry_attempt else ""
        waiting: queue.Queue = queue.Queue()
        with self._lock:
            if not self._live:
                raise ConnectionError("no Socket Mode connection is open")
            connection = self._live[-1]
            self._acks[envelope_id] = waiting
        try:
            connection.send(json.dumps(envelope))
            return waiting.get(timeout=timeout)
        finally:
            with self._lock:
                self._acks.pop(envelope_id, None)

    def disconnect(self, reason: str = "refresh_requested") -> None:
        """Ask every live connection to reconnect, as Slack does before it recycles a connection."""
        with self._lock:
            live = list(self._live)
        for connection in live:
            connection.send(json.dumps({"type": "disconnect", "reason": reason,
                                        "debug_info": {"host": "applink-local"}}))


class SocketModeSender(SlackSender):
    """A SlackSender whose requests travel as Socket Mode envelopes; the acknowledgement is the response."""

    def __init__(self, server: SocketModeServer, *, team_id: str = "T0LOCAL", response_base: str | None = None):
        super().__init__(bot_url="ws://socket-mode", signing_secret="unused: Socket Mode is not signed",
                         team_id=team_id, response_base=response_base)
        self.server = server

    def post(self, body: str, *, content_type: str, timestamp: int | None = None, secret: str | None = None,
             extra_headers: dict[str, str] | None = None) -> BotResponse:
        if "json" in content_type:
            retry = (extra_headers or {}).get("X-Slack-Retry-Num")
            ack = self.server.send_envelope("events_api", json.loads(body), accepts_response_payload=False,
                                            retry_attempt=int(retry) if retry else None)
        else:
            form = {key: values[0] for key, values in parse_qs(body, keep_blank_values=True).items()}
            if "payload" in form:
                payload = json.loads(form["payload"])
                ack = self.server.send_envelope(
                    "interactive", payload,
                    accepts_response_payload=payload.get("type") in ("view_submission", "block_suggestion"))
            else:
                ack = self.server.send_envelope("slash_commands", form, accepts_response_payload=True)
        return BotResponse(200, json.dumps(ack.get("payload") or {}).encode(), {"Content-Type": "application/json"})
