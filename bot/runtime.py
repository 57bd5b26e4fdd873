"""Wire settings into a running Steward: engine, services, Slack app, outbox sender."""

from __future__ import annotations

from dataclasses import dataclass

from slack_bolt import App
from sqlalchemy import Engine

from bot.app import create_app
from bot.config import Settings
from bot.outbox import OutboxSender, OutboxWorker
from bot.services.context import Services
from bot.slack_port import SlackPort, make_web_client
from storage.db import make_engine, upgrade


@dataclass
class Runtime:
    engine: Engine
    services: Services
    app: App
    sender: OutboxSender
    worker: OutboxWorker | None = None

    def start_background(self) -> None:
        """Start the outbox worker; flows wake it when they queue messages."""
        self.worker = OutboxWorker(self.sender)
        self.services.notify_outbox = self.worker.wake
        self.worker.start()

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()
        self.engine.dispose()


def make_engine_for(settings: Settings, *, migrate: bool = True) -> Engine:
    engine = make_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    return engine


def build_runtime(settings: Settings, *, engine: Engine | None = None, migrate: bool = True) -> Runtime:
    """Build every part of Steward for these settings; nothing is started yet."""
    engine = engine or make_engine_for(settings, migrate=migrate)
    services = Services(engine=engine, settings=settings)
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    app = create_app(services)
    sender = OutboxSender(engine=engine,
                          slack=SlackPort(make_web_client(token=token, base_url=settings.slack_api_url,
                                                          interactive=False)))
    return Runtime(engine=engine, services=services, app=app, sender=sender)
