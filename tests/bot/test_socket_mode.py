"""Socket Mode end to end: `steward run` against a local Socket Mode server and the local Slack.

The server (tests/socketmode_server.py) speaks Slack's side of the protocol: hello, envelopes acknowledged by
`envelope_id`, `disconnect` and reconnection through `apps.connections.open`.
"""

import json
import os
import signal
import subprocess
import sys

import pytest

from bot.runtime import build_runtime
from bot.server import make_http_server, make_wsgi_app
from bot.socket_mode import SocketModeLink
from storage.db import make_engine
from tests.harness import ADMIN, http_get, make_settings, reply_text
from tests.socketmode_server import SocketModeSender, SocketModeServer

PM = "UPM0000001"


@pytest.fixture
def socket_server(slack):
    server = SocketModeServer().start().attach(slack)
    yield server
    server.stop()


get = http_get


def start_steward(slack, database_url, tmp_path, **env):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "STEWARD_", "DATABASE_"))}
    full_env.update({"SLACK_BOT_TOKEN": slack.token, "SLACK_APP_TOKEN": slack.app_token,
                     "SLACK_API_URL": slack.api_url, "DATABASE_URL": database_url, "STEWARD_PORT": "0",
                     "STEWARD_ADMINS": ADMIN, **env})
    return subprocess.Popen([sys.executable, "-m", "bot", "run", "--host", "127.0.0.1"], env=full_env, cwd=tmp_path,
                            stderr=subprocess.PIPE, text=True)


def wait_for_port(process) -> tuple[int, list[str]]:
    said = []
    for line in process.stderr:  # blocks until steward says where /healthz is
        said.append(line)
        if "/healthz and the KPI API on http://" in line:
            return int(line.rsplit(":", 1)[1].split()[0].strip()), said
    raise AssertionError("steward run never said where /healthz is:\n" + "".join(said))


def stop(process) -> str:
    process.send_signal(signal.SIGTERM)
    _, rest = process.communicate(timeout=30)
    return rest


def test_steward_run_serves_commands_buttons_and_forms_over_socket_mode(slack, socket_server, database_url, tmp_path):
    process = start_steward(slack, database_url, tmp_path)
    try:
        port, said = wait_for_port(process)
        assert "running in Socket Mode" in said[-1] and "(connected)" in said[-1]
        assert get(port, "/healthz") == (200, {"status": "ok"})
        # Slack's requests arrive over the socket only: the HTTP port takes none (nothing would check them).
        assert get(port, "/slack/events")[0] == 404
        assert [c.args for c in slack.calls_to("apps.connections.open")] == [{}]
        assert slack.calls_to("apps.connections.open")[0].token == slack.app_token

        sender = SocketModeSender(socket_server, response_base=slack.base_url)
        created = sender.command("initiative create churn Churn predictor stage=operations since=2026-01-05",
                                 user=ADMIN, channel="C0OPS")
        assert "Created *Churn predictor*" in reply_text(created)
        sender.command(f"role assign churn pm <@{PM}>", user=ADMIN, channel="C0OPS")
        declared = sender.command("incident declare churn sev2 Drift alarm", user=PM, channel="C0OPS")
        assert "Declared *INC1*" in reply_text(declared)
        def incident_root():
            return next((m for m in slack.posts("C0OPS") if "INC1" in m["text"] and "thread_ts" not in m), None)

        root = slack.wait_for(incident_root) and incident_root()
        assert root, "the incident's root message never reached the channel"

        # A button: Resolve opens the form (views.open with the click's trigger_id); the ack has no payload.
        clicked = sender.click(action_id="incident_resolve", value="INC1", user=PM, channel="C0OPS", message=root,
                               block_id="incident_actions")
        assert clicked.status == 200
        [opened] = slack.calls_to("views.open")
        view = opened.args["view"]
        view = json.loads(view) if isinstance(view, str) else view
        assert view["callback_id"] == "incident_resolve"

        # A form submission: errors travel back in the acknowledgement's payload, as Slack expects.
        empty = sender.submit_view(callback_id="incident_resolve", user=PM, private_metadata=view["private_metadata"],
                                   values={"resolution": {"text": {"type": "plain_text_input", "value": " "}}})
        assert empty.json()["response_action"] == "errors"
        done = sender.submit_view(callback_id="incident_resolve", user=PM, private_metadata=view["private_metadata"],
                                  values={"resolution": {"text": {"type": "plain_text_input",
                                                                  "value": "Retrained on May data"}}})
        assert done.json() == {}
        assert slack.wait_for(lambda: any("Retrained on May data" in json.dumps(m)
                                          for m in slack.thread("C0OPS", root["ts"])))
        acked = {m["envelope_id"] for m in socket_server.received}
        assert len(acked) == 6  # every envelope acknowledged by its id

        # Slack recycles the connection: the app opens a new one through apps.connections.open and carries on.
        socket_server.disconnect()
        assert socket_server.wait_for_connections(2)
        assert len(slack.calls_to("apps.connections.open")) == 2
        # Slack's hello comes first on the new connection, so once a command is answered there it is connected.
        shown = sender.command("initiative show churn", user=ADMIN, channel="C0OPS")
        assert "Churn predictor" in reply_text(shown)
        assert get(port, "/healthz")[0] == 200
    finally:
        rest = stop(process)
    assert process.returncode == 0, rest
    assert "Traceback" not in rest


