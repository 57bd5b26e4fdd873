"""Channel membership as Steward knows it: the state of each initiative's channel and the messages it holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, update
from sqlmodel import Session, col, func, select

from states import ChannelState, OutboxStatus
from storage.models import Initiative, OutboxMessage

# States in which Slack refuses Steward's messages in the channel until a person acts.
UNUSABLE = (ChannelState.NOT_IN_CHANNEL, ChannelState.ARCHIVED, ChannelState.DELETED)
_WAITING = (OutboxStatus.PENDING, OutboxStatus.SENDING)


@dataclass(frozen=True)
class HeldChannel:
    """A channel Steward cannot use, and what it holds for it."""

    team_id: str
    channel_id: str
    state: ChannelState
    since: datetime | None
    initiatives: list[str]
    held: int


def initiatives_in(*, session: Session, team_id: str, channel_id: str) -> list[Initiative]:
    """The initiatives of a workspace bound to a channel (archived ones too: their state is kept as well)."""
    statement = select(Initiative).where(Initiative.team_id == team_id, Initiative.channel_id == channel_id)
    return list(session.exec(statement.order_by(Initiative.key)))


def set_state(*, session: Session, team_id: str, channel_id: str, state: ChannelState, at: datetime,
              only_from: tuple[ChannelState, ...] | None = None) -> list[Initiative]:
    """Record a channel's state on its initiatives; return those whose state changed (and so need telling).

    The update is conditional (`state <> new`), so two replicas handling the same news change each
    row once, and only the one that changed it tells anyone.
    """
    changed = []
    for initiative in initiatives_in(session=session, team_id=team_id, channel_id=channel_id):
        if initiative.channel_state is state or (only_from is not None and initiative.channel_state not in only_from):
            continue
        result = session.exec(
            update(Initiative)
            .where(col(Initiative.id) == initiative.id, col(Initiative.channel_state) == initiative.channel_state.value)
            .values(channel_state=state.value, channel_state_at=at)
        )
        if result.rowcount == 1:
            session.refresh(initiative)
            changed.append(initiative)
    return changed


def held_count(*, session: Session, team_id: str, channel_id: str) -> int:
    """Messages still owed to a channel (pending or being sent)."""
    return session.exec(
        select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.team_id == team_id, OutboxMessage.channel_id == channel_id,
            col(OutboxMessage.status).in_(_WAITING))
    ).one()


def held_channels(*, session: Session, team_id: str | None = None) -> list[HeldChannel]:
    """Every channel some initiative cannot use, with the messages waiting for it, per channel."""
    statement = select(Initiative).where(col(Initiative.channel_state).in_([s.value for s in UNUSABLE]),
                                         col(Initiative.archived).is_(False))
    if team_id is not None:
        statement = statement.where(Initiative.team_id == team_id)
    grouped: dict[tuple[str, str], list[Initiative]] = {}
    for initiative in session.exec(statement.order_by(Initiative.team_id, Initiative.channel_id, Initiative.key)):
        grouped.setdefault((initiative.team_id, initiative.channel_id), []).append(initiative)
    return [HeldChannel(team_id=team, channel_id=channel, state=rows[0].channel_state,
                        since=min((r.channel_state_at for r in rows if r.channel_state_at), default=None),
                        initiatives=[r.key for r in rows],
                        held=held_count(session=session, team_id=team, channel_id=channel))
            for (team, channel), rows in grouped.items()]


def oldest_overdue_elsewhere(*, session: Session, now: datetime, grace: timedelta) -> OutboxMessage | None:
    """The oldest overdue message whose channel Steward can use: messages held for an invitation do not count."""
    blocked = exists().where(
        Initiative.team_id == OutboxMessage.team_id, Initiative.channel_id == OutboxMessage.channel_id,
        col(Initiative.channel_state).in_([s.value for s in UNUSABLE]))
    statement = (
        select(OutboxMessage)
        .where(and_(col(OutboxMessage.status).in_(_WAITING), OutboxMessage.due_at < now - grace, ~blocked))
        .order_by(OutboxMessage.due_at)
        .limit(1)
    )
    return session.exec(statement).first()


def release_held(*, session: Session, team_id: str, channel_id: str, now: datetime) -> int:
    """Make the messages waiting for a channel due now (Steward is back in it); the count released."""
    result = session.exec(
        update(OutboxMessage)
        .where(OutboxMessage.team_id == team_id, OutboxMessage.channel_id == channel_id,
               OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at > now)
        .values(next_attempt_at=now)
    )
    return result.rowcount
