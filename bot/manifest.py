"""The Slack app manifest Steward needs, for Socket Mode or a public request URL."""

from __future__ import annotations

BOT_SCOPES = [
    "commands",  # /steward
    "chat:write",  # prompts, incident threads, notices
    "chat:write.public",  # post in public channels the bot was not invited to
    "channels:join",  # join a public channel after not_in_channel
    "channels:history",  # find a post a crashed sender made, instead of posting it twice
    "groups:history",
    "channels:read",
    "groups:read",
    "users:read",
    "files:write",  # KPI charts in review threads
]


def build_manifest(url: str | None = None, *, name: str = "Steward") -> dict:
    """Return the manifest; with `url` Slack sends requests to `<url>/slack/events`, else Socket Mode."""
    events_url = f"{url.rstrip('/')}/slack/events" if url else None
    command = {
        "command": "/steward",
        "description": "Run the operations cadence of your AI systems",
        "usage_hint": "help | initiative create <key> <name> | role assign <key> <role> @user",
        # Mentions then arrive as <@U123|name>, which the parser relies on.
        "should_escape": True,
    }
    if events_url:
        command["url"] = events_url
    settings: dict = {
        "interactivity": {"is_enabled": True},
        "event_subscriptions": {"bot_events": ["app_home_opened"]},
        "org_deploy_enabled": False,
        "socket_mode_enabled": events_url is None,
        "token_rotation_enabled": False,
    }
    if events_url:
        settings["interactivity"]["request_url"] = events_url
        settings["event_subscriptions"]["request_url"] = events_url
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
        "oauth_config": {"scopes": {"bot": BOT_SCOPES}},
        "settings": settings,
    }
