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
