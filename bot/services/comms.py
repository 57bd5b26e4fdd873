"""The launch communication plan (issue 17 point 2): orientation, launch-week training and a 30-day support
channel, due relative to the launch date, prompted to the product manager by the sweep, completed with evidence;
the support channel closes itself 30 days after launch with a summary."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.domain.rollout import TASKS, CommsDone, due_on, on_time, support_closes_on
from bot.domain.vocabulary import Role, Stage
from bot.errors import Conflict
from bot.outbox import queue_message
from bot.services.context import Actor, Services
from bot.services.lookup import require_initiative, require_record_keeper
from bot.services.steps import StepResult, each_row
from messages import comms as comms_messages
from messages.render import Message
from storage import audit, records, repository
from storage import rollout as rollout_rows
from storage.audit import append_event
from storage.db import read_scope, session_scope
from storage.models import CommsTask, Initiative

COMMS_STAGES = (Stage.HANDOFF, Stage.LAUNCH, Stage.OPERATIONS)
LOOKBACK_DAYS = 40  # the sweep looks at initiatives launched this recently (the plan ends at day 30)


def _local_day(initiative: Initiative, moment: datetime):
    return moment.astimezone(ZoneInfo(initiative.timezone)).date()


def done(services: Services, actor: Actor, command: CommsDone) -> Message:
    """Record a task of the plan as done, with its evidence (the support channel names its Slack channel)."""
    with session_scope(services.engine) as session:
        initiative = require_initiative(session, team_id=actor.team_id, key=command.key)
        require_record_keeper(session, user_id=actor.user_id, admins=services.settings.steward_admins,
                              initiative=initiative, what="record the launch communication plan")
        if initiative.stage not in COMMS_STAGES:
            raise Conflict(comms_messages.wrong_stage(initiative.key, initiative.stage))
        row = rollout_rows.task(session=session, initiative_id=initiative.id, name=command.task)
        if row is not None and row.done_at is not None:
            raise Conflict(comms_messages.already_done(initiative, row))
        if row is not None and row.closed_at is not None:
            raise Conflict(comms_messages.already_closed(initiative, row))
        if row is None:
            row = rollout_rows.add_task(session=session, row=CommsTask(
                team_id=actor.team_id, initiative_id=initiative.id, task=command.task))
        row.done_at, row.done_by, row.evidence = actor.now, actor.user_id, command.evidence
        row.slack_channel = command.channel_id
        session.add(row)
        timely = on_time(command.task, initiative.launch_date, _local_day(initiative, actor.now))
        append_event(session=session, team_id=actor.team_id, actor=actor.user_id, action="comms.done",
                     target=initiative.key,
                     payload={"task": command.task, "evidence": command.evidence, "channel": command.channel_id,
                              "on_time": timely}, at=actor.now)
        audit.bind(session=session, team_id=actor.team_id, rows=[row])
        due = due_on(command.task, initiative.launch_date)
        queue_message(session=session, team_id=actor.team_id, key=f"comms:{row.id}:done",
                      channel_id=initiative.channel_id, purpose="notice", initiative_id=initiative.id, at=actor.now,
                      message=comms_messages.done_notice(initiative, row, due=due, on_time=timely))
        reply = comms_messages.done_reply(initiative, row, due=due, on_time=timely,
                                          closes=support_closes_on(initiative.launch_date))
    services.notify_outbox()
    return reply


def open_form(services: Services, actor: Actor, key: str, task: str) -> dict:
    """Done… on the plan's prompt: the form asking for the evidence, refused as the command would be."""
    with read_scope(services.engine) as session:
        initiative = require_initiative(session, team_id=actor.team_id, key=key)
        require_record_keeper(session, user_id=actor.user_id, admins=services.settings.steward_admins,
                              initiative=initiative, what="record the launch communication plan")
        if initiative.stage not in COMMS_STAGES:
            raise Conflict(comms_messages.wrong_stage(initiative.key, initiative.stage))
        row = rollout_rows.task(session=session, initiative_id=initiative.id, name=task)
        if row is not None and row.done_at is not None:
            raise Conflict(comms_messages.already_done(initiative, row))
        if row is not None and row.closed_at is not None:
            raise Conflict(comms_messages.already_closed(initiative, row))
        return comms_messages.form(initiative, task, channel_id=actor.channel_id)


