"""The Slack app manifest Steward needs, for Socket Mode or a public request URL."""

from __future__ import annotations

# Every Web API method Steward calls (tests/test_cli.py reads the call sites to keep this true) and the bot
# scopes it needs: public channels, then private ones where the method serves both.
METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "auth.test": (),
    "apps.connections.open": (),  # Socket Mode, with the app-level token (connections:write), not a bot scope
    "chat.postMessage": ("chat:write",),  # also direct messages, in the D… channel conversations.open gives
    "conversations.open": ("im:write",),  # direct pages: the app's DM with a paged person
    "chat.update": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "conversations.join": ("channels:join",),
    "conversations.info": ("channels:read", "groups:read"),
    "conversations.history": ("channels:history", "groups:history", "im:history"),
    "conversations.replies": ("channels:history", "groups:history", "im:history"),
    "files.getUploadURLExternal": ("files:write",),
    "files.completeUploadExternal": ("files:write",),
    "files.delete": ("files:write",),
    "views.open": (),
    "views.publish": (),
}

# The events Steward subscribes to (each has a listener in bot/listeners/events.py) and the scopes they need.
BOT_EVENTS: dict[str, tuple[str, ...]] = {
    "app_home_opened": (),
    "member_joined_channel": ("channels:read", "groups:read"),
    "member_left_channel": ("channels:read", "groups:read"),
    "channel_left": ("channels:read",),
    "group_left": ("groups:read",),
    "channel_archived": ("channels:read",),
    "group_archived": ("groups:read",),
    "channel_unarchive": ("channels:read",),
    "group_unarchive": ("groups:read",),
    "channel_deleted": ("channels:read",),
    "group_deleted": ("groups:read",),
    # Replies in incident threads go on the incident's timeline (one `message` listener takes both).
    "message.channels": ("channels:history",),
    "message.groups": ("groups:history",),
}

# The bot scopes, exactly those the calls and events above need, each with what needs it. No users:read
# (users.info is never called).
BOT_SCOPES: dict[str, str] = {
    "commands": "/steward",
    "chat:write": "chat.postMessage, chat.update, chat.postEphemeral (and direct messages to a user id)",
    "chat:write.public": "chat.postMessage into a public channel Steward has not joined (yet)",
    "channels:join": "conversations.join: Steward joins an initiative's public channel itself",
    "channels:read": "conversations.info; events member_joined_channel, member_left_channel, channel_left, "
                     "channel_archived, channel_unarchive, channel_deleted",
    "groups:read": "conversations.info; events member_joined_channel, member_left_channel, group_left, "
                   "group_archived, group_unarchive, group_deleted (private channels)",
    "channels:history": "conversations.history, conversations.replies: find a post whose answer was lost "
                        "instead of posting twice; steward audit verify --slack; event message.channels: "
                        "replies in incident threads",
    "groups:history": "conversations.history, conversations.replies in private channels; event message.groups",
    "files:write": "files.getUploadURLExternal, files.completeUploadExternal, files.delete: KPI charts",
    "im:write": "conversations.open: direct pages to the people paged for an incident",
    "im:history": "conversations.history in Steward's direct messages: find a direct page whose answer was lost "
                  "instead of paging the person twice",
}


def events_url(url: str) -> str:
    """`https://host`, `https://host/` or the full `https://host/slack/events`: the URL Slack should call."""
    base = url.strip().rstrip("/")
    return base if base.endswith("/slack/events") else f"{base}/slack/events"


def scope_comments(manifest_yaml: str) -> str:
    """The manifest's YAML with each bot scope commented with the methods and events that need it."""
    lines = []
    for line in manifest_yaml.splitlines():
        item = line.strip()
        scope = item[2:] if item.startswith("- ") else None
        if scope in BOT_SCOPES:
            line = f"{line}  # {BOT_SCOPES[scope]}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def build_manifest(url: str | None = None, *, name: str = "Steward") -> dict:
    """Return the manifest; with `url` (a base URL or the full events URL) Slack sends requests to
    `<base>/slack/events`, else Socket Mode."""
    request_url = events_url(url) if url else None
    command = {
        "command": "/steward",
        "description": "Run the operations cadence of your AI systems",
        "usage_hint": "help | initiative create <key> <name> | role assign <key> <role> @user",
        # Mentions then arrive as <@U123|name>, which the parser relies on.
        "should_escape": True,
    }
    if request_url:
        command["url"] = request_url
    settings: dict = {
        "interactivity": {"is_enabled": True},
        "event_subscriptions": {"bot_events": list(BOT_EVENTS)},
        "org_deploy_enabled": False,
        "socket_mode_enabled": request_url is None,
        "token_rotation_enabled": False,
    }
    if request_url:
        settings["interactivity"]["request_url"] = request_url
        settings["event_subscriptions"]["request_url"] = request_url
    return {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": name,
            "description": "Keeps AI systems alive after the pilot: reviews, incidents, sign-offs.",
            "background_color": "#2c3e50",
        },
        "features": {
            "app_home": {"home_tab_enabled": True, "messages_tab_enabled": False,
                         "messages_tab_read_only_enabled": True},
            "bot_user": {"display_name": name, "always_online": True},
            "slash_commands": [command],
        },
        "oauth_config": {"scopes": {"bot": list(BOT_SCOPES)}},
        "settings": settings,
    }
