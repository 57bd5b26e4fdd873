"""Flows for creating, listing and showing initiatives."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError

from bot.domain import permissions
from bot.domain.commands import USAGE, InitiativeCreate, InitiativeList, InitiativeShow
from bot.domain.vocabulary import REQUIRED_ROLES, Role, Stage
from bot.errors import Conflict, PermissionDenied, UsageError
from bot.outbox import queue_message
from bot.services import cadence, incidents
from bot.services.context import Actor, Services
from bot.services.kpis import current_standings, refresh_silence, standing_line
from bot.services.lookup import require_initiative
from messages.render import Message, local_time, mrkdwn_escape, render, stage_title
from storage import incidents as incident_rows
from storage import outbox, repository
from storage.audit import append_event
from storage.db import read_scope, session_scope
from storage.models import Initiative


def create(services: Services, actor: Actor, command: InitiativeCreate) -> Message:
    """Create an initiative bound to the channel the command was typed in."""
    usage = USAGE["initiative create"]
    if not permissions.is_admin(actor.user_id, services.settings.steward_admins):
        what = "import initiatives" if command.is_import else "create initiatives"
        raise PermissionDenied(f"Only Steward admins may {what}. Ask one of: "
                               f"{_admin_list(services)}.")
    if not actor.channel_id or actor.channel_id[0] not in "CG":
        raise UsageError("Create an initiative from the channel it should post in, not a direct message.",
                         usage=usage)
    zone = command.timezone or services.settings.steward_timezone
    if command.country is not None:
        _check_country(command.country, usage)
    if command.since is not None:
        local_today = actor.now.astimezone(ZoneInfo(zone)).date()
        if command.since > local_today:
            raise UsageError(f"`since={command.since.isoformat()}` is in the future.", usage=usage)
        stage_entered_at = datetime.combine(command.since, time(0), ZoneInfo(zone)).astimezone(UTC)
    else:
        stage_entered_at = actor.now
    initiative = Initiative(
        team_id=actor.team_id, key=command.key, name=command.name, channel_id=actor.channel_id,
        stage=command.stage.value, stage_entered_at=stage_entered_at, timezone=zone,
        holiday_country=command.country, created_by=actor.user_id, created_at=actor.now,
        launch_date=stage_entered_at.astimezone(ZoneInfo(zone)).date() if command.stage is Stage.LAUNCH else None,
    )
    try:
        with session_scope(services.engine) as session:
            if repository.get_initiative(session=session, team_id=actor.team_id, key=command.key):
                raise Conflict(f"An initiative with key `{command.key}` already exists; pick another key.")
            session.add(initiative)
            session.flush()
            initiative.cadence_next_at = cadence.next_due_at(initiative, services.cadence, after=actor.now)
            refresh_silence(session, services, initiative, now=actor.now)
            append_event(session, team_id=actor.team_id, actor=actor.user_id,
                         action="initiative.imported" if command.is_import else "initiative.created",
                         target=initiative.key,
                         payload={"name": initiative.name, "channel": initiative.channel_id,
                                  "stage": initiative.stage, "stage_entered_at": initiative.stage_entered_at,
                                  "timezone": zone, "holiday_country": command.country},
                         at=actor.now)
            notice = render("notice_initiative_created", initiative=initiative, actor=actor.user_id,
                            stage_title=stage_title(initiative.stage), imported=command.is_import)
            queue_message(session, team_id=actor.team_id, key=f"initiative:{initiative.id}:created",
                          channel_id=initiative.channel_id, message=notice, purpose="notice",
                          initiative_id=initiative.id, at=actor.now)
    except IntegrityError:
        # Two creates of one key raced; the unique constraint kept one.
        raise Conflict(f"An initiative with key `{command.key}` already exists; pick another key.") from None
    services.notify_outbox()
    return render("initiative_created", initiative=initiative, stage_title=stage_title(initiative.stage))


def list_all(services: Services, actor: Actor, command: InitiativeList) -> Message:
    with read_scope(services.engine) as session:
        initiatives = repository.list_initiatives(session=session, team_id=actor.team_id)
        roles = repository.active_roles_for_many(session=session, initiative_ids=[i.id for i in initiatives])
    items = [
        {"key": i.key, "name": i.name, "channel_id": i.channel_id, "stage_title": stage_title(i.stage),
         "vacant": [r.label for r in REQUIRED_ROLES if r not in roles[i.id]]}
        for i in initiatives
    ]
    return render("initiative_list", initiatives=items)


def show(services: Services, actor: Actor, command: InitiativeShow) -> Message:
    with read_scope(services.engine) as session:
        initiative = require_initiative(session, team_id=actor.team_id, key=command.key)
        roles = repository.active_roles(session=session, initiative_id=initiative.id)
        problems = outbox.undelivered_for_initiative(session, initiative_id=initiative.id)
        incident_lines = incidents.summary_lines(session, initiative)
        deviation_lines = [f"• {local_time(d.logged_at, initiative.timezone, '%d %b %Y')} "
                           f"{'<@' + d.logged_by + '>' if d.logged_by.startswith(('U', 'W')) else d.logged_by}: "
                           f"{mrkdwn_escape(d.text)[:200]}"
                           for d in incident_rows.recent_deviations(session, initiative_id=initiative.id)]
        kpi_lines = [standing_line(s) for s in current_standings(session, initiative)]
    role_lines = []
    for role in Role:
        holder = roles.get(role)
        if holder:
            role_lines.append(f"• {role.label}: <@{holder}>")
        elif role.required:
            role_lines.append(f"• {role.label}: *vacant* (required)")
    delivery = [
        f"• {p.purpose} queued {local_time(p.created_at, initiative.timezone)}: `{p.last_error}` "
        f"({'gave up' if p.status == outbox.FAILED else 'retrying'}, {p.attempts} attempts)"
        for p in problems
    ]
    return render("initiative_show", initiative=initiative, stage_title=stage_title(initiative.stage),
                  role_lines=role_lines, delivery_problems=delivery,
                  extra_sections=[section for section in (
                      "*KPIs* (latest against the threshold in force)\n" + "\n".join(kpi_lines),
                      "\n".join(incident_lines),
                      "*Deviations* (latest)\n" + "\n".join(deviation_lines) if deviation_lines else "",
                  ) if section])


def _admin_list(services: Services) -> str:
    admins = sorted(services.settings.steward_admins)
    return ", ".join(f"<@{a}>" for a in admins) if admins else "nobody is configured (set STEWARD_ADMINS)"


def _check_country(country: str, usage: str) -> None:
    import holidays

    if country not in holidays.list_supported_countries():
        raise UsageError(f"`{country}` is not a country the holidays calendar knows.", usage=usage)
