"""Pages that reach a person: direct messages, the fallback and its repeats, preferences, the Home tab's pages.

Pages are queued naming roles; who receives them is looked up when the outbox sends them (`resolve_*`,
registered as the outbox's resolvers), so a role reassigned while a page waits names the new holder.
What was sent is recorded (`on_*_sent`): the person, the direct message's channel and ts (to update it
in place when anyone acknowledges or resolves), and an entry in the incident's timeline.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

from sqlmodel import Session

from bot.domain import paging
from bot.domain.escalation import Level, PageFallback, PageLevel, fallback_targets, matrix_from_data
from bot.domain.vocabulary import Role
from bot.outbox import CHANNEL_TROUBLE, queue_message
from bot.services.context import Actor, Services
from bot.slack_port import FaultKind, SlackFault, SlackPort
from messages import pages as page_messages
from messages.render import Message
from states import IncidentStatus, OutboxStatus
from storage import incidents, outbox, pages, repository, timeline
from storage.audit import append_event
from storage.db import session_scope
from storage.models import Incident, Initiative, OutboxMessage

log = logging.getLogger(__name__)

DM_PURPOSE = "incident.page_dm"
DM_UPDATE_PURPOSE = "incident.page_dm_update"
FALLBACK_PURPOSE = "incident.fallback_page"
_LEVEL = re.compile(r":level:(\d+)")
_FALLBACK = re.compile(r":fallback:(\d+)")
_TARGET = re.compile(r":(role|user|channel):([A-Za-z0-9_]+)$")


def generation(incident: Incident) -> str:
    """Part of every page key: a severity change starts a new ladder whose levels may repeat numbers."""
    return f"@{int(incident.ladder_from.timestamp())}" if incident.ladder_from else ""


def _levels(incident: Incident) -> tuple[Level, ...]:
    return matrix_from_data(json.loads(incident.levels))


# Queueing (in the flow's transaction)


def queue_level(session: Session, incident: Incident, initiative: Initiative, effect: PageLevel, key: str,
                now: datetime) -> None:
    """A direct page for each role of a level that has people; the thread's page is queued by the caller."""
    if not effect.holders:
        return
    held = dict(effect.holders)
    for role in effect.level.roles:
        _queue_dm(session, incident, initiative, f"{key}:dm:role:{role.value}", now, held.get(role))


def queue_fallback(session: Session, services: Services, incident: Incident, initiative: Initiative,
                   effect: PageFallback, now: datetime) -> None:
    """The fallback paged (and from repeat 1 on the last level reached again): thread, channels, direct pages."""
    channels, people = fallback_targets(services.escalation.fallback, services.settings.steward_admins)
    base = f"incident:{incident.id}:fallback:{effect.number}{generation(incident)}"
    every = services.escalation.repeat_for(_severity(incident))
    message = page_messages.fallback_thread(incident, number=effect.number, level=effect.repeat_level, people=people,
                                            channels=channels, every=every)
    queue_message(session=session, team_id=incident.team_id, key=base, channel_id=incident.channel_id,
                  message=message, purpose=FALLBACK_PURPOSE, thread_key=f"incident:{incident.id}:root",
                  initiative_id=initiative.id, subject_id=incident.id, at=now)
    for channel in channels:
        queue_message(session=session, team_id=incident.team_id, key=f"{base}:channel:{channel}", channel_id=channel,
                      message=_placeholder(incident), purpose=FALLBACK_PURPOSE, initiative_id=initiative.id,
                      subject_id=incident.id, at=now)
    if effect.repeat_level is not None:
        for role in effect.repeat_level.roles:
            _queue_dm(session, incident, initiative, f"{base}:dm:role:{role.value}", now)
    for person in people:
        _queue_dm(session, incident, initiative, f"{base}:dm:user:{person}", now, person)


def _queue_dm(session: Session, incident: Incident, initiative: Initiative, key: str, now: datetime,
              likely: str | None = None) -> None:
    # The channel is a placeholder until the page is sent, when the person and their DM are looked up; the
    # person likely to get it keeps these rows out of the incident channel's pace.
    queue_message(session=session, team_id=incident.team_id, key=key, channel_id=likely or incident.channel_id,
                  message=_placeholder(incident), purpose=DM_PURPOSE, initiative_id=initiative.id,
                  subject_id=incident.id, at=now)


