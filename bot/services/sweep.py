"""One sweep: the time-driven work due at a moment, as a list of named steps, then the outbox.

In the manner of GoAlert's engine updaters: each step runs under its own guard and isolates its
rows (bot.services.steps), so a poisoned row or a broken step is logged, counted and reported
(in `steward sweep`'s output and /healthz) and never stops the other rows or steps.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from bot import metrics
from bot.outbox import OutboxSender
from bot.services import (
    artifacts,  # H (issue 17 point 5)
    audit_trail,
    cadence,
    incidents,
    kpis,
    pipeline_heartbeats,
    prometheus_sources,
    stages,
)
from bot.services import comms as launch_comms  # G (issue 17 point 2)
from bot.services.context import Services
from bot.services.cover import expire_due as end_due_covers
from bot.services.steps import RowFailure, StepResult
from storage import sweeps
from storage.db import session_scope

log = logging.getLogger(__name__)

Step = Callable[[Services, datetime], StepResult]
URGENT_STEPS = ("escalations", "outbox")  # run the moment they fall due, between sweeps (bot.worker)


@dataclass
class SweepReport:
    steps: list[StepResult] = field(default_factory=list)

    def _step(self, name: str) -> StepResult:
        return next((step for step in self.steps if step.name == name), StepResult(name))

    @property
    def escalations(self) -> int:
        return self._step("escalations").done

    @property
    def prompts(self) -> int:
        return self._step("reviews").done

    @property
    def missed(self) -> int:
        return self._step("reviews").counts.get("missed", 0)

    @property
    def superseded(self) -> int:
        return self._step("reviews").counts.get("superseded", 0)

    @property
    def reminders(self) -> int:
        return self._step("reminders").done

    @property
    def sent(self) -> int:
        return self._step("outbox").done

    @property
    def retried(self) -> int:
        return self._step("outbox").counts.get("retried", 0)

    @property
    def failed(self) -> int:
        """Messages Slack refused for good, or that could not be rendered."""
        return self._step("outbox").counts.get("failed", 0)

    @property
    def failures(self) -> list[RowFailure]:
        """Every row (or whole step) that failed, in step order."""
        return [failure for step in self.steps for failure in step.failures]

    def summary(self) -> str:
        counts = (f"{self.prompts} prompts, {self.reminders} reminders, {self.escalations} escalations, "
                  f"{self.missed} missed, {self.superseded} superseded; "
                  f"Slack: {self.sent} sent, {self.retried} to retry, {self.failed} failed")
        if not self.failures:
            return counts
        failed_steps = ", ".join(f"{step.name} ({len(step.failures)})" for step in self.steps if step.failures)
        return "\n".join([f"{counts}; failures in {failed_steps}:",
                          *(f"  {failure.describe()}" for failure in self.failures)])


def steps(sender: OutboxSender) -> list[tuple[str, Step]]:
    """The sweep's steps in order: what is due is created and queued first, then the outbox sends it."""
    return [
        # D: covers whose last day is over end first, so what follows prompts and pages the holders again.
        ("covers", lambda services, now: end_due_covers(services, now=now)),
        ("escalations", lambda services, now: incidents.escalate_due(services, now=now)),
        ("reviews", lambda services, now: cadence.materialize_due(services, now=now)),
        ("reminders", lambda services, now: cadence.send_reminders(services, now=now)),
        ("overdue_reviews", lambda services, now: cadence.escalate_overdue(services, now=now)),
        ("stage_overruns", lambda services, now: stages.tell_overruns(services, now=now)),
        ("prometheus_sources", lambda services, now: prometheus_sources.evaluate_due(services, now=now)),
        ("pipeline_heartbeats", lambda services, now: pipeline_heartbeats.check_missed(services, now=now)),
        ("kpi_silence", lambda services, now: kpis.prompt_silent_kpis(services, now=now)),
        ("launch_comms", lambda services, now: launch_comms.run_plan(services, now=now)),  # G (issue 17 point 2)
        ("pilot_artifacts", lambda services, now: artifacts.prompt_missing(services, now=now)),  # H (issue 17)
        ("witnesses", lambda services, now: audit_trail.post_witnesses(services, now=now)),
        ("outbox", lambda services, now: drain_outbox(sender, now=now)),
    ]


def drain_outbox(sender: OutboxSender, *, now: datetime) -> StepResult:
    """Send what the outbox owes Slack; each message is isolated by the sender itself."""
    drained = sender.drain(now)
    return StepResult("outbox", done=drained.sent, counts={"retried": drained.retried, "failed": drained.failed,
                                                          "skipped": drained.skipped})


def run_step(name: str, step: Step, services: Services, now: datetime) -> StepResult:
    """Run one step; if the step itself breaks (not one of its rows), that is its one failure."""
    started = time.perf_counter()
    try:
        result = step(services, now)
    except Exception as exc:
        result = StepResult(name)
        result.fail("the whole step", exc)
    metrics.record_step(name, seconds=time.perf_counter() - started, failures=len(result.failures))
    return result


def run_sweep(services: Services, sender: OutboxSender, *, now: datetime) -> SweepReport:
    """Run every step as of `now`, each under its own guard, and record what failed for /healthz."""
    report = SweepReport([run_step(name, step, services, now) for name, step in steps(sender)])
    record(services, report, now=now)
    return report


def record(services: Services, report: SweepReport, *, now: datetime) -> None:
    """Keep each step's latest failures where every replica's /healthz reads them."""
    try:
        with session_scope(services.engine) as session:
            for step in report.steps:
                sweeps.record_step(session=session, name=step.name, ran_at=now,
                                   failures=[(failure.row, failure.error) for failure in step.failures])
    except Exception:
        # The sweep's work is done; only its report for /healthz is missing, which must not undo it.
        log.exception("could not record the sweep's outcome for /healthz")
