"""The sandbox keeps to its own database, and plays Slack's side as Slack does (issue 12.11, issue 13.1)."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import MetaData, create_engine, select
from sqlalchemy.pool import NullPool

from bot import clock
from bot.localslack.sandbox import ADMIN, CHANNEL, NotTheSandboxDatabase, Sandbox, foreign_workspaces
from bot.localslack.webapi import LocalSlack
from storage import repository
from storage.db import read_scope
from tests.harness import Steward, make_settings

PROD_TEAM = "T0PROD"


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "STEWARD_", "DATABASE_"))}
    env.update(extra)
    return env


def _dump(database_url: str) -> dict:
    """Every row of every table, read without writing."""
    engine = create_engine(database_url, poolclass=NullPool)
    tables = MetaData()
    tables.reflect(engine)
    with engine.connect() as connection:
        dump = {t.name: sorted(map(repr, connection.execute(select(t)).all())) for t in tables.sorted_tables}
    engine.dispose()
    return dump


def _files(database_url: str) -> dict:
    if not database_url.startswith("sqlite"):
        return {}
    path = Path(database_url.removeprefix("sqlite:///"))
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in path.parent.glob(path.name + "*")}


@pytest.fixture
def production(database_url):
    """A real workspace's database: an initiative, roles, an incident, and posts Slack has not taken yet."""
    slack = LocalSlack().start()
    steward = Steward(slack=slack, settings=make_settings(database_url=database_url, slack=slack))
    steward.command("initiative create billing Billing assistant stage=operations", team_id=PROD_TEAM)
    steward.command("role assign billing mlops <@UMLOPS0001>", team_id=PROD_TEAM)
    steward.drain()
    slack.fail("chat.postMessage", status=500, times=None)  # Slack is down: the page stays in the outbox
    steward.command("incident declare billing sev1 Invoices routed to the wrong queue", user="UMLOPS0001",
                    team_id=PROD_TEAM)
    steward.drain()
    steward.stop()
    slack.stop()
    return database_url


def test_the_sandbox_refuses_a_database_holding_another_workspace_and_changes_nothing(production, tmp_path):
    before, files_before = _dump(production), _files(production)
    assert any("billing" in row for row in before["initiatives"])
    assert foreign_workspaces(production) == [PROD_TEAM]

    with pytest.raises(NotTheSandboxDatabase, match=PROD_TEAM):
        Sandbox(database_url=production, port=0)
    result = subprocess.run([sys.executable, "-m", "bot", "sandbox", "--port", "0", "--database", production],
                            env=_env(), cwd=tmp_path, capture_output=True, text=True, timeout=60)

    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("steward: the sandbox refuses this database:")
    assert PROD_TEAM in line and "steward sandbox" in line and "steward run" in line
    assert _dump(production) == before
    assert _files(production) == files_before
    assert not (tmp_path / "steward-sandbox.db").exists()


@pytest.mark.parametrize("deployment", [
    pytest.param({"SLACK_BOT_TOKEN": "xoxb-real"}, id="a token without its signing secret"),
    pytest.param({"SLACK_SIGNING_SECRET": ""}, id="a secret that failed to mount (set, empty)"),
    pytest.param({}, id="only DATABASE_URL"),
])
def test_a_deployment_missing_a_credential_exits_2_and_never_falls_back(production, tmp_path, deployment):
    before = _dump(production)
    result = subprocess.run([sys.executable, "-m", "bot", "run", "--sandbox-port", "0"],
                            env=_env(DATABASE_URL=production, **deployment), cwd=tmp_path, capture_output=True,
                            text=True, timeout=60)

    assert result.returncode == 2
    assert "not starting the sandbox" in result.stderr and "DATABASE_URL" in result.stderr
    assert "missing SLACK_" in result.stderr
    assert "Traceback" not in result.stderr and "open http://" not in result.stderr
    assert _dump(production) == before  # the outbox still holds the page; no sample; no sandbox channel
    assert not (tmp_path / "steward-sandbox.db").exists()


