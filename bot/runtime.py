"""Wire settings into a running Steward: engine, services, Slack app, outbox sender."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from slack_bolt import App
from sqlalchemy import Engine

from bot.app import create_app
from bot.config import Settings
from bot.org_config import load_cadence
from bot.outbox import OutboxSender, OutboxWorker
from bot.services import cadence
from bot.services.context import Services
from bot.services.sweep import SweepReport, run_sweep
from bot.slack_port import SlackPort, make_web_client
from storage.db import make_engine, upgrade


@dataclass
class Runtime:
    engine: Engine
    services: Services
    app: App | None
    sender: OutboxSender
    worker: OutboxWorker | None = None
    scheduler: object | None = None

    def sweep(self, now: datetime) -> SweepReport:
        return run_sweep(self.services, self.sender, now=now)

    def start_background(self) -> None:
        """Start the outbox worker (flows wake it when they queue messages) and the sweep's timer."""
        from bot.scheduler import start_scheduler

        cadence.refresh_next_due(self.engine, self.services.cadence)
        self.worker = OutboxWorker(self.sender)
        self.services.notify_outbox = self.worker.wake
        self.worker.start()
        self.scheduler = start_scheduler(self.sweep, seconds=self.services.settings.steward_sweep_seconds)

    def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=True)
        if self.worker is not None:
            self.worker.stop()
        self.engine.dispose()


def make_engine_for(settings: Settings, *, migrate: bool = True) -> Engine:
    engine = make_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    return engine


def build_runtime(settings: Settings, *, engine: Engine | None = None, migrate: bool = True,
                  with_app: bool = True) -> Runtime:
    """Build every part of Steward for these settings; nothing is started yet.

    `with_app=False` skips the Bolt app (and its auth.test call) for one-shot commands such as sweep.
    """
    engine = engine or make_engine_for(settings, migrate=migrate)
    services = Services(engine=engine, settings=settings, cadence=load_cadence(settings.steward_config))
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    app = create_app(services) if with_app else None
    sender = OutboxSender(engine=engine,
                          slack=SlackPort(make_web_client(token=token, base_url=settings.slack_api_url,
                                                          interactive=False)),
                          still_wanted={"review.prompt": cadence.review_still_open,
                                        "review.reminder": cadence.review_still_open},
                          on_sent={"review.prompt": cadence.record_prompt_posted})
    return Runtime(engine=engine, services=services, app=app, sender=sender)
