"""The Home tab: a person's initiatives, the roles they hold, stages, open prompts and open incidents."""

from __future__ import annotations

from sqlmodel import col, select

from bot.domain.vocabulary import Role
from bot.services.context import Services
from messages.render import local_time, mrkdwn_escape, render_view, stage_title
from storage import reviews
from storage.db import read_scope
from storage.models import Incident, Initiative, Review, RoleAssignment

MAX_INITIATIVES = 15


def home_view(services: Services, *, team_id: str, user_id: str) -> dict:
    """Build the Home view for one person (admins see every initiative of the workspace)."""
    with read_scope(services.engine) as session:
        held = list(session.exec(select(RoleAssignment).where(
            RoleAssignment.team_id == team_id, RoleAssignment.user_id == user_id,
            col(RoleAssignment.ended_at).is_(None))))
        roles_by_initiative: dict[int, list[str]] = {}
        for row in held:
            roles_by_initiative.setdefault(row.initiative_id, []).append(Role(row.role).label)
        statement = select(Initiative).where(Initiative.team_id == team_id, col(Initiative.archived).is_(False))
        if user_id not in services.settings.steward_admins:
            statement = statement.where(col(Initiative.id).in_(list(roles_by_initiative) or [-1]))
        initiatives = list(session.exec(statement.order_by(Initiative.key).limit(MAX_INITIATIVES)))
        ids = [i.id for i in initiatives] or [-1]
        open_reviews = list(session.exec(select(Review).where(col(Review.initiative_id).in_(ids),
                                                              col(Review.status).in_(reviews.OPEN))
                                         .order_by(Review.due_at)))
        open_incidents = list(session.exec(select(Incident).where(col(Incident.initiative_id).in_(ids),
                                                                  col(Incident.status) != "resolved")
                                           .order_by(Incident.declared_at)))
    cards = []
    for initiative in initiatives:
        prompts = [r for r in open_reviews if r.initiative_id == initiative.id]
        fires = [i for i in open_incidents if i.initiative_id == initiative.id]
        rule_title = {r.kind: r.title for r in services.cadence.rules}
        cards.append({
            "initiative": initiative,
            "stage_title": stage_title(initiative.stage),
            "roles": roles_by_initiative.get(initiative.id, []),
            "prompts": [f"R{r.number} {rule_title.get(r.kind, r.kind)}, due {local_time(r.due_at, initiative.timezone)}"
                        for r in prompts[:5]],
            "incidents": [f"INC{i.number} {i.severity} {i.status}: {mrkdwn_escape(i.title)}" for i in fires[:5]],
        })
    return render_view("home", cards=cards, user_id=user_id, truncated=len(initiatives) == MAX_INITIATIVES)
