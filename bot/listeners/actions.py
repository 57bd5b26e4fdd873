"""Buttons on Steward's messages: ack at once, run the same flow as the matching command."""

from __future__ import annotations

from datetime import UTC, datetime

from slack_bolt import Ack, App

from bot.domain.commands import ReviewDone, review_number
from bot.listeners.replies import run_flow
from bot.services import notify, reviews
from bot.services.context import Actor, Services


def actor_of(body: dict) -> Actor:
    team = (body.get("team") or {}).get("id") or body["user"].get("team_id")
    return Actor(team_id=team, user_id=body["user"]["id"], channel_id=(body.get("channel") or {}).get("id"),
                 now=datetime.now(UTC))


def register(app: App, services: Services) -> None:
    @app.action("review_done")
    def review_done(ack: Ack, body: dict, action: dict) -> None:
        ack()
        actor = actor_of(body)
        message = run_flow(lambda: reviews.complete(services, actor, ReviewDone(review_number(action.get("value"),
                                                                                               "Mark done"))))
        notify.tell(services, actor, message)