def _placeholder(incident: Incident) -> Message:
    return Message(text=f"INC{incident.number}", blocks=[])


def queue_direct_updates(session: Session, incident: Incident, now: datetime) -> int:
    """Every direct page of the incident is updated in place to say it was acknowledged or resolved."""
    queued = 0
    for page in pages.direct_pages(session=session, incident_id=incident.id):
        queued += queue_message(session=session, team_id=incident.team_id,
                                key=f"{page.outbox_key}:update:{incident.status.value}", channel_id=page.channel_id,
                                message=_placeholder(incident), purpose=DM_UPDATE_PURPOSE, method="chat.update",
                                target_key=page.outbox_key, initiative_id=incident.initiative_id,
                                subject_id=incident.id, at=now)
    return queued


# Resolvers: the outbox calls these just before sending


def _severity(incident: Incident) -> str:
    return incident.severity


def _holders(session: Session, incident: Incident) -> dict[str, str]:
    return repository.active_roles(session=session, initiative_id=incident.initiative_id)


def resolve_thread_page(session: Session, row: OutboxMessage, slack: SlackPort) -> OutboxMessage | None:
    """A level's page (or the fallback's note) in the thread names the holders of today."""
    incident = incidents.get(session=session, incident_id=row.subject_id)
    if incident is None or incident.status is not IncidentStatus.OPEN:
        return None
    holders = _holders(session, incident)
    return _restate(session, row, channel_id=row.channel_id, text=page_messages.fill_holders(row.text, holders),
                    blocks=page_messages.fill_holders(row.blocks, holders), user_id=None)


def resolve_fallback_page(session: Session, row: OutboxMessage, slack: SlackPort) -> OutboxMessage | None:
    """The fallback's thread note, or its message in an escalation channel (with the thread's link and buttons)."""
    target = _TARGET.search(row.key)
    if target is None or target.group(1) != "channel":
        return resolve_thread_page(session, row, slack)
    incident = incidents.get(session=session, incident_id=row.subject_id)
    if incident is None or incident.status is not IncidentStatus.OPEN:
        return None
    link = _link(session, incident)
    initiative = repository.initiative_by_id(session=session, initiative_id=incident.initiative_id)
    number = int(_FALLBACK.search(row.key).group(1))
    message = page_messages.fallback_channel(incident, initiative, number=number, link=link)
    return _restate(session, row, channel_id=row.channel_id, text=message.text, blocks=message.blocks_json(),
                    user_id=None)


def resolve_direct_page(session: Session, row: OutboxMessage, slack: SlackPort) -> OutboxMessage | None:
    """Who this direct page reaches now (the role's holder, or the fallback person), in their DM; None: nobody."""
    incident = incidents.get(session=session, incident_id=row.subject_id)
    if incident is None or incident.status is not IncidentStatus.OPEN:
        return None
    target = _TARGET.search(row.key)
    if target is None:
        return None
    kind, value = target.groups()
    role = Role(value) if kind == "role" else None
    user = _holders(session, incident).get(value) if role else value
    if not user:
        return None  # vacant now: the thread says so
    prefs = pages.preferences(session=session, team_id=incident.team_id, user_id=user)
    if paging.mode_for(prefs, incident.severity) != paging.DM:
        return None  # this person asked for the thread only at this severity
    if _already_paged(session, incident, row.key, user):
        return None  # one person holding two roles of a level gets one direct message
    link = _link(session, incident)
    channel = _direct_channel(session, slack, incident.team_id, user)
    initiative = repository.initiative_by_id(session=session, initiative_id=incident.initiative_id)
    message = page_messages.direct_page(incident, initiative, why=_why(incident, row.key, role), link=link,
                                        level_count=len(_levels(incident)))
    return _restate(session, row, channel_id=channel, text=message.text, blocks=message.blocks_json(), user_id=user)