def test_without_any_deployment_variable_run_falls_back_to_a_sandbox_on_its_own_file(tmp_path):
    process = subprocess.Popen([sys.executable, "-m", "bot", "run", "--sandbox-port", "0"], env=_env(),
                               cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    try:
        said = []
        for line in process.stderr:
            said.append(line)
            if "open http://" in line:
                break
        assert "steward-sandbox.db" in said[-1]
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    assert (tmp_path / "steward-sandbox.db").exists()
    assert not (tmp_path / "steward.db").exists()  # the default production file was never opened


# -- playing Slack's side ------------------------------------------------------------------------------
@pytest.fixture
def sandbox(database_url):
    # Not started: no due-work thread or timer, so each action's messages reach Slack in its own drain, in order.
    sandbox = Sandbox(database_url=database_url, port=0)
    sandbox.runtime.sender.pacer.enabled = False  # these tests look at order and content, not Slack's pace
    yield sandbox
    sandbox.stop()


def _timeline(state: dict, channel: str = CHANNEL) -> list[tuple[str, str]]:
    """What the page shows at the top level of a channel, in order: ("post"|"ephemeral", text)."""
    items = [(float(m["ts"]), "post", m["text"]) for m in state["messages"]
             if m["channel"] == channel and m.get("thread_ts") in (None, m["ts"])]
    items += [(float(e["ts"]), "ephemeral", e["text"]) for e in state["ephemerals"]
              if e["channel"] == channel and not e.get("thread_ts")]
    return [(kind, text) for _, kind, text in sorted(items)]


def test_an_ephemeral_answer_stays_where_it_was_asked(sandbox):
    sandbox.load_sample()
    sandbox.advance(60 * 24)  # the sandbox's clock ahead of the real one, as after any +1 day
    sandbox.command(ADMIN, CHANNEL, "frobnicate")
    sandbox.command(ADMIN, CHANNEL, "role unassign invoice-triage pilot")

    timeline = _timeline(sandbox.state(ADMIN))
    asked = next(i for i, (kind, text) in enumerate(timeline) if kind == "ephemeral" and "frobnicate" in text)
    posted = [i for i, (kind, text) in enumerate(timeline) if kind == "post" and text.startswith("pilot lead")][-1]
    answered = next(i for i, (kind, text) in enumerate(timeline) if kind == "ephemeral" and "vacant" in text)
    assert asked < answered < posted  # the later post sits below both answers, as in Slack
    assert timeline[-1][0] == "post"


def test_a_click_answered_through_response_url_shows_to_the_clicker_where_they_clicked(sandbox):
    sandbox.load_sample()
    sandbox.command("UPM0000001", CHANNEL, "incident declare invoice-triage sev2 Drift alarm")
    root = next(m for m in sandbox.slack.posts(CHANNEL) if "INC1" in m["text"])
    button = next(e for b in root["blocks"] if b["type"] == "actions" for e in b["elements"]
                  if "Acknowledge" in e["text"]["text"])
    sandbox.click("UREP000001", CHANNEL, root["ts"], {"action_id": button["action_id"], "value": button["value"],
                                                       "block_id": "actions"})
    sandbox.command(ADMIN, CHANNEL, "role unassign invoice-triage pilot")

    uma = _timeline(sandbox.state("UREP000001"))
    refusal = next(i for i, (kind, _text) in enumerate(uma) if kind == "ephemeral")
    assert refusal > next(i for i, (_kind, text) in enumerate(uma) if "INC1" in text)
    assert refusal < [i for i, (kind, text) in enumerate(uma) if kind == "post" and text.startswith("pilot lead")][-1]
    assert not [e for e in sandbox.state(ADMIN)["ephemerals"] if e["ts"] == sandbox.state("UREP000001")
                ["ephemerals"][0]["ts"]]  # only the clicker sees it


def test_loading_the_sample_twice_answers_once_that_it_is_loaded(sandbox):
    first = sandbox.load_sample()
    events = _count(sandbox, "audit_events")
    second = sandbox.load_sample()

    assert len(first) == 1 and "Loaded the sample" in first[0]
    assert len(second) == 1 and "already loaded" in second[0]
    answers = [e["text"] for e in sandbox.state(ADMIN)["ephemerals"]]
    assert answers[-1] == second[0]
    assert not any("already" in text and "exists" in text for text in answers)
    with read_scope(sandbox.runtime.engine) as session:
        assert len(repository.list_initiatives(session=session, team_id="T0LOCAL")) == 1
    assert _count(sandbox, "audit_events") == events  # nothing was attempted, so no refusal was audited


def _count(sandbox, name) -> int:
    tables = MetaData()
    tables.reflect(sandbox.runtime.engine, only=[name])
    with sandbox.runtime.engine.connect() as connection:
        return len(connection.execute(select(tables.tables[name])).all())


def test_a_restart_brings_back_the_channels_the_ephemerals_and_the_clock(database_url):
    sandbox = Sandbox(database_url=database_url, port=0)
    try:
        sandbox.runtime.sender.pacer.enabled = False
        sandbox.load_sample()
        sandbox.command("UPM0000001", CHANNEL, "incident declare invoice-triage sev1 Invoices routed wrong")
        sandbox.advance(60 * 24)
        sandbox._settle()
        before = sandbox.state("UPM0000001")
        offset = clock.now() - datetime.now(UTC)
    finally:
        sandbox.stop()
    assert abs((clock.now() - datetime.now(UTC)).total_seconds()) < 1  # stop() gives the process its clock back

    again = Sandbox(database_url=database_url, port=0)
    try:
        after = again.state("UPM0000001")
        assert after["messages"] == before["messages"]
        assert after["ephemerals"] == before["ephemerals"]
        assert abs(((clock.now() - datetime.now(UTC)) - offset).total_seconds()) < 1
        assert any("INC1" in m["text"] for m in after["messages"])
        again.runtime.sender.pacer.enabled = False
        again.command(ADMIN, CHANNEL, "role unassign invoice-triage pilot")
        newest = again.slack.posts(CHANNEL)[-1]
        assert newest["text"].startswith("pilot lead")
        assert float(newest["ts"]) > max(float(m["ts"]) for m in before["messages"])
    finally:
        again.stop()


def test_reset_starts_over(sandbox):
    sandbox.load_sample()
    sandbox.command("UPM0000001", CHANNEL, "incident declare invoice-triage sev1 Invoices routed wrong")
    sandbox.advance(60 * 24 * 30)

    sandbox.reset()
    sandbox._settle()

    state = sandbox.state(ADMIN)
    assert abs((clock.now() - datetime.now(UTC)).total_seconds()) < 1
    assert not any("INC1" in m["text"] for m in state["messages"])
    assert any("Invoice triage assistant" in m["text"] for m in state["messages"])  # the sample again
    assert state["ephemerals"] == []
    assert _count(sandbox, "incidents") == 0
    with read_scope(sandbox.runtime.engine) as session:
        [initiative] = repository.list_initiatives(session=session, team_id="T0LOCAL")
        assert len(repository.active_roles(session=session, initiative_id=initiative.id)) == 8
