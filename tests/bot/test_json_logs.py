"""STEWARD_LOG_FORMAT=json: one JSON object per line, with the request or sweep id, workspace, initiative, outcome."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime

import pytest

from bot import logging_setup
from bot.config import load_settings
from bot.errors import ConfigError


@pytest.fixture
def captured():
    """The root logger writing into a buffer in the format asked for; the test's logging restored after."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    buffer = io.StringIO()

    def configure(fmt: str) -> io.StringIO:
        logging_setup.configure(logging.INFO, fmt=fmt, stream=buffer)
        return buffer

    yield configure
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved[0]:
        root.addHandler(handler)
    root.setLevel(saved[1])


def lines(buffer: io.StringIO) -> list[dict]:
    text = buffer.getvalue()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]  # every line is one whole JSON object


def test_a_command_logs_one_json_line_with_request_workspace_initiative_and_outcome(steward, captured):
    buffer = captured("json")
    steward.command("initiative create churn Churn predictor")
    steward.command("initiative show churn")
    steward.command("initiative show nosuch")
    entries = [entry for entry in lines(buffer) if entry["logger"] == "steward.commands"]
    assert [entry["command"] for entry in entries] == ["initiative create", "initiative show", "initiative show"]
    created, shown, refused = entries
    assert created["workspace"] == "T0LOCAL" and created["initiative"] == "churn" and created["outcome"] == "ok"
    assert shown["outcome"] == "ok" and refused["outcome"] == "refused" and refused["initiative"] == "nosuch"
    assert len({entry["request_id"] for entry in entries}) == 3
    assert all(entry["level"] == "INFO" and entry["duration_ms"] >= 0 and entry["time"].endswith("+00:00")
               for entry in entries)


def test_a_sweep_logs_its_id_on_every_line_it_writes(steward, captured):
    buffer = captured("json")
    steward.runtime.sweep(datetime.now(UTC))
    [entry] = [entry for entry in lines(buffer) if entry["message"].startswith("sweep as of")]
    assert entry["sweep_id"] and entry["outcome"] == "ok" and "request_id" not in entry


def test_a_failing_flow_keeps_its_traceback_inside_one_json_line(steward, captured, monkeypatch):
    from bot.services import initiatives

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr(initiatives, "list_all", broken)
    from bot.services import dispatch

    monkeypatch.setattr(dispatch, "COMMANDS", tuple(
        row if row.name != "initiative list" else type(row)(row.name, row.usage, row.parse, broken)
        for row in dispatch.COMMANDS))
    buffer = captured("json")
    steward.command("initiative list")
    entries = lines(buffer)
    [failure] = [entry for entry in entries if "exception" in entry]
    assert "disk on fire" in failure["exception"] and failure["request_id"]
    [answer] = [entry for entry in entries if entry["logger"] == "steward.commands"]
    assert answer["outcome"] == "failed" and answer["request_id"] == failure["request_id"]


def test_the_default_stays_readable_text(steward, captured):
    buffer = captured("text")
    steward.command("help")
    [line] = [line for line in buffer.getvalue().splitlines() if "steward.commands" in line]
    assert " INFO steward.commands: /steward help: ok in " in line and "[request_id=" in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)


def test_an_unknown_log_format_stops_start_up_naming_the_variable(monkeypatch):
    monkeypatch.setenv("STEWARD_LOG_FORMAT", "yaml")
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert str(caught.value).startswith("STEWARD_LOG_FORMAT:") and "text" in str(caught.value)
    with pytest.raises(ValueError, match="text or json"):
        logging_setup.configure(fmt="yaml")
