"""Events from Slack: opening the Home tab, and the news that Steward lost or regained a channel.

Each handler is idempotent, so a retried event (X-Slack-Retry-Num) repeats no side effect: the Home
tab is queued under the event's ts, and a membership change is a conditional update that tells the
business owner only when it changes something. The replay guard (bot/listeners/replay.py) drops most
retries before they get here.
"""

from __future__ import annotations

import logging

from slack_bolt import App, BoltContext

from bot import clock
from bot.services import channels, timeline
from bot.services.context import Services
from bot.services.home import queue_home
from states import ChannelState

log = logging.getLogger(__name__)


def _team(body: dict, event: dict) -> str:
    return body.get("team_id") or event.get("team") or (event.get("view") or {}).get("team_id", "")


def publish_home(event: dict, body: dict, services: Services) -> None:
    """Queue the person's Home tab when they open it (the Messages tab needs nothing); the request returns at once."""
    if event.get("tab", "home") != "home":
        return
    queue_home(services, team_id=_team(body, event), user_id=event["user"],
               opened=event.get("event_ts") or body.get("event_id") or "", now=clock.now())


def _channel_of(event: dict) -> str:
    channel = event.get("channel")
    return channel.get("id", "") if isinstance(channel, dict) else (channel or "")


def member_left(event: dict, body: dict, context: BoltContext, services: Services) -> None:
    """Steward was removed from a channel (or left it): its initiatives there are not in channel."""
    if event.get("type") == "member_left_channel" and event.get("user") != context.bot_user_id:
        return  # someone else left
    channels.record(services.engine, team_id=_team(body, event), channel_id=_channel_of(event),
                    state=ChannelState.NOT_IN_CHANNEL, now=clock.now())


def member_joined(event: dict, body: dict, context: BoltContext, services: Services) -> None:
    """Steward was invited (back) into a channel: what it held there is delivered."""
    if event.get("user") != context.bot_user_id:
        return
    channels.record(services.engine, team_id=_team(body, event), channel_id=_channel_of(event),
                    state=ChannelState.MEMBER, now=clock.now())


def archived(event: dict, body: dict, services: Services) -> None:
    channels.record(services.engine, team_id=_team(body, event), channel_id=_channel_of(event),
                    state=ChannelState.ARCHIVED, now=clock.now())


def deleted(event: dict, body: dict, services: Services) -> None:
    channels.record(services.engine, team_id=_team(body, event), channel_id=_channel_of(event),
                    state=ChannelState.DELETED, now=clock.now())


def unarchived(event: dict, body: dict, services: Services) -> None:
    """A channel came back: only initiatives that had it archived are checked again (a public one is rejoined)."""
    channels.rejoined(services.settings, services.engine, team_id=_team(body, event), channel_id=_channel_of(event),
                      now=clock.now())


def message(event: dict, body: dict, context: BoltContext, services: Services) -> None:
    """A message in a channel Steward is in: a reply in an incident's thread goes on its timeline."""
    if not event.get("thread_ts") and event.get("subtype") not in ("message_changed", "message_deleted"):
        return  # most messages: nothing to look up
    timeline.record_message(services, team_id=_team(body, event), event=event, bot_user_id=context.bot_user_id,
                            now=clock.now())


def register(app: App) -> None:
    app.event("app_home_opened")(publish_home)
    app.event("member_left_channel")(member_left)
    app.event("channel_left")(member_left)
    app.event("group_left")(member_left)
    app.event("member_joined_channel")(member_joined)
    app.event("channel_archived")(archived)
    app.event("group_archived")(archived)
    app.event("channel_deleted")(deleted)
    app.event("group_deleted")(deleted)
    app.event("channel_unarchive")(unarchived)
    app.event("group_unarchive")(unarchived)
    app.event("message")(message)
