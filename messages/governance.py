"""What Steward says about readiness, the governance record and deviations."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

from bot.domain.gates import DIMENSIONS, GOVERNANCE_ITEMS, GovernanceRecord
from messages.render import Message, local_time, mrkdwn_escape, render, user_mention


class SignoffLike(Protocol):
    decision: str
    signer: str
    signed_at: datetime


def record_entries(record: GovernanceRecord) -> dict[str, str | None]:
    """Each of the six items as it reads (None when missing); a governance sign-off keeps these as its evidence."""
    escalation = "; ".join(
        f"{severity.value}: " + ", ".join(f"L{level.number} +{level.after_minutes}m "
                                          + "/".join(role.label for role in level.roles) for level in ladder)
        for severity, ladder in record.escalation.items())
    thresholds = record.thresholds
    return {
        "use-case": record.texts.get("use-case"),
        "owner": user_mention(record.owner) if record.owner else None,
        "thresholds": ", ".join(f"{kpi} {value:g}" for kpi, value in thresholds.items()) if thresholds else None,
        "escalation": escalation,
        "compliance": record.texts.get("compliance"),
        "audit-spec": record.texts.get("audit-spec"),
    }


def readiness_recorded(*, key: str, dimension: str, ready: bool, latest: Mapping[str, bool]) -> Message:
    """The reply to a readiness assessment, with where every dimension now stands."""
    lines = [f"{':white_check_mark:' if latest[d] else ':x:'} {label}" if d in latest else
             f":white_circle: {label}: not assessed" for d, label in DIMENSIONS.items()]
    return render("note", text="Readiness recorded",
                  line=f"Recorded *{DIMENSIONS[dimension]}* as *{'ready' if ready else 'not ready'}* for `{key}`.\n"
                       + "\n".join(lines), context_line=None)


def record(*, key: str, timezone: str, entries: Mapping[str, str | None], signed: SignoffLike | None,
           item_set: str | None = None) -> Message:
    """The governance record, item by item, and whether it is signed (after setting `item_set`, if any)."""
    lines = []
    for item, label in GOVERNANCE_ITEMS.items():
        value = entries[item]
        shown = (value if item == "owner" else mrkdwn_escape(value)) if value else "*missing*"
        lines.append(f"{':white_check_mark:' if value else ':x:'} *{item}* ({label}): {shown}")
    status = (f"Signed ({signed.decision}) by {user_mention(signed.signer)} on "
              f"{local_time(signed.signed_at, timezone)}"
              if signed else f"Not signed yet: `/steward signoff {key} governance approve`")
    head = f"Set *{item_set}*. " if item_set else ""
    return render("note", text=f"Governance record of {key}",
                  line=f"{head}Governance record of `{key}`:\n" + "\n".join(lines), context_line=status)


def deviation_notice(*, key: str, actor: str, text: str) -> Message:
    """The notice in the initiative's channel that someone logged a deviation."""
    return render("note", text=f"Deviation logged on {key}",
                  line=f":memo: {user_mention(actor)} logged a deviation on `{key}`:\n>"
                       + mrkdwn_escape(text).replace("\n", "\n>"),
                  context_line="Patterns that look like noise in week two often reveal systematic issues by "
                               "week six.")


def deviation_logged(*, key: str, number: int) -> Message:
    """The reply to the person who logged a deviation."""
    return render("note", text="Deviation logged", line=f":memo: Logged deviation D{number} on `{key}`.",
                  context_line=None)
