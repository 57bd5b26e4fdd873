"""What Steward says about the production roles: changes, the channel's notices, and refusals."""

from __future__ import annotations

from collections.abc import Mapping

from bot.domain.vocabulary import REQUIRED_ROLES, Role
from messages.render import Message, mrkdwn_escape, render, user_mention


def assigned(*, role: Role, key: str, user_id: str) -> Message:
    """The reply to whoever gave the role."""
    summary = f"{role.label} of {key} is now {user_mention(user_id)}"
    return render("role_changed", summary=summary, summary_mrkdwn=summary + ".")


def vacated(*, role: Role, key: str, previous: str) -> Message:
    """The reply to whoever ended the assignment."""
    summary = f"{role.label} of {key} is now vacant (was {user_mention(previous)})"
    return render("role_changed", summary=summary, summary_mrkdwn=summary + ".")


def changed_notice(*, role: Role, key: str, user_id: str | None, previous: str | None, actor: str,
                   holders: Mapping[str, str]) -> Message:
    """The notice in the initiative's channel, naming the required roles still vacant."""
    return render("notice_role_changed", key=key, role_label=role.label, user_id=user_id,
                  previous_user_id=previous, actor=actor,
                  vacant_required=[r.label for r in REQUIRED_ROLES if r not in holders])


def already_holds(*, role: Role, key: str, user_id: str) -> str:
    return f"{user_mention(user_id)} already is the {role.label} of `{key}`."


def already_vacant(*, role: Role, key: str) -> str:
    return f"The {role.label} role of `{key}` is already vacant."


def changed_meanwhile() -> str:
    return "Someone changed this role at the same moment; run the command again."


def only_managers(owner: str | None) -> str:
    """Refusal: only admins and the business owner staff an initiative."""
    who = f"its business owner ({user_mention(owner)})" if owner else "its business owner (vacant)"
    return f"Only Steward admins and {who} may change the roles of this initiative."


# --- Cover for an absent holder (issue 15, point 3) ---------------------------------------------------------

COVER_REFUSALS = {
    "vacant": "The {role} role of `{key}` is vacant: there is nobody to cover. Assign it instead: "
              "`/steward role assign {key} {alias} @person`.",
    "self": "{holder} holds the {role} role of `{key}`; a cover is someone else.",
    "in-the-past": "`until={until}` is over already in `{key}`'s time zone; give the last day covered, today or later.",
    "too-long": "A cover lasts at most {max_days} days; for a longer absence, assign the role to someone else.",
    "already-covered": "{running} already covers the {role} role of `{key}`; end that cover first: "
                       "`/steward role cover {key} {alias} end`.",
    "not-covered": "Nobody covers the {role} role of `{key}` now.",
}


def cover_refused(reason: str, *, role: Role, key: str, alias: str, holder: str | None = None,
                  running: str | None = None, until: object = None, max_days: int = 0) -> str:
    return COVER_REFUSALS[reason].format(role=role.label, key=key, alias=alias, holder=user_mention(holder),
                                         running=user_mention(running), until=until, max_days=max_days)


def cover_not_allowed(*, role: Role, key: str, holder: str | None, owner: str | None) -> str:
    who = f"its holder ({user_mention(holder)})" if holder else "its holder"
    boss = f"the business owner ({user_mention(owner)})" if owner else "the business owner (vacant)"
    return f"Only {who}, {boss} or a Steward admin may arrange cover for the {role.label} role of `{key}`."


def covered_by(holder: str, cover: str | None) -> str:
    """A holder as messages name them: `<@U1>`, or `<@U1>, covered by <@U2>`."""
    return f"{user_mention(holder)}, covered by {user_mention(cover)}" if cover else user_mention(holder)


def cover_started(*, role: Role, key: str, holder: str, cover: str, last_day: str) -> Message:
    summary = (f"{user_mention(cover)} covers {user_mention(holder)} as {role.label} of {key} "
               f"until {last_day}")
    return render("role_changed", summary=summary, summary_mrkdwn=summary + ".")


def cover_started_notice(*, role: Role, key: str, holder: str, cover: str, last_day: str, reason: str | None,
                         actor: str) -> Message:
    line = (f":umbrella: {user_mention(cover)} covers {user_mention(holder)} as *{role.label}* of `{key}` "
            f"until the end of *{last_day}*"
            + (f" ({mrkdwn_escape(reason)})" if reason else "") + f", arranged by {user_mention(actor)}.")
    context = (f"Prompts, reminders, pages and the right to complete and sign go to {user_mention(cover)} "
               f"meanwhile; the cover ends by itself after {last_day}.")
    return render("note", text=f"{role.label} of {key} covered until {last_day}", line=line, context_line=context)


def cover_ended(*, role: Role, key: str, holder: str, cover: str) -> Message:
    summary = f"{user_mention(cover)} no longer covers {user_mention(holder)} as {role.label} of {key}"
    return render("role_changed", summary=summary, summary_mrkdwn=summary + ".")


def cover_ended_notice(*, role: Role, key: str, holder: str, cover: str, last_day: str, actor: str | None,
                       reason: str, successor: str | None = None) -> Message:
    """The channel's notice that a cover is over: ended early, at its date, or with the role reassigned."""
    if reason == "expired":
        line = (f":calendar: {user_mention(cover)}'s cover of {user_mention(holder)} as *{role.label}* of `{key}` "
                f"ended after {last_day}; {user_mention(holder)} acts in the role again.")
    elif reason == "reassigned":
        now_held = f"it is now held by {user_mention(successor)}" if successor else "the role is now vacant"
        line = (f":umbrella: {user_mention(cover)}'s cover of {user_mention(holder)} as *{role.label}* of `{key}` "
                f"ended: {now_held}.")
    else:
        line = (f":umbrella: {user_mention(cover)}'s cover of {user_mention(holder)} as *{role.label}* of `{key}` "
                f"was ended early by {user_mention(actor)}; {user_mention(holder)} acts in the role again.")
    return render("note", text=f"Cover of the {role.label} of {key} ended", line=line, context_line=None)


def home_covers(covers: list, *, user_id: str, keys: Mapping[int, str]) -> list[dict]:
    """The Home tab's block of the covers a person holds (covering someone) or has given (being covered)."""
    lines = []
    for cover in covers:
        role, key = Role(cover.role).label, keys.get(cover.initiative_id, "?")
        last_day = cover.until.strftime("%a %d %b %Y")
        reason = f" ({mrkdwn_escape(cover.reason)})" if cover.reason else ""
        if cover.cover_id == user_id:
            lines.append(f"• You cover {user_mention(cover.holder_id)} as *{role}* of `{key}` until {last_day}{reason}")
        else:
            lines.append(f"• {user_mention(cover.cover_id)} covers you as *{role}* of `{key}` until {last_day}"
                         f"{reason}")
    if not lines:
        return []
    text = "*Covers*\n" + "\n".join(lines[:20])
    return [{"type": "divider"},
            {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text":
                "`/steward role cover <key> <role> end` ends a cover before its date."}]}]
