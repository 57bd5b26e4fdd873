"""A running Steward for tests: real Bolt app behind waitress, talking to the local Slack server."""

from __future__ import annotations

import html
import threading
from dataclasses import dataclass, field

from bot.config import Settings, load_settings
from bot.localslack.requests import BotResponse, SlackSender
from bot.localslack.webapi import LocalSlack
from bot.runtime import Runtime, build_runtime
from bot.server import make_http_server, make_wsgi_app
from storage.db import make_engine

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
ADMIN = "UADMIN0001"
TEAM = "T0LOCAL"


def make_settings(*, database_url: str, slack: LocalSlack, **overrides) -> Settings:
    values = dict(
        _env_file=None, slack_bot_token=slack.token, slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.api_url, database_url=database_url, steward_admins=ADMIN,
        steward_timezone="UTC", slack_app_token=None, steward_config=None,
        # Ordinary tests drain at one frozen moment and expect every post: a pace as generous as the local
        # Slack's default burst. Tests of pacing (tests/bot/test_pacing.py) configure a strict one.
        steward_slack_post_burst=30,
    )
    values.update(overrides)
    return load_settings(**values)


@dataclass
class Steward:
    """One running bot; `command()` types a slash command, `drain()` lets the outbox reach Slack."""

    slack: LocalSlack
    settings: Settings
    runtime: Runtime = field(init=False)
    sender: SlackSender = field(init=False)

    def __post_init__(self):
        self._start()

    def _start(self) -> None:
        self._stopping = False
        self.runtime = build_runtime(self.settings, engine=make_engine(self.settings.database_url), migrate=False)
        self.server = make_http_server(make_wsgi_app(self.runtime.app, self.runtime.services),
                                       host="127.0.0.1", port=0, threads=4,
                                       asyncore_loop_timeout=0.05)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self.sender = SlackSender(bot_url=f"{self.url}/slack/events", signing_secret=SIGNING_SECRET, team_id=TEAM,
                                  response_base=self.slack.base_url)

    def _serve(self) -> None:
        while not self._stopping:
            try:
                self.server.run()
                return
            except OSError:  # close() from the test thread pulls the sockets from under select()
                return
            except IndexError:
                # freezegun is not thread-safe: a freeze ending while this loop reads the patched
                # time.time() raises here. The server is fine; keep serving.
                continue

    def stop(self) -> None:
        self._stopping = True
        self.server.close()
        self._thread.join(5)
        self.runtime.stop()

    def restart(self) -> None:
        """Stop the process's parts and build them again on the same database."""
        self.stop()
        self._start()

    @property
    def engine(self):
        return self.runtime.engine

    def command(self, text: str, *, user: str = ADMIN, channel: str = "C0GENERAL", **options) -> BotResponse:
        return self.sender.command(text, user=user, channel=channel, **options)

    def drain(self, now=None):
        return self.runtime.sender.drain(now)

    def get(self, path: str) -> tuple[int, dict]:
        return http_get(self.server.effective_port, path)


def reply_text(response: BotResponse) -> str:
    """Everything a person sees in an ephemeral reply: fallback text and every block's text."""
    data = response.json()
    parts = [data.get("text", "")]
    for block in data.get("blocks", []):
        parts.extend(_texts(block))
    return html.unescape("\n".join(parts))


def message_text(message: dict) -> str:
    parts = [message.get("text", "")]
    for block in message.get("blocks", []):
        parts.extend(_texts(block))
    return html.unescape("\n".join(parts))


def _texts(node) -> list[str]:
    if isinstance(node, dict):
        found = []
        if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
            found.append(node["text"])
        for value in node.values():
            if isinstance(value, (dict, list)):
                found.extend(_texts(value))
        return found
    if isinstance(node, list):
        return [text for item in node for text in _texts(item)]
    return []


def http_get(port: int, path: str) -> tuple[int, dict]:
    """GET a JSON page of a server on 127.0.0.1 (/healthz): (status, body)."""
    import http.client
    import json

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        connection.close()


def status_for_declared_length(port: int, path: str, length: int, headers: dict[str, str] | None = None) -> bytes:
    """The first bytes a server on 127.0.0.1 answers to a POST that declares `length` but sends only its headers.

    That is how a server that refuses oversized bodies must be tried: it answers 413 and closes at once,
    without reading the body, so a client still sending the body in full may see the connection reset
    instead of the answer (it depends on timing, which is why a full send is no test).
    """
    import socket

    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {length}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        return connection.recv(4096)
