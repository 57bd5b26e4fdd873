"""Run one flow for a person: its message, or its refusal (audited once), or an apology for a bug."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from bot.errors import StewardError
from bot.services.context import Actor, Services
from messages import errors as error_messages
from messages.render import Message
from storage.audit import append_event
from storage.db import session_scope

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    message: Message
    refusal: StewardError | None = None  # the flow refused: nothing changed
    failed: bool = False  # the flow raised something unexpected: nothing changed, a bug is logged

    @property
    def ok(self) -> bool:
        return self.refusal is None and not self.failed


def run(services: Services, actor: Actor, flow: Callable[[], Message]) -> Outcome:
    """Run a flow; a refusal becomes its message (its attempt audited), a bug an apology with a reference."""
    try:
        return Outcome(flow())
    except StewardError as refusal:
        if refusal.attempt is not None:
            record_refusal(services, actor, refusal)
        return Outcome(error_messages.refusal(refusal.message, refusal.usage), refusal=refusal)
    except Exception:
        reference = uuid.uuid4().hex[:8]
        log.exception("flow failed (reference %s, workspace %s, user %s)", reference, actor.team_id, actor.user_id)
        return Outcome(error_messages.unexpected(reference), failed=True)


def record_refusal(services: Services, actor: Actor, refusal: StewardError) -> None:
    """Write the refused attempt to the audit log in a transaction of its own."""
    attempt = refusal.attempt
    try:
        with session_scope(services.engine) as session:
            append_event(session, team_id=actor.team_id, actor=actor.user_id, action=attempt.action,
                         target=attempt.target, payload={**attempt.payload, "reason": refusal.message},
                         at=actor.now)
    except Exception:
        # The person still gets the refusal; the missing trace is logged loudly rather than hidden.
        log.exception("could not audit the refused attempt %s on %s", attempt.action, attempt.target)
