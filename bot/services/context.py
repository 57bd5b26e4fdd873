"""What every flow is given: who asks, where, when, and the shared services."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine

from bot.config import Settings
from bot.domain.cadence import DEFAULT_CADENCE, Cadence
from bot.domain.escalation import EscalationPolicy
from bot.domain.kpis import KpiPolicy


@dataclass(frozen=True)
class Actor:
    team_id: str
    user_id: str
    now: datetime
    channel_id: str | None = None


@dataclass
class Services:
    engine: Engine
    settings: Settings
    cadence: Cadence = DEFAULT_CADENCE
    escalation: EscalationPolicy = field(default_factory=EscalationPolicy)
    kpis: KpiPolicy = field(default_factory=KpiPolicy)
    # Called after a flow commits messages to the outbox (wakes the sender in `steward run`).
    notify_outbox: Callable[[], None] = field(default=lambda: None)