def test_a_refused_app_token_stops_start_up_in_one_line(slack, socket_server, database_url, tmp_path):
    process = start_steward(slack, database_url, tmp_path, SLACK_APP_TOKEN="xapp-revoked")
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2
    refused = [line for line in err.splitlines() if line.startswith("steward:")]
    assert refused == ["steward: SLACK_APP_TOKEN: Slack refused the app-level token (invalid_auth); it needs the "
                       "connections:write scope (Basic Information > App-Level Tokens)"]
    assert "Traceback" not in err


def test_an_unreachable_websocket_keeps_healthz_503_with_the_reason(slack, database_url, tmp_path):
    import socket

    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        dead = closed.getsockname()[1]
    slack.socket_mode_url = f"ws://127.0.0.1:{dead}/link"
    process = start_steward(slack, database_url, tmp_path)
    try:
        port, said = wait_for_port(process)
        assert "Socket Mode is not connected" in said[-1]
        status, body = get(port, "/healthz")
        assert status == 503 and body["status"] == "down"
        assert "Socket Mode is not connected" in body["reason"] and "retrying" in body["reason"]
    finally:
        rest = stop(process)
    assert process.returncode == 0, rest
    assert "Traceback" not in rest


def test_the_link_recovers_when_the_websocket_comes_back(slack, database_url):
    """In process, with a short retry: 503 while Slack's websocket is unreachable, 200 once it answers."""
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead = closed.getsockname()[1]
    slack.socket_mode_url = f"ws://127.0.0.1:{dead}/link"
    settings = make_settings(database_url=database_url, slack=slack, slack_app_token=slack.app_token)
    runtime = build_runtime(settings, engine=make_engine(database_url), migrate=False)
    link = SocketModeLink(runtime.app, slack.app_token, retry_seconds=0.3)
    server = make_http_server(make_wsgi_app(runtime.app, runtime.services, socket_link=link), host="127.0.0.1",
                              port=0, asyncore_loop_timeout=0.05)
    import threading

    serving = threading.Thread(target=server.run, daemon=True)
    serving.start()
    socket_server = SocketModeServer().start()
    try:
        link.open()
        status, body = get(server.effective_port, "/healthz")
        assert status == 503 and "Socket Mode is not connected" in body["reason"]
        socket_server.attach(slack)  # Slack's websocket answers again
        assert link.wait_for_state(True, 10)
        assert get(server.effective_port, "/healthz") == (200, {"status": "ok"})
        reply = SocketModeSender(socket_server).command("help", user=ADMIN, channel="C0OPS")
        assert "/steward" in reply_text(reply)
        socket_server.stop()  # the socket dies: /healthz says so until it is back
        assert link.wait_for_state(False, 10)
        assert get(server.effective_port, "/healthz")[0] == 503
    finally:
        link.close()
        server.close()
        serving.join(5)
        runtime.stop()
        socket_server.stop()
