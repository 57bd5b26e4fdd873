"""Wire settings into a running Steward: engine, services, Slack app, outbox sender."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from slack_bolt import App
from sqlalchemy import Engine

from bot.app import create_app
from bot.config import Settings
from bot.org_config import load_org_config
from bot.outbox import OutboxSender
from bot.services import cadence, incidents, kpis
from bot.services.context import Services
from bot.services.sweep import URGENT_STEPS, SweepReport, run_step, run_sweep, steps
from bot.slack_port import SlackPort, make_web_client
from bot.worker import DueWorker
from storage import incidents as incident_rows
from storage import outbox
from storage.db import make_engine, read_scope, upgrade


@dataclass
class Runtime:
    engine: Engine
    services: Services
    app: App | None
    sender: OutboxSender
    worker: DueWorker | None = None
    scheduler: object | None = None

    def sweep(self, now: datetime) -> SweepReport:
        report = run_sweep(self.services, self.sender, now=now)
        # A reply deferred for a parent that another sender was posting is due in a second: let the
        # due-work thread see it rather than sleep through it.
        self.services.notify_outbox()
        return report

    def urgent_work(self, now: datetime) -> None:
        """What must not wait for the next sweep: escalation pages and the outbox, each under its own guard."""
        for name, step in steps(self.sender):
            if name in URGENT_STEPS:
                run_step(name, step, self.services, now)

    def next_urgent_at(self) -> datetime | None:
        with read_scope(self.engine) as session:
            moments = [outbox.next_due_at(session=session), incident_rows.next_due_at(session=session)]
        return min((m for m in moments if m is not None), default=None)

    def start_background(self) -> None:
        """Start the due-work thread (flows wake it when they queue messages) and the sweep's timer."""
        from bot.scheduler import start_scheduler

        cadence.refresh_next_due(self.engine, self.services.cadence)
        self.worker = DueWorker(self.urgent_work, self.next_urgent_at)
        self.services.notify_outbox = self.worker.wake
        self.worker.start()
        self.scheduler = start_scheduler(self.sweep, seconds=self.services.settings.steward_sweep_seconds)

    def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=True)
        if self.worker is not None:
            self.worker.stop()
            # Send what the last requests queued before going; what fails stays queued for the next start.
            self.sender.drain()
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
    policy = load_org_config(settings.steward_config)
    services = Services(engine=engine, settings=settings, cadence=policy.cadence, escalation=policy.escalation,
                        kpis=policy.kpis)
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    app = create_app(services) if with_app else None
    sender = OutboxSender(engine=engine,
                          slack=SlackPort(make_web_client(token=token, base_url=settings.slack_api_url,
                                                          interactive=False)),
                          still_wanted={"review.prompt": cadence.review_still_open,
                                        "review.reminder": cadence.review_still_open,
                                        "incident.page": incidents.page_still_wanted,
                                        "incident.status_request": incidents.status_request_still_wanted,
                                        "incident.root_update": incidents.root_update_still_wanted},
                          on_sent={"review.prompt": cadence.record_prompt_posted,
                                   "incident.root": incidents.record_root_posted},
                          attachments={"kpi.chart": kpis.chart_for})
    return Runtime(engine=engine, services=services, app=app, sender=sender)