def resolve_direct_update(session: Session, row: OutboxMessage, slack: SlackPort) -> OutboxMessage | None:
    """A direct page redrawn as the incident is now (acknowledged or resolved), without buttons."""
    incident = incidents.get(session=session, incident_id=row.subject_id)
    page = pages.by_outbox_key(session=session, team_id=row.team_id, outbox_key=row.target_key)
    if incident is None or page is None:
        return None
    initiative = repository.initiative_by_id(session=session, initiative_id=incident.initiative_id)
    target = _TARGET.search(page.outbox_key)
    role = Role(target.group(2)) if target and target.group(1) == "role" else None
    why = _why(incident, page.outbox_key, role)
    if page.via == "channel":
        why = why.replace("You are", "This channel is")
    link = page_messages.thread_link(incident.channel_id, incident.root_ts) if incident.root_ts else None
    message = page_messages.direct_page(incident, initiative, why=why, link=link, level_count=len(_levels(incident)))
    return _restate(session, row, channel_id=page.channel_id, text=message.text, blocks=message.blocks_json(),
                    user_id=page.user_id)


def _link(session: Session, incident: Incident) -> str | None:
    """The thread's link; None when its root cannot be posted (a channel that needs a person): the page still goes.

    While the root is merely on its way, the page waits for it (a transient fault, retried shortly).
    """
    if incident.root_ts:
        return page_messages.thread_link(incident.channel_id, incident.root_ts)
    root = outbox.by_key(session=session, team_id=incident.team_id, key=f"incident:{incident.id}:root")
    if root is not None and (root.status == OutboxStatus.FAILED or root.last_error in CHANNEL_TROUBLE):
        return None
    raise SlackFault("the incident's root message is not in Slack yet", FaultKind.TRANSIENT)


def _why(incident: Incident, key: str, role: Role | None) -> str:
    levels = _levels(incident)
    level_match, fallback_match = _LEVEL.search(key), _FALLBACK.search(key)
    if level_match and role is not None:
        number = int(level_match.group(1))
        level = levels[number - 1] if number <= len(levels) else Level(number, 0, (role,))
        return page_messages.why_level(level, role)
    number = int(fallback_match.group(1)) if fallback_match else 0
    if role is not None:
        level = next((lv for lv in reversed(levels) if role in lv.roles), Level(0, 0, (role,)))
        return page_messages.why_repeat(level, role, number)
    return page_messages.why_fallback(number)


def _already_paged(session: Session, incident: Incident, key: str, user: str) -> bool:
    prefix = key.rsplit(":dm:", 1)[0]
    return any(p.outbox_key.startswith(prefix + ":dm:") and p.user_id == user and p.via == "dm"
               for p in pages.sent_to(session=session, incident_id=incident.id))


def _direct_channel(session: Session, slack: SlackPort, team_id: str, user: str) -> str:
    channel = pages.direct_channel(session=session, team_id=team_id, user_id=user)
    if channel is None:
        channel = slack.open_dm(user=user)  # conversations.open, once per person
        pages.remember_direct_channel(session=session, team_id=team_id, user_id=user, channel_id=channel,
                                      at=datetime.now(UTC))
    return channel


def _restate(session: Session, row: OutboxMessage, *, channel_id: str, text: str, blocks: str,
             user_id: str | None) -> OutboxMessage:
    pages.restate_outbox_row(session=session, row=row, channel_id=channel_id, text=text, blocks=blocks,
                             user_id=user_id)
    return row


# After sending: remember who was paged, and where


def on_thread_page_sent(session: Session, row: OutboxMessage, ts: str, now: datetime) -> None:
    """A level's page (or the fallback's note) reached the thread: the people it named, and the timeline."""
    incident = incidents.get(session=session, incident_id=row.subject_id)
    if incident is None:
        return
    holders = _holders(session, incident)
    levels = _levels(incident)
    level_match = _LEVEL.search(row.key)
    level = int(level_match.group(1)) if level_match else 0
    roles = levels[level - 1].roles if level_match and level <= len(levels) else ()
    users = [holders[role] for role in roles if role in holders]
    if not level_match:  # the fallback: the last level's people and the fallback people are named in it
        users = page_messages.people_named(row.text, row.blocks)
    for user in users:
        pages.record(session=session, team_id=incident.team_id, incident_id=incident.id, user_id=user, via="thread",
                     level=level, outbox_key=row.key, channel_id=row.channel_id, ts=ts, at=now)
    timeline.record(session=session, incident=incident, kind=timeline.PAGE, actor="steward", at=now, message_ts=ts,
                    detail={"level": level, "users": users, "via": "thread"}, dedup=f"page:{row.key}")


