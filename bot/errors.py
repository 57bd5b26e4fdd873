"""The one refusal type of Steward's flows, and configuration errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RefusedAttempt:
    """What the audit log keeps of a refused attempt: a refusal is evidence too."""

    action: str  # e.g. "incident.acknowledge_refused"
    target: str  # the initiative's key
    payload: dict[str, Any] = field(default_factory=dict)


class StewardError(Exception):
    """A refusal to show the person as it is; nothing was changed.

    A flow that must leave a trace of the refused attempt passes `attempt`: the flow runner writes it
    to the audit log once, in a transaction of its own, whatever the flow had open. A refusal that is
    better shown as a full message (the exit checklist of a stage that cannot be left yet) passes it as
    `reply` (a `messages.render.Message`); `message` is then the reason the audit log keeps.
    """

    def __init__(self, message: str, *, usage: str | None = None, attempt: RefusedAttempt | None = None,
                 reply: Any = None):
        super().__init__(message)
        self.message = message
        self.usage = usage
        self.attempt = attempt
        self.reply = reply


class UsageError(StewardError):
    """The command text does not follow the grammar."""


class NotFound(StewardError):
    """An initiative, review or incident named in a command does not exist in this workspace."""


class PermissionDenied(StewardError):
    """The person holds no role that allows the action."""


class Conflict(StewardError):
    """The action clashes with the current state (a duplicate key, an already vacant role)."""


class ConfigError(Exception):
    """Configuration that cannot work; the message is one line naming the variable."""
