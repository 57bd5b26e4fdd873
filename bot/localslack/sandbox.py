"""The sandbox: the real bot against the local Slack, with a web page to type commands, click and move time."""

from __future__ import annotations

import contextlib
import json
import threading
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from bot import clock
from bot.config import Settings, load_settings
from bot.localslack.requests import SlackSender
from bot.localslack.webapi import LocalSlack
from bot.runtime import Runtime, build_runtime
from bot.server import make_http_server, make_wsgi_app

PAGE = Path(__file__).with_name("page.html")
SECRET = "sandbox-signing-secret-0123456789"
TEAM = "T0LOCAL"
CHANNEL = "C0OPS"


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    role: str  # what the sample makes them


PEOPLE = (
    Person("UADMIN0001", "Ada (Steward admin)", "admin"),
    Person("UOWNER0001", "Olga", "owner"),
    Person("UPM0000001", "Paul", "pm"),
    Person("UDATA00001", "Dana", "data"),
    Person("UMLOPS0001", "Max", "mlops"),
    Person("USPONSOR01", "Sam", "sponsor"),
    Person("UPILOT0001", "Pia", "pilot"),
    Person("UITOWNER01", "Ivo", "it"),
    Person("UREP000001", "Uma", "user-rep"),
)
ADMIN = PEOPLE[0].id


