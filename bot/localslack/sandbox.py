"""The sandbox: the real bot against the local Slack, with a web page to type commands, click and move time.

It plays Slack's side as Slack would: an ephemeral answer sits where it was asked, a restart brings the
channels and the clock back, and it keeps its data in a database of its own. It refuses any database that
holds a workspace other than its own (a production database), before reading or writing anything else.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import logging
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from sqlalchemy import Column, MetaData, String, Table, Text, column, create_engine, delete, inspect, select, table
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from bot import clock
from bot.config import Settings, load_settings
from bot.localslack.requests import SlackSender
from bot.localslack.webapi import LocalSlack
from bot.runtime import Runtime, build_runtime
from bot.server import make_http_server, make_wsgi_app

log = logging.getLogger(__name__)

PAGE = Path(__file__).with_name("page.html")
SECRET = "sandbox-signing-secret-0123456789"
TEAM = "T0LOCAL"
CHANNEL = "C0OPS"
AUDIT_CHANNEL = "C0AUDIT"
SANDBOX_DATABASE = "sqlite:///steward-sandbox.db"  # in the directory it is started from; never DATABASE_URL
SAMPLE_KEY = "invoice-triage"


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


# -- the sandbox's own database ----------------------------------------------------------------------
class NotTheSandboxDatabase(Exception):
    """The database holds another workspace's data: the sandbox will not touch it."""


def _read_only_engine(database_url: str):
    """An engine that can only read: SQLite opened with mode=ro (no WAL switch, no file created)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        path = url.database
        if not path or path == ":memory:" or not Path(path).exists():
            return None  # a new file: nothing in it yet
        uri = Path(path).resolve().as_uri() + "?mode=ro"
        return create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True), poolclass=NullPool)
    return create_engine(url, poolclass=NullPool)


def foreign_workspaces(database_url: str) -> list[str]:
    """Every workspace (team id) other than the sandbox's that any table of this database holds rows for."""
    engine = _read_only_engine(database_url)
    if engine is None:
        return []
    found: set[str] = set()
    try:
        with engine.connect() as connection:
            inspector = inspect(connection)
            for name in inspector.get_table_names():
                if not any(c["name"] == "team_id" for c in inspector.get_columns(name)):
                    continue
                team = column("team_id")
                rows = connection.execute(select(team).select_from(table(name)).where(team != TEAM).distinct()
                                          .limit(10))
                found.update(str(row[0]) for row in rows)
            connection.rollback()
    finally:
        engine.dispose()
    return sorted(found)


def check_own_database(database_url: str) -> None:
    """Refuse (NotTheSandboxDatabase) a database that holds any workspace but the sandbox's own."""
    others = foreign_workspaces(database_url)
    if others:
        shown = ", ".join(others[:5]) + (" and more" if len(others) > 5 else "")
        where = make_url(database_url).render_as_string(hide_password=True)
        raise NotTheSandboxDatabase(
            f"{where} holds workspace {shown}, not the sandbox's own ({TEAM}): it is a real Steward database, "
            "and the sandbox never touches one. Run the sandbox on a file of its own (`steward sandbox "
            "--database sqlite:///steward-sandbox.db`, the default, in another directory); to serve this "
            "database, set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET and run `steward run`.")


_STATE = MetaData()
SANDBOX_STATE = Table("sandbox_state", _STATE, Column("name", String(32), primary_key=True),
                      Column("value", Text, nullable=False))


