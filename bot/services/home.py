"""The Home tab: a person's initiatives, the roles they hold, stages, open prompts and open incidents."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.domain.cadence import is_overdue
from bot.domain.vocabulary import Role
from bot.services import cover, pages
from bot.services.context import Services
from messages import home as home_messages
from states import IncidentStatus
from storage import incidents, outbox, repository, reviews
from storage.db import read_scope, session_scope

MAX_INITIATIVES = 15


def home_view(services: Services, *, team_id: str, user_id: str, now: datetime | None = None) -> dict:
    """Build the Home view for one person (admins see every initiative of the workspace); open reviews overdue
    at `now` are marked so."""
    now = now or datetime.now(UTC)
    with read_scope(services.engine) as session:
        held: dict[int, list[Role]] = {}
        for row in repository.roles_held_by(session=session, team_id=team_id, user_id=user_id):
            held.setdefault(row.initiative_id, []).append(Role(row.role))
        admin = user_id in services.settings.steward_admins
        initiatives = repository.initiatives_of(session=session, team_id=team_id, ids=None if admin else list(held),
                                                limit=MAX_INITIATIVES)
        open_reviews = reviews.open_for_initiatives(session=session, initiative_ids=[i.id for i in initiatives])
        cards = [home_messages.Card(
            initiative=initiative, roles=held.get(initiative.id, []),
            reviews=[r for r in open_reviews if r.initiative_id == initiative.id],
            overdue=frozenset(r.number for r in open_reviews if r.initiative_id == initiative.id
                              and is_overdue(r.due_at, now=now)),
            incidents=[i for i in incidents.for_initiative(session=session, initiative_id=initiative.id)
                       if i.status is not IncidentStatus.RESOLVED],
        ) for initiative in initiatives]
        cover_blocks = cover.home_blocks(session, team_id=team_id, user_id=user_id)  # D: covers held and given
        page_blocks = pages.home_blocks(session, team_id=team_id, user_id=user_id)  # C: open pages, Acknowledge
    view = home_messages.view(cards, user_id=user_id, titles={r.kind: r.title for r in services.cadence.rules},
                              truncated=len(initiatives) == MAX_INITIATIVES)
    view["blocks"][2:2] = cover_blocks  # D: right under the header, before the initiatives
    view["blocks"][2:2] = page_blocks  # C: the person's open pages come first
    return view


def queue_home(services: Services, *, team_id: str, user_id: str, opened: str, now: datetime) -> bool:
    """Queue the person's Home tab for views.publish; the request that asked returns at once.

    views.publish is rate-limited (Tier 4): it goes through the outbox, which paces it and retries a
    429 later, never in a request thread. `opened` (the event's ts) keys the row, so a retried event
    queues nothing more. False when it was queued before.
    """
    view = home_view(services, team_id=team_id, user_id=user_id, now=now)
    with session_scope(services.engine) as session:
        queued = outbox.enqueue(session=session, team_id=team_id, key=f"home:{user_id}:{opened}"[:160],
                                channel_id=user_id, text="", blocks=json.dumps(view, ensure_ascii=False),
                                purpose="home", method="views.publish", user_id=user_id, at=now)
    services.notify_outbox()
    return queued