class Sandbox:
    """Everything in one process: local Slack, the bot (its HTTP server, due-work thread and sweep), the page."""

    def __init__(self, *, database_url: str = "sqlite:///steward.db", port: int = 8080, host: str = "127.0.0.1"):
        self.slack = LocalSlack().start()
        self.slack.add_channel(CHANNEL, "ai-ops")
        self.slack.add_channel("C0AUDIT", "steward-audit")
        self.settings: Settings = load_settings(
            _env_file=None, slack_bot_token=self.slack.token, slack_signing_secret=SECRET,
            slack_api_url=self.slack.api_url, database_url=database_url, steward_admins=ADMIN,
            steward_audit_channel="C0AUDIT", steward_port=0, slack_app_token=None)
        self.runtime: Runtime = build_runtime(self.settings)
        self.bot = make_http_server(make_wsgi_app(self.runtime.app, self.runtime.services), host="127.0.0.1",
                                    port=0, threads=4)
        threading.Thread(target=self._serve_bot, daemon=True).start()
        self.sender = SlackSender(bot_url=f"http://127.0.0.1:{self.bot.effective_port}/slack/events",
                                  signing_secret=SECRET, team_id=TEAM, response_base=self.slack.base_url)
        self.lock = threading.Lock()
        self.modals: dict[str, dict] = {}  # user -> the modal open for them
        self.page = ThreadingHTTPServer((host, port), _page_handler(self))
        self.page.daemon_threads = True

    @property
    def url(self) -> str:
        host, port = self.page.server_address[:2]
        return f"http://{host}:{port}/"

    def _serve_bot(self) -> None:
        with contextlib.suppress(OSError, SystemExit):
            self.bot.run()

    def serve_forever(self) -> None:
        self.runtime.start_background()
        self.page.serve_forever(poll_interval=0.2)

    def start(self) -> Sandbox:
        self.runtime.start_background()
        threading.Thread(target=self.page.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        self.page.shutdown()
        self.page.server_close()
        self.bot.close()
        self.runtime.stop()
        self.slack.stop()

    # -- what the page can do --------------------------------------------------------------------
    def command(self, user: str, channel: str, text: str) -> dict:
        response = self.sender.command(text, user=user, channel=channel, team_id=TEAM)
        reply = response.json() if response.body else {}
        if reply:
            with self.slack.lock:
                self.slack.state.ephemerals.append({"channel": channel, "user": user, "text": reply.get("text", ""),
                                                    "blocks": reply.get("blocks", []), "ts": clock.now().timestamp()})
        self._settle()
        return reply

    def click(self, user: str, channel: str, message_ts: str, action: dict) -> dict:
        message = self.slack.message(channel, message_ts) or {"ts": message_ts}
        before = len(self.slack.state.views)
        response = self.sender.click(action_id=action["action_id"], value=action.get("value", ""), user=user,
                                     channel=channel, message=message, block_id=action.get("block_id", "actions"))
        with self.slack.lock:
            for view in self.slack.state.views[before:]:
                if view["kind"] == "modal":
                    self.modals[user] = view
        self._settle()
        return {"status": response.status}

    def submit(self, user: str, values: dict) -> dict:
        modal = self.modals.get(user)
        if modal is None:
            return {"error": "no form is open"}
        view = modal["view"]
        response = self.sender.submit_view(callback_id=view["callback_id"], values=values, user=user,
                                           private_metadata=view.get("private_metadata", ""), team_id=TEAM)
        answer = response.json() if response.body else {}
        if answer.get("response_action") != "errors":
            self.modals.pop(user, None)
        self._settle()
        return answer

    def close_modal(self, user: str) -> None:
        self.modals.pop(user, None)

    def open_home(self, user: str) -> None:
        self.sender.event({"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home"}, team_id=TEAM)

    def advance(self, minutes: int) -> str:
        """Move time on and run the sweep at the new moment, as `steward sweep --at` would."""
        moment = clock.advance(timedelta(minutes=minutes))
        self.runtime.sweep(moment)
        return moment.isoformat()

    def load_sample(self) -> list[str]:
        replies = [self.command(ADMIN, CHANNEL, "initiative create invoice-triage Invoice triage assistant "
                                                 "stage=operations since=2026-01-05 tz=Europe/Berlin")]
        for person in PEOPLE[1:]:
            replies.append(self.command(ADMIN, CHANNEL, f"role assign invoice-triage {person.role} <@{person.id}>"))
        return [r.get("text", "") for r in replies]

    def _settle(self) -> None:
        # What the flows queued goes out now, so the page shows it at once; the due-work thread is woken
        # for anything deferred meanwhile.
        self.runtime.sender.drain(clock.now())
        self.runtime.services.notify_outbox()

    def state(self, user: str) -> dict:
        with self.slack.lock:
            messages = [dict(m) for channel in self.slack.state.messages.values() for m in channel]
            ephemerals = [e for e in self.slack.state.ephemerals if e["user"] == user][-5:]
            homes = [v for v in self.slack.state.views if v["kind"] == "home" and v.get("user_id") == user]
            files = {f["id"]: {"title": f.get("title"), "url": f"/file/{f['id']}"}
                     for f in self.slack.state.files.values()}
        return {
            "clock": clock.now().isoformat(timespec="minutes"),
            "people": [{"id": p.id, "name": p.name, "role": p.role} for p in PEOPLE],
            "channels": [{"id": c["id"], "name": c["name"]} for c in self.slack.state.channels.values()],
            "messages": sorted(messages, key=lambda m: float(m["ts"])),
            "ephemerals": ephemerals,
            "modal": (self.modals.get(user) or {}).get("view"),
            "home": homes[-1]["view"] if homes else None,
            "files": files,
        }


def _page_handler(sandbox: Sandbox):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            parsed = urlparse(self.path)
            if parsed.path == "/":
                return self._send(200, PAGE.read_bytes(), "text/html; charset=utf-8")
            if parsed.path == "/state":
                user = parse_qs(parsed.query).get("user", [ADMIN])[0]
                return self._json(sandbox.state(user))
            if parsed.path.startswith("/file/"):
                record = sandbox.slack.state.files.get(parsed.path.rsplit("/", 1)[1])
                if record and record.get("content"):
                    return self._send(200, record["content"], "image/png")
            return self._send(404, b"not found", "text/plain")

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            data = json.loads(self.rfile.read(length) or b"{}")
            path = urlparse(self.path).path
            user = data.get("user", ADMIN)
            with sandbox.lock:  # one person's action at a time, like one pair of hands
                if path == "/command":
                    return self._json(sandbox.command(user, data.get("channel", CHANNEL), data.get("text", "")))
                if path == "/click":
                    return self._json(sandbox.click(user, data["channel"], data["ts"], data["action"]))
                if path == "/submit":
                    return self._json(sandbox.submit(user, data.get("values", {})))
                if path == "/close":
                    sandbox.close_modal(user)
                    return self._json({})
                if path == "/home":
                    sandbox.open_home(user)
                    return self._json({})
                if path == "/advance":
                    return self._json({"clock": sandbox.advance(int(data.get("minutes", 0)))})
                if path == "/sample":
                    return self._json({"replies": sandbox.load_sample()})
            return self._send(404, b"not found", "text/plain")

        def _json(self, payload):
            return self._send(200, json.dumps(payload, default=str).encode(), "application/json")

        def _send(self, status, body: bytes, content_type: str):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

    return Handler
