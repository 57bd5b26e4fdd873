"""Run one flow for a person: its result, or its refusal (audited once), or an apology for a bug."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from bot.errors import StewardError
from bot.services.context import Actor, Services
from messages import errors as error_messages
from messages.render import Message
from storage.audit import append_event
from storage.db import retrying, session_scope

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Outcome(Generic[T]):
    value: T | None = None  # what the flow returned: a reply, or a view to open
    refusal: StewardError | None = None  # the flow refused: nothing changed
    reference: str | None = None  # the flow raised something unexpected: the log entry's reference

    @property
    def ok(self) -> bool:
        return self.refusal is None and self.reference is None

    @property
    def failed(self) -> bool:
        return self.reference is not None

    @property
    def message(self) -> Message:
        """What the person sees: the flow's reply, the refusal (its reply, or words and usage), or an apology."""
        if self.refusal is not None:
            return self.refusal.reply or error_messages.refusal(self.refusal.message, self.refusal.usage)
        if self.reference is not None:
            return error_messages.unexpected(self.reference)
        return self.value

    @property
    def form_error(self) -> str:
        """The refusal or apology as shown under a form's field."""
        if self.refusal is not None:
            return error_messages.form_error(self.refusal.message)
        return error_messages.form_error(error_messages.apology(self.reference or ""))


def run(services: Services, actor: Actor, flow: Callable[[], T]) -> Outcome[T]:
    """Run a flow; a refusal is kept (its attempt audited), a bug logged under a reference for the apology."""
    try:
        return Outcome(retrying(flow))  # a deadlock or serialization failure runs the flow again, unseen
    except StewardError as refusal:
        if refusal.attempt is not None:
            record_refusal(services, actor, refusal)
        return Outcome(refusal=refusal)
    except Exception:
        reference = uuid.uuid4().hex[:8]
        log.exception("flow failed (reference %s, workspace %s, user %s)", reference, actor.team_id, actor.user_id)
        return Outcome(reference=reference)


def record_refusal(services: Services, actor: Actor, refusal: StewardError) -> None:
    """Write the refused attempt to the audit log in a transaction of its own."""
    attempt = refusal.attempt
    try:
        with session_scope(services.engine) as session:
            append_event(session=session, team_id=actor.team_id, actor=actor.user_id, action=attempt.action,
                         target=attempt.target, payload={**attempt.payload, "reason": refusal.message},
                         at=actor.now)
    except Exception:
        # The person still gets the refusal; the missing trace is logged loudly rather than hidden.
        log.exception("could not audit the refused attempt %s on %s", attempt.action, attempt.target)
