"""Flows for creating, listing and showing initiatives."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from bot.domain import permissions
from bot.domain.commands import InitiativeCreate, InitiativeList, InitiativeShow
from bot.domain.gates import stage_target
from bot.domain.vocabulary import Stage
from bot.errors import Conflict, PermissionDenied, UsageError
from bot.outbox import queue_message
from bot.services import artifacts, cadence, cover, incidents, prometheus_sources, rollout, stages
from bot.services import channels as channel_membership
from bot.services.context import Actor, Services
from bot.services.kpis import current_standings, refresh_silence
from bot.services.lookup import require_initiative
from messages import initiatives as initiative_messages
from messages import stages as stage_messages
from messages.render import Message
from states import ChannelState
from storage import channels as channel_rows
from storage import incidents as incident_rows
from storage import outbox, repository
from storage.audit import append_event
from storage.db import read_scope, session_scope
from storage.models import Initiative


def create(services: Services, actor: Actor, command: InitiativeCreate) -> Message:
    """Create an initiative bound to the channel the command was typed in."""
    if not permissions.is_admin(actor.user_id, services.settings.steward_admins):
        raise PermissionDenied(initiative_messages.only_admins(is_import=command.is_import,
                                                               admins=services.settings.steward_admins))
    if not actor.channel_id or actor.channel_id[0] not in "CG":
        raise UsageError(initiative_messages.not_in_a_channel())
    zone = command.timezone or services.settings.steward_timezone
    if command.country is not None:
        _check_country(command.country)
    if command.since is not None:
        local_today = actor.now.astimezone(ZoneInfo(zone)).date()
        if command.since > local_today:
            raise UsageError(initiative_messages.since_in_future(command.since))
        stage_entered_at = datetime.combine(command.since, time(0), ZoneInfo(zone)).astimezone(UTC)
    else:
        stage_entered_at = actor.now
    # Join a public channel now (ephemerals, charts and history need membership); a private one needs an invitation.
    channel_state = channel_membership.check(services.settings, actor.channel_id)
    initiative = Initiative(
        team_id=actor.team_id, key=command.key, name=command.name, channel_id=actor.channel_id,
        stage=command.stage, stage_entered_at=stage_entered_at, timezone=zone,
        holiday_country=command.country, created_by=actor.user_id, created_at=actor.now,
        launch_date=stage_entered_at.astimezone(ZoneInfo(zone)).date() if command.stage is Stage.LAUNCH else None,
        channel_state=channel_state, channel_state_at=actor.now,
    )
    try:
        with session_scope(services.engine) as session:
            if repository.get_initiative(session=session, team_id=actor.team_id, key=command.key):
                raise Conflict(initiative_messages.key_taken(command.key))
            repository.add_initiative(session=session, initiative=initiative)
            initiative.cadence_next_at = cadence.next_due_at(initiative, services.cadence, after=actor.now)
            initiative.overrun_at = stages.overrun_moment(initiative)
            before = cadence.record_before_steward(session, initiative, services.cadence, now=actor.now) \
                if command.is_import else 0
            refresh_silence(session, services, initiative, now=actor.now)
            append_event(session=session, team_id=actor.team_id, actor=actor.user_id,
                         action="initiative.imported" if command.is_import else "initiative.created",
                         target=initiative.key,
                         payload={"name": initiative.name, "channel": initiative.channel_id,
                                  "stage": initiative.stage, "stage_entered_at": initiative.stage_entered_at,
                                  "timezone": zone, "holiday_country": command.country,
                                  "reviews_before_steward": before},
                         at=actor.now)
            notice = initiative_messages.created_notice(
                initiative, actor=actor.user_id, imported=command.is_import, before_steward=before,
                target=stage_messages.target_line(initiative.stage, stage_target(
                    initiative.stage, stage_entered_at.astimezone(ZoneInfo(zone)).date())))
            queue_message(session=session, team_id=actor.team_id, key=f"initiative:{initiative.id}:created",
                          channel_id=initiative.channel_id, message=notice, purpose="notice",
                          initiative_id=initiative.id, at=actor.now)
    except repository.Duplicate:
        # Two creates of one key raced; the unique constraint kept one.
        raise Conflict(initiative_messages.key_taken(command.key)) from None
    if channel_state is not ChannelState.UNCHECKED:
        # Other initiatives in the channel learn the news too (their owners are told if it changed).
        channel_membership.record(services.engine, team_id=actor.team_id, channel_id=actor.channel_id,
                                  state=channel_state, now=actor.now)
    services.notify_outbox()
    return initiative_messages.created(initiative)


def list_all(services: Services, actor: Actor, command: InitiativeList) -> Message:
    with read_scope(services.engine) as session:
        initiatives = repository.list_initiatives(session=session, team_id=actor.team_id)
        holders = repository.active_roles_for_many(session=session, initiative_ids=[i.id for i in initiatives])
    return initiative_messages.listing(initiatives, holders)


def show(services: Services, actor: Actor, command: InitiativeShow) -> Message:
    with read_scope(services.engine) as session:
        initiative = require_initiative(session, team_id=actor.team_id, key=command.key)
        return initiative_messages.detail(
            initiative,
            holders=repository.assigned_roles(session=session, initiative_id=initiative.id),
            covered=cover.covering(session, initiative_id=initiative.id),  # D: "covered by …"
            undelivered=outbox.undelivered_for_initiative(session=session, initiative_id=initiative.id),
            standings=current_standings(session, initiative, now=actor.now, policy=services.kpis),
            incident_lines=incidents.summary_lines(session, initiative)
            + prometheus_sources.show_lines(session, initiative)  # issue 16: sources and their errors
            + artifacts.show_lines(session, initiative)  # H (issue 17): pilot artifacts, distribution comparison
            + rollout.show_lines(session, initiative),  # issue 17: fallback process and rollout share
            deviations=incident_rows.recent_deviations(session=session, initiative_id=initiative.id),
            held=channel_rows.held_count(session=session, team_id=initiative.team_id, channel_id=initiative.channel_id)
            if initiative.channel_state in channel_rows.UNUSABLE else 0,
            reviews=initiative_messages.ReviewStanding(
                overdue=[(r, services.cadence.rule(r.kind)) for r in
                         cadence.overdue_open(session, [initiative.id], now=actor.now)],
                compliance=cadence.compliance(session, initiative, now=actor.now)),
        )


def _check_country(country: str) -> None:
    import holidays

    if country not in holidays.list_supported_countries():
        raise UsageError(initiative_messages.unknown_country(country))
