"""Who is acting, read from what Slack sends: a slash command, a button click or a form submission."""

from __future__ import annotations

from bot import clock
from bot.services.context import Actor


def actor_from(body: dict, *, channel_id: str | None = None) -> Actor:
    """The person, their workspace and channel (a form names its channel in its metadata), and now."""
    user = body.get("user") or {}
    team_id = body.get("team_id") or (body.get("team") or {}).get("id") or user.get("team_id")
    channel_id = channel_id or body.get("channel_id") or (body.get("channel") or {}).get("id")
    return Actor(team_id=team_id, user_id=body.get("user_id") or user["id"], channel_id=channel_id, now=clock.now())
