"""Events from Slack: opening the Home tab publishes the person's view."""

from __future__ import annotations

from slack_bolt import App
from slack_sdk import WebClient

from bot.services.context import Services
from bot.services.home import home_view


def publish_home(event: dict, body: dict, client: WebClient, services: Services) -> None:
    """Build the person's Home tab when they open it (the Messages tab needs nothing)."""
    if event.get("tab", "home") != "home":
        return
    view = home_view(services, team_id=body.get("team_id") or event.get("view", {}).get("team_id", ""),
                     user_id=event["user"])
    client.views_publish(user_id=event["user"], view=view)


def register(app: App) -> None:
    app.event("app_home_opened")(publish_home)
