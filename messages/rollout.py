"""What Steward says about the controlled rollout: the share of volume, its sign-offs, the fallback process."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from bot.domain import gates
from bot.domain.gates import Check
from bot.domain.rollout import FIRST_SHARE_UNSIGNED_MAX, FULL_SHARE
from messages.render import Message, local_time, mrkdwn_escape, render, stage_title, user_mention


class InitiativeLike(Protocol):
    key: str
    name: str
    timezone: str


class StepLike(Protocol):
    percent: int
    previous: int | None
    note: str | None
    requested_by: str
    applied_at: datetime | None


class FallbackLike(Protocol):
    text: str
    recorded_by: str
    recorded_at: datetime


def _owner(owner: str | None) -> str:
    return user_mention(owner) if owner else "the business owner (vacant: an admin may act for the role)"


def _from(step: StepLike) -> str:
    return f" from {step.previous}%" if step.previous is not None else ""


def wrong_stage(key: str, stage) -> str:
    return (f"`{key}` is in {stage_title(stage)}: the rollout share is recorded during launch (its first share "
            "already in handoff, before launch starts).")


def already_at(key: str, percent: int) -> str:
    return f"`{key}` already serves {percent}% of full volume; nothing changed."


def why_signed(step: StepLike) -> str:
    if step.previous is None:
        return f"a first share above {FIRST_SHARE_UNSIGNED_MAX}% needs the business owner's sign-off"
    return "every increase needs the business owner's sign-off, with the current KPI standing as its evidence"


def _signoff_command(key: str, percent: int) -> str:
    return f"`/steward signoff {key} rollout:{percent} approve`"


def waiting(initiative: InitiativeLike, step: StepLike, *, owner: str | None) -> Message:
    line = (f"Asked to serve *{step.percent}%* of full volume{_from(step)} for `{initiative.key}`: {why_signed(step)}. "
            f"It takes effect when {_owner(owner)} signs {_signoff_command(initiative.key, step.percent)} "
            "(the sign-off keeps the KPIs as they stand then). Until then the share stays "
            + (f"at {step.previous}%." if step.previous is not None else "unrecorded."))
    return render("note", text=f"Rollout to {step.percent}% waits for a sign-off", line=line, context_line=None)


def signoff_needed(initiative: InitiativeLike, step: StepLike, *, owner: str | None) -> Message:
    note = f" Note: {mrkdwn_escape(step.note)}" if step.note else ""
    line = (f"{user_mention(step.requested_by)} asks to serve *{step.percent}%* of full volume{_from(step)}"
            f" for {mrkdwn_escape(initiative.name)}; {why_signed(step)}. {_owner(owner)}: "
            f"{_signoff_command(initiative.key, step.percent)} or `... reject`.{note}")
    return render("note", text=f"Rollout to {step.percent}%: sign-off needed", line=line, context_line=None)


def share_set(initiative: InitiativeLike, step: StepLike, *, signed_by: str | None) -> Message:
    signed = f", signed by {user_mention(signed_by)}" if signed_by else ""
    full = " That is the full intended scope." if step.percent == FULL_SHARE else ""
    return render("note", text=f"Rollout share {step.percent}%",
                  line=f"`{initiative.key}` now serves *{step.percent}%* of full volume{_from(step)}{signed}.{full}",
                  context_line=None)


def share_notice(initiative: InitiativeLike, step: StepLike, *, by: str, signed_by: str | None) -> Message:
    signed = f" with {user_mention(signed_by)}'s sign-off" if signed_by else ""
    note = f"\nNote: {mrkdwn_escape(step.note)}" if step.note else ""
    direction = ("Rollout started" if step.previous is None else
                 "Rollout held back" if step.percent < step.previous else "Rollout widened")
    return render("note", text=f"{direction}: {step.percent}%",
                  line=f"*{direction}:* {mrkdwn_escape(initiative.name)} now serves *{step.percent}%* of full volume "
                       f"{_from(step)} (recorded by {user_mention(by)}{signed}).{note}",
                  context_line="The pilot-era fallback process stays in place until the launch ends.")


def rejected(percent: int, current: int | None) -> str:
    stays = f"stays at {current}%" if current is not None else "stays unrecorded"
    return f"The rollout to {percent}% is not approved; the share {stays}."


def approved_ahead(key: str, percent: int) -> str:
    return f"Approved ahead of the request: `/steward rollout {key} {percent}` puts it in force."


def approved_applied(percent: int) -> str:
    return f"The system now serves {percent}% of full volume."


def fallback_wrong_stage(key: str, stage) -> str:
    return (f"`{key}` is in {stage_title(stage)}: the pilot-era fallback process is recorded before and during "
            "launch.")


def fallback_recorded(initiative: InitiativeLike, row: FallbackLike) -> Message:
    return render("note", text="Fallback process recorded",
                  line=f"Recorded the pilot-era fallback process of `{initiative.key}`: {mrkdwn_escape(row.text)}",
                  context_line="It is shown in every launch review; launch cannot start without one.")


def fallback_notice(initiative: InitiativeLike, row: FallbackLike, *, replaced: bool) -> Message:
    verb = "updated" if replaced else "recorded"
    return render("note", text=f"Fallback process {verb}",
                  line=f"*Fallback process {verb}* for {mrkdwn_escape(initiative.name)} by "
                       f"{user_mention(row.recorded_by)}: {mrkdwn_escape(row.text)}", context_line=None)


def launch_review_lines(initiative: InitiativeLike, *, fallback: FallbackLike | None,
                        share: StepLike | None) -> list[str]:
    """What every launch review prompt shows: the fallback process and the share in force."""
    fallback_line = (f"*Fallback process:* {mrkdwn_escape(fallback.text)}" if fallback else
                     f"*Fallback process:* none on record — `/steward fallback {initiative.key} <description or link>`")
    share_line = (f"*Rollout:* {share.percent}% of full volume since "
                  f"{local_time(share.applied_at, initiative.timezone, '%a %d %b %Y')}"
                  if share is not None and share.applied_at else
                  f"*Rollout:* no share recorded — `/steward rollout {initiative.key} <percent>`")
    return [fallback_line, share_line]


def hold_suggested(initiative: InitiativeLike, share: StepLike, *, kpi: str, incident: int | None,
                   owner: str | None) -> Message:
    about = f" (INC{incident})" if incident else ""
    return render("note", text=f"Hold the rollout at {share.percent}%",
                  line=f"*Suggestion: hold the rollout at {share.percent}%.* {kpi} breached its threshold{about} "
                       f"while {mrkdwn_escape(initiative.name)} is rolling out. {_owner(owner)}: keep the share "
                       f"where it is, or reduce it with `/steward rollout {initiative.key} <lower percent>`, until "
                       "the KPI is back within its threshold; the fallback process takes the rest.",
                  context_line=None)


def way_forward(check: Check, *, key: str) -> str:
    """The command that meets one of the rollout checks (bot.domain.gates.launch_checks)."""
    if check.name == gates.FALLBACK_RECORDED:
        return f"`/steward fallback {key} <description or link>`"
    if check.name == gates.FIRST_SHARE_RECORDED:
        return (f"`/steward rollout {key} <percent>` (typically 10 to 20%; above {FIRST_SHARE_UNSIGNED_MAX}% "
                f"the business owner signs `rollout:<percent>`)")
    if check.name == gates.ORIENTATION_HELD:
        return f"`/steward comms {key} orientation done <evidence...>`"
    if check.name == gates.FULL_SHARE_SIGNED:
        return f"`/steward rollout {key} {FULL_SHARE}`, then {_signoff_command(key, FULL_SHARE)}"
    return ""
