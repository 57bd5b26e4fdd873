"""The `steward` command as an operator runs it: a real process, its output and exit status."""

import json
import os
import signal
import subprocess
import sys

import yaml

from bot.localslack.requests import SlackSender
from tests.harness import ADMIN, SIGNING_SECRET, reply_text


def run_cli(*args, env=None, cwd=None, **kwargs):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "STEWARD_", "DATABASE_"))}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "bot", *args], env=full_env, cwd=cwd, capture_output=True,
                          text=True, timeout=60, **kwargs)


def test_run_without_credentials_says_what_it_needs_and_exits_non_zero(tmp_path):
    result = run_cli("run", "--no-sandbox", cwd=tmp_path, env={"DATABASE_URL": f"sqlite:///{tmp_path}/s.db"})
    assert result.returncode == 2
    assert "missing SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET" in result.stderr
    assert "steward manifest" in result.stderr
    assert "Traceback" not in result.stderr
    assert (tmp_path / "s.db").exists()  # the database was prepared all the same


def test_run_without_credentials_opens_the_sandbox_with_the_sample(tmp_path):
    import urllib.request

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "STEWARD_", "DATABASE_"))}
    # No DATABASE_URL: one set would mean a deployment (no fallback); the sandbox keeps its own file in cwd.
    process = subprocess.Popen([sys.executable, "-m", "bot", "run", "--sandbox-port", "0"], env=env, cwd=tmp_path,
                               stderr=subprocess.PIPE, text=True)
    try:
        said = []
        for line in process.stderr:  # blocks until the sandbox says where its page is
            said.append(line)
            if "open http://" in line:
                url = line.split("open ", 1)[1].split()[0]
                break
        assert any("missing SLACK_BOT_TOKEN" in line for line in said)
        state = json.loads(urllib.request.urlopen(url + "state").read())
        assert any("Invoice triage assistant" in m["text"] for m in state["messages"])
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    assert process.returncode == 0


