"""The states Steward's records move through, shared by the rules (bot.domain) and the tables (storage).

Plain enums and nothing else: both layers may import this package, and it imports neither.
"""

from enum import StrEnum


class Stage(StrEnum):
    READINESS = "readiness"
    HANDOFF = "handoff"
    LAUNCH = "launch"
    OPERATIONS = "operations"
    RETIRED = "retired"


class ReviewStatus(StrEnum):
    SCHEDULED = "scheduled"
    POSTED = "posted"
    COMPLETED = "completed"
    SKIPPED = "skipped"

    @property
    def is_open(self) -> bool:
        return self in OPEN_REVIEW


OPEN_REVIEW = (ReviewStatus.SCHEDULED, ReviewStatus.POSTED)


class IncidentStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ChannelState(StrEnum):
    """Whether Steward can use an initiative's channel: known on binding, kept by membership events and send errors."""

    MEMBER = "member"
    NOT_IN_CHANNEL = "not_in_channel"  # a private channel without the bot, or removed from it: needs /invite
    ARCHIVED = "archived"
    DELETED = "deleted"
    UNCHECKED = "unchecked"  # Slack could not be asked when it was bound; the first send tells