# -- Slack's side ------------------------------------------------------------------------------------
class SandboxSlack(LocalSlack):
    """The local Slack, as the page shows it: time stamps from the sandbox's clock, ephemerals placed in time.

    An answer given while a person's action is in flight (the command's reply, a response_url answer, a
    chat.postEphemeral) takes the time stamp reserved when the action started: it appears where it was
    asked, above whatever the action then posted in the channel.
    """

    def __init__(self):
        super().__init__()
        self.contexts: dict[str, dict] = {}  # response_url id -> where and by whom it was asked
        self.action: dict | None = None  # the person's action in flight: user, channel, ts
        self._last_us = 0

    def _next_ts(self) -> str:
        with self.lock:
            self._last_us = max(int(clock.now().timestamp() * 1_000_000), self._last_us + 1)
            us = self._last_us
        return f"{us // 1_000_000}.{us % 1_000_000:06d}"

    def _answer_ts(self, user: str | None, channel: str | None) -> str:
        action = self.action
        if action and action["user"] == user and channel in (None, action["channel"]):
            return action["ts"]
        return self._next_ts()

    def _api_chat_postEphemeral(self, args):
        answer = super()._api_chat_postEphemeral(args)
        if answer.get("ok") and self.state.ephemerals:
            entry = self.state.ephemerals[-1]
            entry["ts"] = self._answer_ts(entry.get("user"), entry.get("channel"))
            if args.get("thread_ts"):
                entry["thread_ts"] = args["thread_ts"]
        return answer

    def receive_response(self, response_id: str, body: dict) -> None:
        super().receive_response(response_id, body)
        with self.lock:
            where = self.contexts.get(response_id)
            if where is None:
                return
            if body.get("response_type") == "in_channel":
                message = {"type": "message", "channel": where["channel"], "ts": self._next_ts(),
                           "text": body.get("text", ""), "blocks": body.get("blocks") or [],
                           "user": self.state.bot_user_id, "edited": False}
                if where.get("thread_ts"):
                    message["thread_ts"] = where["thread_ts"]
                self.state.messages.setdefault(where["channel"], []).append(message)
                return
            if (body.get("replace_original") or body.get("delete_original")) and where.get("message_ts"):
                original = next((m for m in self.state.messages.get(where["channel"], [])
                                 if m["ts"] == where["message_ts"]), None)
                if original is not None and body.get("replace_original"):
                    original.update(text=body.get("text", ""), blocks=body.get("blocks") or [], edited=True)
                    return
            self.state.ephemerals.append({
                "channel": where["channel"], "user": where["user"], "text": body.get("text", ""),
                "blocks": body.get("blocks") or [], "ts": self._answer_ts(where["user"], where["channel"]),
                **({"thread_ts": where["thread_ts"]} if where.get("thread_ts") else {})})

    # -- what survives a restart ---------------------------------------------------------------------
    def snapshot(self) -> dict:
        with self.lock:
            homes = {}
            for view in self.state.views:
                if view["kind"] == "home":
                    homes[view.get("user_id")] = view
            files = {fid: {**record, "content": base64.b64encode(record["content"]).decode()
                           if record.get("content") else None} for fid, record in self.state.files.items()}
            return json.loads(json.dumps({
                "channels": self.state.channels, "messages": self.state.messages, "homes": list(homes.values()),
                "files": files, "ephemerals": self.state.ephemerals, "last_us": self._last_us,
                "ids": max([_serial(v["id"]) for v in self.state.views] + [_serial(f) for f in self.state.files]
                           + [0]),
            }, default=str))

    def restore(self, saved: dict) -> None:
        import itertools

        with self.lock:
            self.state.channels.update(saved.get("channels", {}))
            for channel_id, messages in saved.get("messages", {}).items():
                self.state.messages[channel_id] = messages
            self.state.views = list(saved.get("homes", []))
            self.state.files = {fid: {**record, "content": base64.b64decode(record["content"])
                                      if record.get("content") else None}
                                for fid, record in saved.get("files", {}).items()}
            self.state.ephemerals = list(saved.get("ephemerals", []))
            self._last_us = max(self._last_us, int(saved.get("last_us", 0)))
            self._ids = itertools.count(int(saved.get("ids", 0)) + 1)

    def start_over(self) -> None:
        import itertools

        with self.lock:
            for channel_id in list(self.state.channels):
                if channel_id[0] == "D":
                    del self.state.channels[channel_id]
                    self.state.messages.pop(channel_id, None)
            for channel_id in self.state.messages:
                self.state.messages[channel_id] = []
            self.state.views.clear()
            self.state.files.clear()
            self.state.ephemerals.clear()
            self.state.responses.clear()
            self.contexts.clear()
            self.calls.clear()
            self.faults.clear()
            self._ids = itertools.count(1)


def _serial(identifier: str) -> int:
    digits = "".join(ch for ch in str(identifier)[1:] if ch.isdigit())
    return int(digits) if digits else 0


