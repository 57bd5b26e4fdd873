"""The `/steward` slash command: run it and answer in the ack."""

from __future__ import annotations

import logging
import time

from slack_bolt import Ack, App

from bot import logging_setup, metrics
from bot.domain import commands as grammar
from bot.listeners.people import actor_from
from bot.services import dispatch, runner
from bot.services.context import Services

log = logging.getLogger("steward.commands")


def steward_command(ack: Ack, body: dict, services: Services) -> None:
    """Run the command; the answer (or refusal, or apology) is shown only to the person who typed it."""
    started = time.perf_counter()
    actor = actor_from(body)
    text = body.get("text", "")
    name = command_name(text)
    with logging_setup.context(request_id=logging_setup.new_id(), workspace=actor.team_id, command=name):
        outcome = runner.run(services, actor, lambda: dispatch.execute(services, actor, text))
        ack(text=outcome.message.text, blocks=outcome.message.blocks, response_type="ephemeral")
        seconds = time.perf_counter() - started
        metrics.COMMAND_LATENCY.labels(command=name).observe(seconds)
        result = "ok" if outcome.ok else "refused" if outcome.refusal is not None else "failed"
        log.info("/steward %s: %s in %.1f ms", name, result, seconds * 1000,
                 extra={"outcome": result, "duration_ms": round(seconds * 1000, 2)})


def command_name(text: str) -> str:
    """The command's words from the command table (`incident ack`), `other` for anything else: a bounded label."""
    try:
        return grammar.match(text, dispatch.COMMANDS)[0].name
    except Exception:
        return "other"


def register(app: App) -> None:
    app.command("/steward")(steward_command)
