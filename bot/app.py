"""Build the Bolt app: its Slack client, its listeners, and nothing else."""

from __future__ import annotations

from slack_bolt import App
from slack_sdk import WebClient

from bot import listeners
from bot.listeners import replay
from bot.services.context import Services
from bot.slack_port import make_web_client


def create_app(services: Services, *, client: WebClient | None = None) -> App:
    """Return the Bolt app for these services; listeners run before the HTTP response (no 10 ms ack poll)."""
    settings = services.settings
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    client = client or make_web_client(token=token, base_url=settings.slack_api_url)
    signing_secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    app = App(
        client=client,
        signing_secret=signing_secret,
        # Socket Mode requests arrive on an authenticated socket and carry no signature.
        request_verification_enabled=not settings.socket_mode,
        process_before_response=True,
        # Slash commands are answered inside the request; unhandled requests should not be logged loudly.
        raise_error_for_unhandled_request=False,
    )
    listeners.register(app, services)
    replay.install(app, services)  # after Bolt's signature check, before every listener
    return app
