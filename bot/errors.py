"""Errors whose message is meant for the person who caused them."""


class StewardError(Exception):
    """A refusal or failure to show the person as it is; nothing was changed."""

    def __init__(self, message: str, *, usage: str | None = None):
        super().__init__(message)
        self.message = message
        self.usage = usage


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
