"""Wire settings into a running Steward: engine, services, Slack app, outbox sender."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime

from slack_bolt import App
from sqlalchemy import Engine

from bot import clock, logging_setup
from bot.app import create_app
from bot.config import Settings
from bot.org_config import load_org_config
from bot.outbox import OutboxSender
from bot.pacing import Pacer
from bot.services import cadence, channels, distribution, incidents, kpis, pages, paging_targets
from bot.services.context import Services
from bot.services.steps import StepResult
from bot.services.sweep import URGENT_STEPS, SweepReport, run_step, run_sweep, steps
from bot.slack_port import SlackPort, make_web_client
from bot.worker import DueWorker, seconds_to_wait
from storage import incidents as incident_rows
from storage import outbox
from storage.db import make_engine, read_scope, upgrade

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    engine: Engine
    services: Services
    app: App | None
    sender: OutboxSender
    worker: DueWorker | None = None
    scheduler: object | None = None

    def sweep(self, now: datetime) -> SweepReport:
        with logging_setup.context(sweep_id=logging_setup.new_id()):
            report = run_sweep(self.services, self.sender, now=now)
            log.info("sweep as of %s: %s", now.isoformat(), report.summary(),
                     extra={"outcome": "failures" if report.failures else "ok"})
        # A reply deferred for a parent that another sender was posting is due in a second: let the
        # due-work thread see it rather than sleep through it.
        self.services.notify_outbox()
        return report

    def urgent_work(self, now: datetime) -> list[StepResult]:
        """What must not wait for the next sweep: escalation pages and the outbox, each under its own guard."""
        return [run_step(name, step, self.services, now) for name, step in steps(self.sender) if name in URGENT_STEPS]

    def next_urgent_at(self) -> datetime | None:
        with read_scope(self.engine) as session:
            moments = [outbox.next_due_at(session=session), incident_rows.next_due_at(session=session)]
        return min((m for m in moments if m is not None), default=None)

    def send_what_falls_due(self, *, until: datetime) -> int:
        """Do the urgent work (the outbox, escalation pages) as it falls due until `until`, waiting in between:
        what a one-shot sweep from cron does with the rows Slack's pace moved on, instead of leaving them to the
        next run a minute later. Returns how many messages went out."""
        sent = 0
        while True:
            sent += sum(result.done for result in self.urgent_work(clock.now()) if result.name == "outbox")
            following = self.next_urgent_at()
            if following is None or following > until:
                return sent
            time.sleep(seconds_to_wait(following, clock.now(), idle_seconds=(until - clock.now()).total_seconds()))

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


# Slack's answers that mean "this token is no good": start-up stops on them instead of retrying.
TOKEN_REFUSED = frozenset({"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
                           "not_allowed_token_type", "missing_scope", "no_permission", "team_access_not_granted",
                           "ekm_access_denied"})


class SlackRefused(Exception):
    """Slack would not let Steward start: `variable` names the setting to fix, the message says why (one line)."""

    def __init__(self, variable: str, reason: str):
        super().__init__(f"{variable}: {reason}")
        self.variable = variable
        self.reason = reason


def verify_bot_token(settings: Settings, *, timeout: int = 10) -> dict:
    """Call `auth.test` with the bot token; return Slack's answer or raise SlackRefused naming the variable."""
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    # slack_sdk logs a failed request at ERROR before raising; the one line raised below says it all.
    quiet = logging.getLogger("steward.auth_test")
    quiet.setLevel(logging.CRITICAL)
    client = WebClient(token=token, base_url=settings.slack_api_url, timeout=timeout, logger=quiet)
    try:
        return client.auth_test().data
    except SlackApiError as exc:
        error = exc.response.get("error") if exc.response is not None else None
        if error in TOKEN_REFUSED:
            raise SlackRefused("SLACK_BOT_TOKEN", f"Slack refused the bot token ({error})") from None
        raise SlackRefused("SLACK_API_URL", f"auth.test at {settings.slack_api_url} answered "
                           f"{error or exc.response.status_code}") from None
    except Exception as exc:  # unreachable, refused connection, not Slack at all
        detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else "no detail"
        raise SlackRefused("SLACK_API_URL", f"cannot reach Slack at {settings.slack_api_url} "
                           f"({type(exc).__name__}: {detail})") from None


def _history_pace(settings: Settings) -> dict[str, float]:
    per_minute = settings.steward_slack_history_per_minute
    return {"conversations.history": per_minute, "conversations.replies": per_minute} if per_minute else {}


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
                                   "incident.root": incidents.record_root_posted,
                                   **pages.ON_SENT},  # C: who was paged, and where
                          resolvers=pages.RESOLVERS,  # C: page holders looked up at sending
                          deliveries=paging_targets.deliveries(settings),  # D: PagerDuty, webhooks
                          attachments={"kpi.chart": kpis.chart_for,
                                       "distribution.chart": distribution.chart_for},  # H: issue 17
                          pacer=Pacer(channel_interval=settings.steward_slack_post_interval,
                                      channel_burst=settings.steward_slack_post_burst,
                                      per_minute=_history_pace(settings)),
                          on_channel_trouble=channels.trouble_hook(engine))
    return Runtime(engine=engine, services=services, app=app, sender=sender)
