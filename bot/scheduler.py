"""APScheduler only wakes the sweep; what is due lives in the database, so replicas and restarts lose nothing."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot import clock
from bot.services.sweep import SweepReport

log = logging.getLogger(__name__)


def start_scheduler(sweep: Callable[[datetime], SweepReport], *, seconds: int) -> BackgroundScheduler:
    """Run `sweep(now)` every `seconds`, starting now; a slow sweep is never run twice at once."""
    scheduler = BackgroundScheduler(timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1,
                                                                "misfire_grace_time": seconds})

    def job() -> None:
        try:
            report = sweep(clock.now())
            # A failed row or step is logged where it happened; this line says the sweep was not clean.
            log.log(logging.WARNING if report.failures else logging.DEBUG, "sweep: %s", report.summary())
        except Exception:
            log.exception("sweep failed; the work stays due for the next one")

    scheduler.add_job(job, IntervalTrigger(seconds=seconds, timezone=UTC), id="steward-sweep", replace_existing=True,
                      next_run_time=datetime.now(UTC))
    scheduler.start()
    return scheduler