def test_bad_configuration_is_one_line_without_traceback(tmp_path):
    result = run_cli("run", cwd=tmp_path, env={"STEWARD_TIMEZONE": "Nowhere/City"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "steward: configuration error: STEWARD_TIMEZONE: unknown time zone (got 'Nowhere/City'); "
        "expected an IANA time zone such as Europe/Berlin or UTC"]


def test_unreachable_database_is_one_line(tmp_path):
    result = run_cli("db", "upgrade", cwd=tmp_path, env={"DATABASE_URL": f"sqlite:///{tmp_path}/no/dir/s.db"})
    assert result.returncode == 2
    assert result.stderr.startswith("steward: DATABASE_URL: cannot open the database")
    assert "Traceback" not in result.stderr


def test_manifest_for_socket_mode_and_for_a_request_url():
    socket_mode = yaml.safe_load(run_cli("manifest").stdout)
    [command] = socket_mode["features"]["slash_commands"]
    assert command["command"] == "/steward" and command["should_escape"] is True
    assert socket_mode["settings"]["socket_mode_enabled"] is True
    assert {"commands", "chat:write"} <= set(socket_mode["oauth_config"]["scopes"]["bot"])

    http = yaml.safe_load(run_cli("manifest", "--url", "https://steward.example.com/").stdout)
    url = "https://steward.example.com/slack/events"
    assert http["settings"]["socket_mode_enabled"] is False
    assert http["settings"]["interactivity"]["request_url"] == url
    assert http["settings"]["event_subscriptions"]["request_url"] == url
    assert http["features"]["slash_commands"][0]["url"] == url

    bad = run_cli("manifest", "--url", "not a url")
    assert bad.returncode == 2 and "--url must be a public https URL" in bad.stderr


def test_manifest_takes_the_full_events_url_too():
    for given in ("https://steward.example.com/slack/events", "https://steward.example.com/slack/events/",
                  "https://steward.example.com"):
        http = yaml.safe_load(run_cli("manifest", "--url", given).stdout)
        assert http["settings"]["interactivity"]["request_url"] == "https://steward.example.com/slack/events"
        assert http["features"]["slash_commands"][0]["url"] == "https://steward.example.com/slack/events"
    other = run_cli("manifest", "--url", "https://steward.example.com/hooks")
    assert other.returncode == 2 and "ending in /slack/events" in other.stderr


def _slack_methods_called() -> set[str]:
    """Every Web API method the bot's code calls, read from the call sites (client.x_y(...) and "x.y" names)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "bot"
    known_prefixes = ("auth", "apps", "chat", "conversations", "files", "views", "users", "reactions", "pins",
                      "usergroups", "team", "im", "bots", "bookmarks", "dnd", "emoji", "reminders", "search")
    found = set()
    for path in root.rglob("*.py"):
        if "localslack" in path.parts:
            continue
        text = path.read_text()
        for name in re.findall(r"client\.([a-z]+_[A-Za-z_]+)\(", text):
            prefix, _, rest = name.partition("_")
            if prefix in known_prefixes and not name.endswith("_v2"):
                found.add(_dotted(prefix, rest))
        found.update(m for m in re.findall(r'"((?:chat|conversations|files|views|users|apps)\.[A-Za-z.]+)"', text)
                     if m != "files.upload")  # the outbox's name for a chart upload, not a method
    return found


def _dotted(prefix: str, rest: str) -> str:
    # conversations_history -> conversations.history; files_getUploadURLExternal -> files.getUploadURLExternal
    return f"{prefix}.{rest.replace('_', '.')}"


def test_the_manifest_asks_exactly_the_scopes_the_calls_and_events_need():
    import re
    from pathlib import Path

    from bot.manifest import BOT_EVENTS, BOT_SCOPES, METHOD_SCOPES, build_manifest

    called = _slack_methods_called()
    assert {"chat.postMessage", "conversations.history", "files.completeUploadExternal"} <= called
    assert called <= set(METHOD_SCOPES), f"methods without a scope entry: {called - set(METHOD_SCOPES)}"
    needed = {"commands", "chat:write.public"}
    needed.update(scope for method in called for scope in METHOD_SCOPES[method])
    needed.update(scope for scopes in BOT_EVENTS.values() for scope in scopes)
    manifest = build_manifest()
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == needed == set(BOT_SCOPES)
    assert "users:read" not in needed and "im:write" in needed  # direct pages (conversations.open)
    # Every event with a listener is subscribed, and nothing else.
    events_py = (Path(__file__).resolve().parent.parent / "bot" / "listeners" / "events.py").read_text()
    listened = set(re.findall(r'app\.event\("([a-z_]+)"\)', events_py))
    if "message" in listened:  # one `message` listener: Slack subscribes per kind of channel (issue 15, D)
        listened = listened - {"message"} | {"message.channels", "message.groups"}
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) == listened == set(BOT_EVENTS)
    # The printed manifest says why each scope is there.
    printed = run_cli("manifest").stdout
    for scope in BOT_SCOPES:
        assert re.search(rf"- {re.escape(scope)}  # \S", printed), scope
    assert yaml.safe_load(printed) == manifest


def test_a_wrong_bot_token_stops_start_up_in_one_line(tmp_path, slack, database_url):
    env = {"SLACK_BOT_TOKEN": "xoxb-revoked", "SLACK_SIGNING_SECRET": SIGNING_SECRET,
           "SLACK_API_URL": slack.api_url, "DATABASE_URL": database_url, "STEWARD_PORT": "0"}
    result = run_cli("run", "--host", "127.0.0.1", cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert [line for line in result.stderr.splitlines() if line.startswith("steward:")] == [
        "steward: SLACK_BOT_TOKEN: Slack refused the bot token (invalid_auth)"]
    assert "Traceback" not in result.stderr


def test_an_unreachable_slack_api_stops_start_up_in_one_line(tmp_path, database_url):
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead = closed.getsockname()[1]
    env = {"SLACK_BOT_TOKEN": "xoxb-anything", "SLACK_SIGNING_SECRET": SIGNING_SECRET,
           "SLACK_API_URL": f"http://127.0.0.1:{dead}/api/", "DATABASE_URL": database_url, "STEWARD_PORT": "0"}
    result = run_cli("run", cwd=tmp_path, env=env)
    assert result.returncode == 2
    [line] = [line for line in result.stderr.splitlines() if line.startswith("steward:")]
    assert line.startswith(f"steward: SLACK_API_URL: cannot reach Slack at http://127.0.0.1:{dead}/api/")
    assert "Traceback" not in result.stderr


def test_run_serves_slack_over_http_and_stops_cleanly_on_sigterm(tmp_path, slack, database_url):
    env = {"SLACK_BOT_TOKEN": slack.token, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack.api_url,
           "DATABASE_URL": database_url, "STEWARD_PORT": "0", "STEWARD_ADMINS": ADMIN}
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "STEWARD_", "DATABASE_"))}
    full_env.update(env)
    process = subprocess.Popen([sys.executable, "-m", "bot", "run", "--host", "127.0.0.1"], env=full_env,
                               cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    try:
        port = None
        for line in process.stderr:  # blocks until the server says where it listens
            if "listening on http://" in line:
                port = int(line.rsplit(":", 1)[1].split("/")[0])
                break
        assert port, "steward run never said it was listening"
        sender = SlackSender(bot_url=f"http://127.0.0.1:{port}/slack/events", signing_secret=SIGNING_SECRET)
        response = sender.command("initiative create triage Invoice triage", user=ADMIN, channel="C0OPS")
        assert "Created *Invoice triage*" in reply_text(response)
        forged = sender.post("command=/steward&text=help", content_type="application/x-www-form-urlencoded",
                             secret="wrong")
        assert forged.status == 401
    finally:
        process.send_signal(signal.SIGTERM)
        _, rest = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "Steward stopped" in rest
    # The background outbox worker posted the notice before the process stopped.
    assert any("started tracking" in m["text"] or "Steward now tracks" in m["text"] for m in slack.posts("C0OPS"))


def _env(slack, database_url, **extra):
    return {"SLACK_BOT_TOKEN": slack.token, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack.api_url,
            "DATABASE_URL": database_url, "STEWARD_ADMINS": ADMIN, **extra}


def test_sweep_at_successive_dates_posts_each_prompt_once(steward, slack, tmp_path):
    from freezegun import freeze_time

    with freeze_time("2026-01-05 08:00:00"):
        steward.command("initiative create churn Churn stage=operations since=2026-01-05 tz=Europe/Berlin",
                        channel="C0OPS")
        steward.command("role assign churn owner <@UOWNER0001>")
    steward.drain()
    env = _env(slack, steward.settings.database_url)
    outputs = [steward_cli_sweep(env, tmp_path, at) for at in
               ("2026-02-05T10:30:00+01:00", "2026-02-05T11:00:00+01:00", "2026-02-09T10:30:00+01:00")]
    assert "1 prompts, 0 reminders" in outputs[0]
    assert "0 prompts, 0 reminders" in outputs[1]
    assert "0 prompts, 1 reminders" in outputs[2]
    prompts = [m for m in slack.posts("C0OPS") if "Monthly performance review" in m["text"]]
    assert len(prompts) == 1
    assert len([m for m in slack.thread("C0OPS", prompts[0]["ts"]) if "files" not in m]) == 1

    bad = run_cli("sweep", "--at", "next tuesday", env=env, cwd=tmp_path)
    assert bad.returncode == 2 and "is not an ISO 8601 time" in bad.stderr


def steward_cli_sweep(env, cwd, at):
    result = run_cli("sweep", "--at", at, env=env, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_schedule_prints_the_coming_prompts_in_local_time(steward, slack, tmp_path):
    from freezegun import freeze_time

    with freeze_time("2026-01-05 08:00:00"):
        steward.command("initiative create churn Churn stage=operations since=2026-01-05 tz=Europe/Berlin",
                        channel="C0OPS")
    env = _env(slack, steward.settings.database_url)
    result = run_cli("schedule", "churn", "--days", "95", "--at", "2026-01-05T09:00:00Z", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Churn (churn), stage operations, next 95 days:"
    assert lines[1:] == [
        "  Thu 05 Feb 2026 10:00 Europe/Berlin  monthly-performance-review  (Monthly performance review)",
        "  Thu 05 Mar 2026 10:00 Europe/Berlin  monthly-performance-review  (Monthly performance review)",
        "  Mon 06 Apr 2026 10:00 Europe/Berlin  monthly-performance-review  (Monthly performance review)",
        "  Mon 06 Apr 2026 10:00 Europe/Berlin  quarterly-retraining-assessment  (Quarterly retraining assessment)",
    ]
    missing = run_cli("schedule", "nosuch", env=env, cwd=tmp_path)
    assert missing.returncode == 1 and "no initiative 'nosuch'" in missing.stderr


def test_sweep_exits_1_naming_a_broken_initiative_after_doing_the_rest(steward, slack, tmp_path):
    from freezegun import freeze_time
    from sqlalchemy import text

    with freeze_time("2026-01-05 08:00:00"):
        for key in ("churn", "fraud"):
            steward.command(f"initiative create {key} {key.title()} stage=operations since=2026-01-05 "
                            "tz=Europe/Berlin", channel="C0OPS")
    with steward.engine.begin() as connection:
        connection.execute(text("UPDATE initiatives SET timezone = 'Not/AZone' WHERE key = 'fraud'"))
    result = run_cli("sweep", "--at", "2026-02-05T10:30:00+01:00", env=_env(slack, steward.settings.database_url),
                     cwd=tmp_path)
    assert result.returncode == 1
    assert "1 prompts" in result.stdout and "failures in reviews (1)" in result.stdout
    assert "steward: sweep: reviews: initiative fraud" in result.stderr and "Not/AZone" in result.stderr
    assert [m for m in slack.posts("C0OPS") if "Monthly performance review · Churn" in str(m["blocks"])]


def test_audit_verify_trusts_only_the_witnesses_steward_posted(steward, slack, tmp_path):
    slack.add_channel("C0AUDIT", "audit")
    steward.command("initiative create churn Churn", channel="C0OPS")
    services = steward.runtime.services
    services.settings = services.settings.model_copy(update={"steward_audit_channel": "C0AUDIT"})
    steward.runtime.sweep(steward_now())
    [witness] = slack.posts("C0AUDIT")
    assert witness["metadata"]["event_payload"]["key"].startswith("witness:")
    # Someone pastes a lookalike witness naming a head that never was, in words and in metadata.
    forged_key = witness["metadata"]["event_payload"]["key"][:-64] + "f" * 64
    slack.state.messages["C0AUDIT"].append({
        "type": "message", "ts": "9999999999.000001", "user": "UMALLORY01", "text": witness["text"],
        "blocks": witness["blocks"],
        "metadata": {"event_type": "steward_outbox", "event_payload": {"key": forged_key}}})
    env = {"DATABASE_URL": steward.settings.database_url, "SLACK_BOT_TOKEN": slack.token,
           "SLACK_API_URL": slack.api_url, "STEWARD_AUDIT_CHANNEL": "C0AUDIT"}
    result = run_cli("audit", "verify", "--slack", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "chain intact, 1 witnessed heads match" in result.stdout


def steward_now():
    from datetime import UTC, datetime

    return datetime.now(UTC)


def test_a_sweep_from_cron_sends_what_slacks_pace_held_back_before_it_exits(steward, slack, tmp_path):
    from datetime import UTC, datetime

    from sqlmodel import Session

    from storage import outbox

    # Five notices for one channel: Slack takes three at once, then one a second.
    with Session(steward.engine) as session:
        for n in range(5):
            outbox.enqueue(session=session, team_id="T0LOCAL", key=f"cron:{n}", channel_id="C0OPS",
                           text=f"notice {n}", blocks="[]", purpose="notice", at=datetime.now(UTC))
        session.commit()
    result = run_cli("sweep", env=_env(slack, steward.settings.database_url), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    # Not three now and the rest a cron run later: all five, in order, before the sweep exits.
    assert [m["text"] for m in slack.posts("C0OPS")] == [f"notice {n}" for n in range(5)]
    assert "Slack: 3 sent" in result.stdout and "then, at Slack's pace: 2 sent" in result.stdout
    assert slack.limits.limited == []
