"""What Steward says about the production roles: changes, the channel's notices, and refusals."""

from __future__ import annotations

from collections.abc import Mapping

from bot.domain.vocabulary import REQUIRED_ROLES, Role
from messages.render import Message, render, user_mention


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