class _Sender(SlackSender):
    """Signs requests as Slack does, and tells the local Slack where each response_url was handed out."""

    def __init__(self, slack: SandboxSlack, **kwargs):
        super().__init__(**kwargs)
        self.slack = slack
        self.asking: dict | None = None

    def _response_url(self) -> str:
        url = super()._response_url()
        if self.asking is not None:
            with self.slack.lock:
                self.slack.contexts[url.rsplit("/", 1)[1]] = dict(self.asking)
        return url


# -- the sandbox -------------------------------------------------------------------------------------
class Sandbox:
    """Everything in one process: local Slack, the bot (its HTTP server, due-work thread and sweep), the page."""

    def __init__(self, *, database_url: str = SANDBOX_DATABASE, port: int = 8080, host: str = "127.0.0.1",
                 sample: bool = True):
        check_own_database(database_url)  # before anything is migrated, read or written
        self.sample = sample
        self.slack = SandboxSlack().start()
        self.slack.add_channel(CHANNEL, "ai-ops")
        self.slack.add_channel(AUDIT_CHANNEL, "steward-audit")
        self.settings: Settings = load_settings(
            _env_file=None, slack_bot_token=self.slack.token, slack_signing_secret=SECRET,
            slack_api_url=self.slack.api_url, database_url=database_url, steward_admins=ADMIN,
            steward_audit_channel=AUDIT_CHANNEL, steward_port=0, slack_app_token=None)
        self.runtime: Runtime = build_runtime(self.settings)
        pacer = getattr(self.runtime.sender, "pacer", None)
        if pacer is not None and hasattr(pacer, "channel_burst"):
            # Slack tolerates short bursts (the local Slack allows 30 posts a channel): the sample's nine
            # posts show at once, and a sweep's prompts still go at Slack's pace of about one a second.
            pacer.channel_burst = max(pacer.channel_burst, 12)
        _STATE.create_all(self.runtime.engine, checkfirst=True)
        self._restore()
        self.bot = make_http_server(make_wsgi_app(self.runtime.app, self.runtime.services), host="127.0.0.1",
                                    port=0, threads=4)
        threading.Thread(target=self._serve_bot, daemon=True).start()
        self.sender = _Sender(self.slack, bot_url=f"http://127.0.0.1:{self.bot.effective_port}/slack/events",
                              signing_secret=SECRET, team_id=TEAM, response_base=self.slack.base_url)
        self.lock = threading.RLock()
        self.modals: dict[str, dict] = {}  # user -> the modal open for them
        self.page = ThreadingHTTPServer((host, port), _page_handler(self))
        self.page.daemon_threads = True
        self._page_thread: threading.Thread | None = None
        self._saved_signature: tuple | None = None
        self._stopping = threading.Event()
        self._saver = threading.Thread(target=self._save_loop, name="sandbox-save", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.page.server_address[:2]
        return f"http://{host}:{port}/"

    def _serve_bot(self) -> None:
        with contextlib.suppress(OSError, SystemExit):
            self.bot.run()

    def serve_forever(self) -> None:
        self._start_background()
        self.page.serve_forever(poll_interval=0.2)

    def start(self) -> Sandbox:
        self._start_background()
        self._page_thread = threading.Thread(target=self.page.serve_forever, kwargs={"poll_interval": 0.05},
                                             daemon=True)
        self._page_thread.start()
        return self

    def _start_background(self) -> None:
        self.runtime.start_background()
        if not self._saver.is_alive():
            self._saver.start()

    def stop(self) -> None:
        if self._page_thread is not None:  # serve_forever() in the caller's thread has returned already
            self.page.shutdown()
        self.page.server_close()
        self.bot.close()
        self._stopping.set()
        self.runtime.stop()
        self.save()
        self.slack.stop()
        _set_clock_offset(timedelta(0))  # the process's clock is real again (tests run several sandboxes)

    # -- what survives a restart -----------------------------------------------------------------
    def _restore(self) -> None:
        with self.runtime.engine.connect() as connection:
            rows = dict(connection.execute(select(SANDBOX_STATE.c.name, SANDBOX_STATE.c.value)).all())
        saved = json.loads(rows["state"]) if "state" in rows else {}
        _set_clock_offset(timedelta(seconds=int(saved.get("clock_offset_seconds", 0))))
        if "slack" in saved:
            self.slack.restore(saved["slack"])

    def _signature(self) -> tuple:
        with self.slack.lock:
            return (len(self.slack.calls), len(self.slack.state.ephemerals), len(self.slack.state.responses),
                    _clock_offset().total_seconds())

    def save(self) -> None:
        """Write the local Slack's channels, messages, files and ephemerals, and the clock, to the database."""
        signature = self._signature()
        value = json.dumps({"clock_offset_seconds": int(_clock_offset().total_seconds()),
                            "slack": self.slack.snapshot()})
        with self.runtime.engine.begin() as connection:
            connection.execute(delete(SANDBOX_STATE).where(SANDBOX_STATE.c.name == "state"))
            connection.execute(SANDBOX_STATE.insert().values(name="state", value=value))
        self._saved_signature = signature

    def _save_loop(self) -> None:
        while not self._stopping.wait(1.0):
            try:
                if self._signature() != self._saved_signature:
                    self.save()
            except Exception:  # a busy database: the next round saves
                log.debug("sandbox state not saved this round", exc_info=True)

    # -- what the page can do --------------------------------------------------------------------
    @contextlib.contextmanager
    def _acting(self, user: str, channel: str, **where):
        """A person's action: answers given meanwhile sit at the moment it started."""
        ts = self.slack._next_ts()
        self.slack.action = {"user": user, "channel": channel, "ts": ts}
        self.sender.asking = {"user": user, "channel": channel, **where}
        try:
            yield ts
        finally:
            self.sender.asking = None

    def _done(self) -> None:
        self.slack.action = None

    def command(self, user: str, channel: str, text: str) -> dict:
        with self._acting(user, channel) as ts:
            response = self.sender.command(text, user=user, channel=channel, team_id=TEAM)
        reply = response.json() if response.body else {}
        if reply.get("text") or reply.get("blocks"):
            with self.slack.lock:
                self.slack.state.ephemerals.append({"channel": channel, "user": user, "text": reply.get("text", ""),
                                                    "blocks": reply.get("blocks", []), "ts": ts})
        self._settle()
        return reply

    def click(self, user: str, channel: str, message_ts: str, action: dict) -> dict:
        message = self.slack.message(channel, message_ts) or {"ts": message_ts}
        before = len(self.slack.state.views)
        with self._acting(user, channel, message_ts=message_ts, thread_ts=message.get("thread_ts")):
            response = self.sender.click(action_id=action["action_id"], value=action.get("value", ""), user=user,
                                         channel=channel, message=message, block_id=action.get("block_id", "actions"))
        with self.slack.lock:
            for view in self.slack.state.views[before:]:
                if view["kind"] == "modal":
                    self.modals[user] = {**view, "channel": channel}
        self._settle()
        return {"status": response.status}

    def submit(self, user: str, values: dict) -> dict:
        modal = self.modals.get(user)
        if modal is None:
            return {"error": "no form is open"}
        view = modal["view"]
        with self._acting(user, modal.get("channel", CHANNEL)):
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

    def sample_loaded(self) -> tuple[bool, set[str]]:
        """Whether the sample initiative exists, and who of its people holds no role on it yet."""
        from storage import repository
        from storage.db import read_scope

        with read_scope(self.runtime.engine) as session:
            initiative = repository.get_initiative(session=session, team_id=TEAM, key=SAMPLE_KEY)
            holders = set(repository.active_roles(session=session, initiative_id=initiative.id).values()) \
                if initiative else set()
        return initiative is not None, {p.id for p in PEOPLE[1:]} - holders

    def load_sample(self, user: str = ADMIN, channel: str = CHANNEL, *, announce: bool = True) -> list[str]:
        """Create the sample initiative and give each person their role; what is there already is left alone.

        Answers once, as an ephemeral to the person who asked: loaded, already loaded, or what failed.
        """
        exists, roleless = self.sample_loaded()
        if exists and not roleless:
            answer = [f"The sample initiative {SAMPLE_KEY} is already loaded, with everyone in their role. "
                      "Press Reset to start over."]
        else:
            replies = []
            if not exists:
                replies.append(self._quiet_command(ADMIN, CHANNEL, f"initiative create {SAMPLE_KEY} Invoice triage "
                                                   "assistant stage=operations since=2026-01-05 tz=Europe/Berlin"))
            for person in PEOPLE[1:]:
                if person.id in roleless:
                    replies.append(self._quiet_command(ADMIN, CHANNEL,
                                                       f"role assign {SAMPLE_KEY} {person.role} <@{person.id}>"))
            exists, roleless = self.sample_loaded()
            if exists and not roleless:
                answer = [f"Loaded the sample initiative {SAMPLE_KEY}: Invoice triage assistant in #ai-ops, "
                          f"with {len(PEOPLE) - 1} people in their roles."]
            else:
                answer = ["The sample did not load completely:", *[r for r in replies if r]]
        if announce:
            with self._acting(user, channel) as ts, self.slack.lock:
                self.slack.state.ephemerals.append({"channel": channel, "user": user, "text": "\n".join(answer),
                                                    "blocks": [], "ts": ts})
            self._done()
        return answer

    def _quiet_command(self, user: str, channel: str, text: str) -> str:
        """A command whose reply is not shown (the sample's one answer sums them up)."""
        response = self.sender.command(text, user=user, channel=channel, team_id=TEAM)
        self._settle()
        return (response.json() if response.body else {}).get("text", "")

    def reset(self) -> None:
        """Start over: an empty database, empty channels, the real time, and the sample if it was asked for."""
        runtime = self.runtime
        running = runtime.worker is not None
        if runtime.scheduler is not None:
            runtime.scheduler.shutdown(wait=True)
            runtime.scheduler = None
        if runtime.worker is not None:
            runtime.worker.stop()
            runtime.worker = None
        _wipe(runtime.engine)
        pacer = getattr(runtime.sender, "pacer", None)
        if pacer is not None:  # its reservations are in the moved clock's time: forget them
            runtime.sender.pacer = dataclasses.replace(pacer) if dataclasses.is_dataclass(pacer) else type(pacer)()
        self.slack.start_over()
        self.modals.clear()
        _set_clock_offset(timedelta(0))
        self.save()
        if running:
            runtime.start_background()
        if self.sample:
            self.load_sample(announce=False)

    def _settle(self) -> None:
        # What the flows queued goes out now, so the page shows it at once; the due-work thread is woken
        # for anything deferred meanwhile.
        try:
            self.runtime.sender.drain(clock.now())
        finally:
            self._done()
        self.runtime.services.notify_outbox()

    def state(self, user: str) -> dict:
        with self.slack.lock:
            messages = [dict(m) for channel in self.slack.state.messages.values() for m in channel]
            ephemerals = [dict(e) for e in self.slack.state.ephemerals if e["user"] == user and e.get("ts")][-20:]
            homes = [v for v in self.slack.state.views if v["kind"] == "home" and v.get("user_id") == user]
            files = {f["id"]: {"title": f.get("title"), "url": f"/file/{f['id']}"}
                     for f in self.slack.state.files.values()}
        return {
            "clock": clock.now().isoformat(timespec="minutes"),
            "people": [{"id": p.id, "name": p.name, "role": p.role} for p in PEOPLE],
            # Direct messages from Steward show only to the person they were sent to.
            "channels": [{"id": c["id"], "name": "Steward (direct message)" if c.get("is_im") else c["name"],
                          "im": bool(c.get("is_im"))} for c in self.slack.state.channels.values()
                         if not c.get("is_im") or c.get("user") == user],
            "messages": sorted(messages, key=lambda m: float(m["ts"])),
            "ephemerals": sorted(ephemerals, key=lambda e: float(e["ts"])),
            "modal": (self.modals.get(user) or {}).get("view"),
            "home": homes[-1]["view"] if homes else None,
            "files": files,
        }


def _clock_offset() -> timedelta:
    """How far the sandbox has moved the clock on (whole seconds: the page moves it by minutes)."""
    return timedelta(seconds=round((clock.now() - datetime.now(UTC)).total_seconds()))


def _set_clock_offset(offset: timedelta) -> None:
    clock.advance(offset - _clock_offset())


def _wipe(engine) -> None:
    """Delete every row of every table but the schema's version, children first."""
    tables = MetaData()
    tables.reflect(engine)
    with engine.begin() as connection:
        for name_table in reversed(tables.sorted_tables):
            if name_table.name != "alembic_version":
                connection.execute(name_table.delete())


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
                    return self._json({"replies": sandbox.load_sample(user, data.get("channel", CHANNEL))})
                if path == "/reset":
                    sandbox.reset()
                    return self._json({"clock": clock.now().isoformat()})
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
