"""What Steward answers to a Slack request it has already handled (a replay, or a retry while it runs)."""

from __future__ import annotations

from datetime import datetime

from messages.render import Message, local_time, render


def already_handled(seen_at: datetime) -> Message:
    """The reply to a slash command delivered again: nothing is run twice."""
    return render("note", text="Already done",
                  line=f"This request was already handled at {local_time(seen_at, fmt='%H:%M:%S')}; "
                       "it was not run again.",
                  context_line=None)


def still_running() -> Message:
    """The reply to a slash command delivered again while the first delivery is still being handled."""
    return render("note", text="Already in hand",
                  line="This request is already being handled; it was not run again.", context_line=None)
