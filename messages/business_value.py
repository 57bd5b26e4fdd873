"""What Steward says about the business value an initiative committed to deliver (issue 17 point 7)."""

from __future__ import annotations

from collections.abc import Sequence

from messages.render import Message, local_time, mrkdwn_escape, render, user_mention


def recorded_reply(key: str, commitment: str, *, replaced: bool) -> Message:
    verb = "replaces the earlier commitment" if replaced else "is recorded"
    return render("note", text="Business value recorded", context_line=None, line=(
        f":dart: The committed business value of `{key}` {verb}:\n>{mrkdwn_escape(commitment)[:2500]}\n"
        f"Every monthly performance review asks first whether it is being delivered."))


def notice(key: str, commitment: str, *, actor: str) -> Message:
    """The channel hears what the initiative committed to deliver."""
    return render("note", text="Business value committed", context_line=None, line=(
        f":dart: {user_mention(actor)} recorded the business value `{key}` commits to deliver:\n"
        f">{mrkdwn_escape(commitment)[:2500]}"))


def only_owner_or_admins(key: str) -> str:
    return (f"Only the business owner of `{key}` or a Steward admin can record the business value it commits to "
            f"deliver.")


def deviation_text(numbers: Sequence[int], commitment: str | None) -> str:
    """The deviation logged when two monthly reviews in a row said the committed value is not delivered."""
    reviews = " and ".join(f"R{n}" for n in numbers)
    what = f" ({commitment[:300]})" if commitment else ""
    return (f"Committed business value not delivered: monthly performance reviews {reviews} in a row answered "
            f"\"no\"{what}.")


def not_delivered_notice(key: str, numbers: Sequence[int], evidence: Sequence[str], *, owner: str | None,
                         sponsor: str | None, admins: Sequence[str], deviation: int, zone: str = "UTC",
                         at=None) -> Message:
    """To the business owner and executive sponsor: two monthly reviews in a row said the value is not delivered."""
    people = [f"{user_mention(owner)} (business owner)" if owner else None,
              f"{user_mention(sponsor)} (executive sponsor)" if sponsor else None]
    named = [p for p in people if p]
    if len(named) < 2:
        vacant = "business owner" if not owner else "executive sponsor"
        if not owner and not sponsor:
            vacant = "business owner and executive sponsor"
        named.append(f"the Steward admins for the vacant {vacant}: "
                     + (", ".join(user_mention(a) for a in sorted(admins)) or "none configured"))
    quotes = "\n".join(f">R{n}: {mrkdwn_escape(text)[:600]}" for n, text in zip(numbers, evidence, strict=False))
    when = f" ({local_time(at, zone)})" if at is not None else ""
    return render("note", text=f"{key}: committed value not delivered", context_line=None, line=(
        f":rotating_light: *Committed value not delivered:* {' and '.join(f'R{n}' for n in numbers)}, two monthly "
        f"performance reviews of `{key}` in a row, answered *no*{when}. Logged as deviation #{deviation}. "
        f"{'; '.join(named)}: please decide what happens next.\n{quotes}"))


def missing_way(key: str) -> str:
    """The way forward for the readiness gate's business-value check."""
    return f"`/steward value {key} <committed value and target...>`"
