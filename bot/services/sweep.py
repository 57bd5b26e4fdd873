"""One sweep: everything time-driven that is due at a moment, then the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.outbox import OutboxSender
from bot.services import audit_trail, cadence, incidents, kpis
from bot.services.context import Services


@dataclass
class SweepReport:
    prompts: int
    escalations: int
    missed: int
    superseded: int
    reminders: int
    sent: int
    retried: int
    failed: int

    def summary(self) -> str:
        return (f"{self.prompts} prompts, {self.reminders} reminders, {self.escalations} escalations, "
                f"{self.missed} missed, "
                f"{self.superseded} superseded; Slack: {self.sent} sent, {self.retried} to retry, {self.failed} failed")


def run_sweep(services: Services, sender: OutboxSender, *, now: datetime) -> SweepReport:
    """Escalate due incidents, materialize due reviews, queue due reminders, then send the outbox, as of `now`."""
    escalations = incidents.escalate_due(services.engine, now=now)
    materialized = cadence.materialize_due(services.engine, services.cadence, now=now)
    reminders = cadence.send_reminders(services.engine, services.cadence, now=now)
    kpis.prompt_silent_kpis(services.engine, services, now=now)
    audit_trail.post_witnesses(services.engine, services.settings.steward_audit_channel, now=now)
    drained = sender.drain(now)
    return SweepReport(prompts=len(materialized.created), escalations=escalations, missed=materialized.missed,
                       superseded=materialized.superseded, reminders=reminders, sent=drained.sent,
                       retried=drained.retried, failed=drained.failed)
