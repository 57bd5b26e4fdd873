"""The `/steward` slash command: run it and answer in the ack."""

from __future__ import annotations

from slack_bolt import Ack, App

from bot.listeners.people import actor_from
from bot.services import dispatch, runner
from bot.services.context import Services


def steward_command(ack: Ack, body: dict, services: Services) -> None:
    """Run the command; the answer (or refusal, or apology) is shown only to the person who typed it."""
    actor = actor_from(body)
    outcome = runner.run(services, actor, lambda: dispatch.execute(services, actor, body.get("text", "")))
    ack(text=outcome.message.text, blocks=outcome.message.blocks, response_type="ephemeral")


def register(app: App) -> None:
    app.command("/steward")(steward_command)
