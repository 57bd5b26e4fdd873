"""The `/steward` slash command: parse, run the flow, answer ephemerally in the ack."""

from __future__ import annotations

from slack_bolt import Ack, App

from bot import clock
from bot.listeners.replies import run_flow
from bot.services import dispatch
from bot.services.context import Actor, Services


def register(app: App, services: Services) -> None:
    @app.command("/steward")
    def steward_command(ack: Ack, body: dict) -> None:
        actor = Actor(team_id=body["team_id"], user_id=body["user_id"], channel_id=body.get("channel_id"),
                      now=clock.now())
        message = run_flow(lambda: dispatch.execute(services, actor, body.get("text", "")))
        # The ack's body is shown only to the person who typed the command.
        ack(text=message.text, blocks=message.blocks, response_type="ephemeral")
