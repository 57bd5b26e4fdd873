"""Controlled rollout and launch communication (issue 17 points 1 and 2), as rules: pure, no storage or words.

The framework's Stage 3: "a gradual rollout, not a cutover ... typically 10 to 20% of full volume, while
maintaining the pilot-era fallback processes"; and its FAQ: a pre-launch orientation, a launch-week training
session with hands-on practice, and a 30-day post-launch support channel.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from bot.domain.commands import KEY_PATTERN, MAX_EVIDENCE, checked_text
from bot.errors import UsageError

FIRST_SHARE_UNSIGNED_MAX = 20  # a first share above this needs the business owner's sign-off
FULL_SHARE = 100
SUPPORT_CHANNEL_DAYS = 30



# --- commands -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RolloutSet:
    key: str
    percent: int
    note: str | None = None


@dataclass(frozen=True)
class FallbackSet:
    key: str
    text: str


@dataclass(frozen=True)
class CommsDone:
    key: str
    task: str
    evidence: str
    channel_id: str | None = None  # support-channel: the Slack channel it names


_PERCENT = re.compile(r"^(\d{1,3})%?$")
_CHANNEL = re.compile(r"^<#(C[A-Z0-9]{2,30})(?:\|[^>]*)?>$")


def _key(tokens: list[str], usage: str) -> str:
    if not tokens:
        raise UsageError("The initiative key is missing.", usage=usage)
    if not KEY_PATTERN.match(tokens[0]):
        raise UsageError(f"`{tokens[0][:30]}` is not a valid initiative key.", usage=usage)
    return tokens[0]


def parse_percent(text: str) -> int | None:
    """A share of volume, 1 to 100 (a trailing % allowed); None when it is not one."""
    match = _PERCENT.match(text.strip())
    if match is None:
        return None
    value = int(match.group(1))
    return value if 1 <= value <= FULL_SHARE else None


def parse_rollout(tokens: list[str], usage: str) -> RolloutSet:
    """`<key> <percent> [note...]`."""
    key = _key(tokens, usage)
    if len(tokens) < 2:
        raise UsageError("The share is missing: say what percent of full volume the system serves, e.g. `10`.",
                         usage=usage)
    percent = parse_percent(tokens[1])
    if percent is None:
        raise UsageError(f"`{tokens[1][:30]}` is not a share: give a whole percent from 1 to 100.", usage=usage)
    note = checked_text(" ".join(tokens[2:]), usage, what="note", limit=MAX_EVIDENCE)
    return RolloutSet(key, percent, note)


def parse_fallback(tokens: list[str], usage: str) -> FallbackSet:
    """`<key> <description or link...>`."""
    key = _key(tokens, usage)
    text = checked_text(" ".join(tokens[1:]), usage, what="description", limit=MAX_EVIDENCE)
    if not text:
        raise UsageError("Describe the pilot-era fallback process (or link to it): what people do when the system "
                         "is off.", usage=usage)
    return FallbackSet(key, text)


TASKS = ("orientation", "training", "support-channel")


def parse_comms(tokens: list[str], usage: str) -> CommsDone:
    """`<key> <orientation|training|support-channel> done <evidence...>`; the support channel names its channel."""
    key = _key(tokens, usage)
    if len(tokens) < 2 or tokens[1].lower() not in TASKS:
        shown = f"`{tokens[1][:30]}` is not a task" if len(tokens) > 1 else "The task is missing"
        raise UsageError(f"{shown}: say `orientation`, `training` or `support-channel`.", usage=usage)
    task = tokens[1].lower()
    if len(tokens) < 3 or tokens[2].lower() != "done":
        raise UsageError(f"Say `done` after `{task}`, then the evidence.", usage=usage)
    evidence = checked_text(" ".join(tokens[3:]), usage, what="evidence", limit=MAX_EVIDENCE)
    if not evidence:
        raise UsageError(f"The `{task}` needs evidence: a link to the deck, the attendance, the recording...",
                         usage=usage)
    channel_id = None
    if task == "support-channel":
        channel_id = next((m.group(1) for m in map(_CHANNEL.match, tokens[3:]) if m), None)
        if channel_id is None:
            raise UsageError("Name the support channel itself, e.g. `#triage-help` (as a channel link).", usage=usage)
    return CommsDone(key, task, evidence, channel_id)


# --- rollout rules --------------------------------------------------------------------------------------------

def needs_signoff(current: int | None, percent: int) -> bool:
    """A first share above 20%, and every increase, need the business owner's sign-off; a decrease does not."""
    if current is None:
        return percent > FIRST_SHARE_UNSIGNED_MAX
    return percent > current


def rolling_out(share: int | None) -> bool:
    """Whether a launch is rolling out: a share is in force and it is short of the full scope."""
    return share is not None and share < FULL_SHARE


# --- communication plan ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Task:
    name: str
    due_after_launch_days: int  # its due day, counted from the launch date


PLAN = (
    Task("orientation", 0),  # pre-launch: by the launch day
    Task("training", 7),  # launch week
    Task("support-channel", 0),  # open from the launch day, for 30 days
)


def due_on(task: str, launch: date | None) -> date | None:
    """The day the task is due; None before the launch date is known."""
    if launch is None:
        return None
    days = next(t.due_after_launch_days for t in PLAN if t.name == task)
    return launch + timedelta(days=days)


def on_time(task: str, launch: date | None, done_on: date | None) -> bool | None:
    """Whether a done task was done on time (by its due day; done before the launch date is known: on time);
    None when it is not done."""
    if done_on is None:
        return None
    due = due_on(task, launch)
    return due is None or done_on <= due


def support_closes_on(launch: date | None) -> date | None:
    """The support channel closes itself 30 days after launch."""
    return launch + timedelta(days=SUPPORT_CHANNEL_DAYS) if launch else None