def on_direct_page_sent(session: Session, row: OutboxMessage, ts: str, now: datetime) -> None:
    """A direct page reached a person: remember its DM and ts; if the incident moved on meanwhile, update it."""
    incident = incidents.get(session=session, incident_id=row.subject_id)
    if incident is None or not row.user_id:
        return
    level_match = _LEVEL.search(row.key)
    pages.record(session=session, team_id=incident.team_id, incident_id=incident.id, user_id=row.user_id, via="dm",
                 level=int(level_match.group(1)) if level_match else 0, outbox_key=row.key,
                 channel_id=row.channel_id, ts=ts, at=now)
    timeline.record(session=session, incident=incident, kind=timeline.PAGE, actor="steward", at=now,
                    message_ts=ts,
                    detail={"user": row.user_id, "via": "dm", "key": row.key}, dedup=f"page:{row.key}")
    if incident.status is not IncidentStatus.OPEN:
        queue_direct_updates(session, incident, now)


def on_fallback_sent(session: Session, row: OutboxMessage, ts: str, now: datetime) -> None:
    target = _TARGET.search(row.key)
    if target is not None and target.group(1) == "channel":
        incident = incidents.get(session=session, incident_id=row.subject_id)
        if incident is not None:
            pages.record(session=session, team_id=incident.team_id, incident_id=incident.id, user_id=target.group(2),
                         via="channel", level=0, outbox_key=row.key, channel_id=row.channel_id, ts=ts, at=now)
            if incident.status is not IncidentStatus.OPEN:
                queue_direct_updates(session, incident, now)
            timeline.record(session=session, incident=incident, kind=timeline.PAGE, actor="steward", at=now,
                            message_ts=ts,
                            detail={"channel": target.group(2), "via": "channel"}, dedup=f"page:{row.key}")
        return
    on_thread_page_sent(session, row, ts, now)


RESOLVERS = {"incident.page": resolve_thread_page, FALLBACK_PURPOSE: resolve_fallback_page,
             DM_PURPOSE: resolve_direct_page, DM_UPDATE_PURPOSE: resolve_direct_update}
ON_SENT = {"incident.page": on_thread_page_sent, DM_PURPOSE: on_direct_page_sent, FALLBACK_PURPOSE: on_fallback_sent}


# Preferences and the Home tab


def set_preferences(services: Services, actor: Actor, command: paging.PagePreferenceSet) -> Message:
    """`/steward me pages dm|thread [sev1..sev4]`: how this person is paged, per severity or overall; bare
    `/steward me pages` shows it."""
    with session_scope(services.engine) as session:
        if command.mode is None:
            shown = paging.modes(pages.preferences(session=session, team_id=actor.team_id, user_id=actor.user_id))
            return page_messages.preferences_reply(shown, paging.DEFAULT_MODES)
        pages.set_preference(session=session, team_id=actor.team_id, user_id=actor.user_id,
                             severities=list(command.severities) or [paging.ALL], mode=command.mode, at=actor.now)
        choices = paging.modes(pages.preferences(session=session, team_id=actor.team_id, user_id=actor.user_id))
        append_event(session=session, team_id=actor.team_id, actor=actor.user_id, action="pages.preferences_set",
                     target=actor.user_id, payload={"mode": command.mode,
                                                    "severities": list(command.severities) or ["all"]},
                     at=actor.now)
    return page_messages.preferences_reply(choices, paging.DEFAULT_MODES)


def home_blocks(session: Session, *, team_id: str, user_id: str) -> list[dict]:
    """The Home tab's block of this person's open (unacknowledged) pages, with Acknowledge buttons."""
    found = pages.open_for_user(session=session, team_id=team_id, user_id=user_id)
    pairs = [(incident, repository.initiative_by_id(session=session, initiative_id=incident.initiative_id))
             for incident in found]
    return page_messages.home_blocks(pairs)