def run_plan(services: Services, *, now: datetime) -> StepResult:
    """The sweep's step: prompt the product manager once when the launch day comes with the tasks still to do,
    and close the support channel 30 days after launch with a summary. Claims make each once only."""
    result = StepResult("launch_comms")
    with read_scope(services.engine) as session:
        due = rollout_rows.launched_since(session=session, since=(now - timedelta(days=LOOKBACK_DAYS)).date())

    def one(initiative: Initiative) -> bool:
        with session_scope(services.engine) as session:
            return _run_one(session, initiative, now)

    return each_row(result, due, lambda i: f"initiative {i.key} ({i.team_id})", one)


def _rows(session: Session, initiative: Initiative) -> dict[str, CommsTask]:
    rows = rollout_rows.tasks(session=session, initiative_id=initiative.id)
    for name in TASKS:
        if name not in rows:
            rows[name] = rollout_rows.add_task(session=session, row=CommsTask(
                team_id=initiative.team_id, initiative_id=initiative.id, task=name))
    return rows


def _run_one(session: Session, initiative: Initiative, now: datetime) -> bool:
    today, launch = _local_day(initiative, now), initiative.launch_date
    if launch is None or today < launch:
        return False
    rows = _rows(session, initiative)
    acted = False
    holders = repository.active_roles(session=session, initiative_id=initiative.id)
    to_prompt = [rows[name] for name in TASKS if rows[name].done_at is None and rows[name].prompted_at is None
                 and rows[name].closed_at is None]
    claimed = [row for row in to_prompt if rollout_rows.claim_prompt(session=session, row=row, at=now)]
    if claimed:
        tasks = [(row.task, due_on(row.task, launch)) for row in claimed]
        queue_message(session=session, team_id=initiative.team_id, key=f"comms:{initiative.id}:prompt",
                      channel_id=initiative.channel_id, purpose="notice", initiative_id=initiative.id, at=now,
                      message=comms_messages.prompt(initiative, tasks,
                                                    pm=holders.get(Role.PRODUCT_MANAGER),
                                                    closes=support_closes_on(launch)))
        append_event(session=session, team_id=initiative.team_id, actor="steward", action="comms.prompted",
                     target=initiative.key, payload={"tasks": [row.task for row in claimed]}, at=now)
        acted = True
    support = rows["support-channel"]
    closes = support_closes_on(launch)
    if today >= closes and support.closed_at is None and rollout_rows.claim_close(session=session, row=support,
                                                                                   at=now):
        adoption = records.latest_measurements(session=session, initiative_id=initiative.id).get("adoption")
        queue_message(session=session, team_id=initiative.team_id, key=f"comms:{initiative.id}:support-closed",
                      channel_id=initiative.channel_id, purpose="notice", initiative_id=initiative.id, at=now,
                      message=comms_messages.support_closed(initiative, plan_status(initiative, rows),
                                                            support=support, closes=closes, adoption=adoption))
        append_event(session=session, team_id=initiative.team_id, actor="steward", action="comms.support_closed",
                     target=initiative.key, payload={"channel": support.slack_channel,
                                                     "opened_at": support.done_at, "closed_on": closes.isoformat()},
                     at=now)
        acted = True
    return acted


def plan_status(initiative: Initiative, rows: dict[str, CommsTask]) -> list[tuple[str, object, bool | None, object]]:
    """Each task: (name, due day, done on time? (None: not done), the day done)."""
    launch, status = initiative.launch_date, []
    for name in TASKS:
        row = rows.get(name)
        done_on = _local_day(initiative, row.done_at) if row is not None and row.done_at else None
        status.append((name, due_on(name, launch), on_time(name, launch, done_on), done_on))
    return status


def orientation_done(session: Session, initiative: Initiative) -> bool:
    row = rollout_rows.task(session=session, initiative_id=initiative.id, name="orientation")
    return row is not None and row.done_at is not None


def checkpoint_lines(session: Session, initiative: Initiative) -> list[str]:
    """The adoption KPI's checkpoint shows which tasks of the plan were done on time."""
    if initiative.launch_date is None:
        return []
    rows = rollout_rows.tasks(session=session, initiative_id=initiative.id)
    return [comms_messages.checkpoint_line(plan_status(initiative, rows), zone=initiative.timezone)]
