"""The Home tab: a person's initiatives, the roles they hold, stages, open prompts and open incidents."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from bot.domain.vocabulary import Role
from messages.channels import state_note
from messages.render import local_time, mrkdwn_escape, render_view
from states import ChannelState, IncidentStatus, Stage

SHOWN_PER_CARD = 5  # prompts and incidents listed on one initiative's card


class InitiativeLike(Protocol):
    key: str
    name: str
    channel_id: str
    stage: Stage
    timezone: str
    channel_state: ChannelState


class ReviewLike(Protocol):
    number: int
    kind: str
    due_at: datetime


class IncidentLike(Protocol):
    number: int
    severity: str
    status: IncidentStatus
    title: str


@dataclass(frozen=True)
class Card:
    """One initiative as its Home card shows it."""

    initiative: InitiativeLike
    roles: Sequence[Role] = ()  # the roles the person holds on it (none: an admin's view)
    reviews: Sequence[ReviewLike] = ()  # open, the earliest due first
    incidents: Sequence[IncidentLike] = field(default_factory=tuple)  # not resolved, the oldest first
    overdue: frozenset[int] = frozenset()  # numbers of the open reviews that are overdue


def view(cards: Sequence[Card], *, user_id: str, titles: Mapping[str, str], truncated: bool) -> dict:
    """The Home view; `titles` names each review kind, `truncated` says that more initiatives exist."""
    shown = []
    for card in cards:
        zone = card.initiative.timezone
        shown.append({
            "initiative": card.initiative,
            "roles": [role.label for role in card.roles],
            "channel_note": state_note(card.initiative.channel_state, card.initiative.channel_id),
            "prompts": [(":rotating_light: *overdue* " if r.number in card.overdue else "")
                        + f"R{r.number} {titles.get(r.kind, r.kind)}, due {local_time(r.due_at, zone)}"
                        for r in card.reviews[:SHOWN_PER_CARD]],
            "incidents": [f"INC{i.number} {i.severity} {i.status}: {mrkdwn_escape(i.title)}"
                          for i in card.incidents[:SHOWN_PER_CARD]],
        })
    return render_view("home", cards=shown, user_id=user_id, truncated=truncated)
