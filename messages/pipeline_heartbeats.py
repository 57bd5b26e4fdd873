"""What Steward says about pipeline heartbeats: the URL once, misses, recovery, the list."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from messages.render import Message, duration, local_time, mrkdwn_escape, render, user_mention


class HeartbeatLike(Protocol):
    name: str
    every_seconds: int
    grace_seconds: int
    last_ping_at: datetime | None
    due_at: datetime
    misses: int


def _note(text: str, line: str, *, context_line: str | None = None) -> Message:
    return render("note", text=text, line=line, context_line=context_line)


def created(*, key: str, name: str, url: str, every: timedelta, grace: timedelta) -> Message:
    return _note(f"Heartbeat {name} for {key} created",
                 f":heartbeat: Heartbeat `{name}` for `{key}`: ping it every {duration(every)} (grace "
                 f"{duration(grace)}). Its URL, shown *only this once*, holds a secret:\n"
                 f"```curl -fsS -X POST {url}```",
                 context_line="Keep the URL in your pipeline's secret store. A missed heartbeat prompts the data "
                              "engineer; three in a row open a sev3 incident on data quality.")


def exists(*, key: str, name: str) -> str:
    return f"`{key}` already has a heartbeat named `{name}`: delete it first to get a new URL."


def not_found(*, key: str, name: str) -> str:
    return f"`{key}` has no heartbeat named `{name}`. See `/steward heartbeat list {key}`."


def deleted(*, key: str, name: str) -> Message:
    return _note(f"Heartbeat {name} deleted", f"Heartbeat `{name}` of `{key}` is deleted; its URL answers 404 now.")


def listing(*, key: str, heartbeats: Sequence[HeartbeatLike], zone: str) -> Message:
    if not heartbeats:
        return _note(f"No heartbeats for {key}", f"`{key}` has no heartbeats. Create one with "
                                                 f"`/steward heartbeat create {key} <name> every=<duration>`.")
    lines = []
    for beat in heartbeats:
        last = local_time(beat.last_ping_at, zone) if beat.last_ping_at else "never"
        state = f", *{beat.misses} missed in a row*" if beat.misses else ""
        lines.append(f"• `{mrkdwn_escape(beat.name)}` every {duration(timedelta(seconds=beat.every_seconds))} "
                     f"(grace {duration(timedelta(seconds=beat.grace_seconds))}); last ping {last}{state}")
    return _note(f"Heartbeats of {key}", f"*Heartbeats of `{key}`*\n" + "\n".join(lines))


def missed(*, key: str, name: str, engineer: str | None, misses: int, last_ping_at: datetime | None,
           zone: str, incident: bool) -> Message:
    since = f"last ping {local_time(last_ping_at, zone)}" if last_ping_at else "no ping yet"
    what = (f"the pipeline heartbeat `{mrkdwn_escape(name)}` of `{key}` is late ({since}; {misses} missed in a "
            "row). Please check the pipeline.")
    line = (f":hourglass: {user_mention(engineer)}, {what}" if engineer else
            f":hourglass: The data engineer role is *vacant*, so whoever reads this: {what} Assign one with "
            f"`/steward role assign {key} data @someone`.")
    if incident:
        line += " Three misses in a row: Steward opens a sev3 incident on data quality."
    return _note(f"Heartbeat {name} of {key} missed", line)


def incident_title(name: str) -> str:
    return f"Pipeline heartbeat {name} missed 3 times in a row: data quality at risk"


def recovered(*, key: str, name: str, misses: int, incident_number: int | None) -> Message:
    tail = f" Resolve INC{incident_number} when you are satisfied." if incident_number else ""
    return _note(f"Heartbeat {name} of {key} recovered",
                 f":white_check_mark: The pipeline heartbeat `{mrkdwn_escape(name)}` of `{key}` is back after "
                 f"{misses} missed ping{'s' if misses != 1 else ''}.{tail}")
