"""Channel membership as state Steward knows: checked on binding, kept by Slack's events and by send errors.

A public channel is joined as soon as an initiative is bound to it (chat:write.public posts without
membership, but ephemerals, file shares and history reads need it); a private one is checked with
conversations.info and, without the bot, needs `/invite @Steward`. Losing the channel later (removed,
archived, deleted) is recorded on its initiatives, their business owners are told by direct message,
and the messages held for it are reported per channel (`/healthz` detail, `initiative show`, Home)
instead of making every replica unhealthy. Every change is a conditional update, so a retried event
or two replicas hearing the same news tell the owner once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime

from slack_sdk import WebClient
from sqlalchemy import Engine
from sqlmodel import Session

from bot import clock
from bot.domain.vocabulary import Role
from bot.outbox import queue_message
from bot.slack_port import classify, make_web_client
from messages import channels as channel_messages
from states import ChannelState
from storage import channels, repository
from storage.db import session_scope
from storage.models import Initiative

log = logging.getLogger(__name__)

# Send errors that mean the channel, not the message, is the problem (a person must act).
SEND_ERRORS = {
    "not_in_channel": ChannelState.NOT_IN_CHANNEL,
    "channel_not_found": ChannelState.NOT_IN_CHANNEL,  # a private channel without the bot looks absent
    "is_archived": ChannelState.ARCHIVED,
}
UNUSABLE = channels.UNUSABLE
_clients: dict[tuple[str | None, str], WebClient] = {}


def _client(settings) -> WebClient:
    """A Slack client for membership checks: no retries in place, so a request thread never sleeps on it."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    key = (token, settings.slack_api_url)
    if key not in _clients:
        _clients[key] = make_web_client(token=token, base_url=settings.slack_api_url, interactive=False, timeout=2)
    return _clients[key]


def check(settings, channel_id: str) -> ChannelState:
    """Ask Slack whether Steward can use a channel, joining it when it is public.

    conversations.info tells public from private, archived, and whether the bot is in; a public
    channel is then joined (conversations.join, channels:join). A private channel the bot is not in
    looks absent to it (channel_not_found). When Slack cannot be asked (rate-limited, unreachable,
    a scope missing) the answer is UNCHECKED: the first send will tell.
    """
    client = _client(settings)
    try:
        info = client.conversations_info(channel=channel_id)["channel"]
    except Exception as exc:
        fault = _fault(exc)
        if fault == "channel_not_found":
            return ChannelState.NOT_IN_CHANNEL
        log.warning("could not check Steward's membership of %s: %s", channel_id, fault)
        return ChannelState.UNCHECKED
    if info.get("is_archived") or info.get("archived"):
        return ChannelState.ARCHIVED
    if info.get("is_member"):
        return ChannelState.MEMBER
    if info.get("is_private") or info.get("is_group"):
        return ChannelState.NOT_IN_CHANNEL
    try:
        client.conversations_join(channel=channel_id)
    except Exception as exc:
        fault = _fault(exc)
        log.warning("could not join %s: %s", channel_id, fault)
        if fault == "method_not_supported_for_channel_type":
            return ChannelState.NOT_IN_CHANNEL
        if fault == "is_archived":
            return ChannelState.ARCHIVED
        return ChannelState.UNCHECKED
    return ChannelState.MEMBER


def _fault(exc: Exception) -> str:
    try:
        return classify(exc).error
    except Exception:
        return type(exc).__name__


def record(engine: Engine, *, team_id: str, channel_id: str, state: ChannelState, now: datetime,
           only_from: tuple[ChannelState, ...] | None = None) -> list[str]:
    """Record what Slack told about a channel; tell the business owners of its initiatives when it changed.

    Returns the keys of the initiatives whose state changed (none: the news was known already).
    """
    with session_scope(engine) as session:
        before = {i.id: i.channel_state
                  for i in channels.initiatives_in(session=session, team_id=team_id, channel_id=channel_id)}
        changed = channels.set_state(session=session, team_id=team_id, channel_id=channel_id, state=state, at=now,
                                     only_from=only_from)
        if not changed:
            return []
        held = channels.held_count(session=session, team_id=team_id, channel_id=channel_id)
        if state is ChannelState.MEMBER:
            # What waited for the channel is due again now, not at its next back-off.
            channels.release_held(session=session, team_id=team_id, channel_id=channel_id, now=now)
        # Owners hear of a loss, and of a return after a loss (not of a first check that merely succeeded).
        told = [i for i in changed if state in UNUSABLE or before.get(i.id) in UNUSABLE]
        _tell_owners(session, told, channel_id=channel_id, state=state, held=held, now=now)
    log.info("channel %s of %s is now %s (%s)", channel_id, team_id, state, ", ".join(i.key for i in changed))
    return [i.key for i in changed]


def _tell_owners(session: Session, changed: Iterable[Initiative], *, channel_id: str, state: ChannelState,
                 held: int, now: datetime) -> None:
    """One direct message per business owner, naming their initiatives in the channel."""
    by_owner: dict[str, list[Initiative]] = {}
    for initiative in changed:
        owner = repository.active_roles(session=session, initiative_id=initiative.id).get(Role.BUSINESS_OWNER)
        if owner:
            by_owner.setdefault(owner, []).append(initiative)
    for owner, initiatives in by_owner.items():
        keys = [i.key for i in initiatives]
        if state is ChannelState.MEMBER:
            message = channel_messages.regained(channel_id, keys=keys, held=held)
        elif state in UNUSABLE:
            message = channel_messages.lost(channel_id, state, keys=keys, held=held)
        else:
            continue
        # chat.postMessage to a user id posts in the app's direct message with that person (chat:write).
        queue_message(session=session, team_id=initiatives[0].team_id,
                      key=f"channel:{channel_id}:{state}:{owner}:{now.timestamp():.6f}",
                      channel_id=owner, message=message, purpose="channel.membership",
                      initiative_id=initiatives[0].id, at=now)


def send_refused(engine: Engine, *, team_id: str, channel_id: str, error: str, now: datetime) -> bool:
    """The outbox's hook: Slack refused a send with `error`; True when that error is about the channel.

    A refusal in a channel an initiative uses is recorded like the membership event would be, so the
    owner hears of it even when Slack's event was missed.
    """
    state = SEND_ERRORS.get(error)
    if state is None or not channel_id or channel_id[0] not in "CG":
        return False
    try:
        record(engine, team_id=team_id, channel_id=channel_id, state=state, now=now)
    except Exception:
        log.exception("could not record that %s refused Steward (%s)", channel_id, error)
    return True


def rejoined(settings, engine: Engine, *, team_id: str, channel_id: str, now: datetime) -> list[str]:
    """A channel came back (unarchived): check it again (joining a public one) and record the answer."""
    state = check(settings, channel_id)
    if state is ChannelState.UNCHECKED:
        return []
    return record(engine, team_id=team_id, channel_id=channel_id, state=state, now=now)


def trouble_hook(engine: Engine) -> Callable[[str, str, str], None]:
    """The outbox's `on_channel_trouble`: (team_id, channel_id, error) of a send Slack refused for the channel."""

    def on_channel_trouble(team_id: str, channel_id: str, error: str) -> None:
        send_refused(engine, team_id=team_id, channel_id=channel_id, error=error, now=clock.now())

    return on_channel_trouble
