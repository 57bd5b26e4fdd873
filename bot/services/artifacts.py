"""The pilot's artifacts (issue 17): record one; the handoff exit needs all three (bot.domain.gates)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from bot.domain.artifacts import ArtifactRecord
from bot.domain.gates import PILOT_ARTIFACTS
from bot.domain.vocabulary import Role, Stage
from bot.outbox import queue_message
from bot.services import distribution
from bot.services.context import Actor, Services
from bot.services.lookup import require_initiative, require_record_keeper
from bot.services.steps import StepResult, each_row
from messages import artifacts as artifact_messages
from messages.render import Message
from storage import artifacts, repository
from storage.audit import append_event, bind
from storage.db import read_scope, session_scope
from storage.models import Initiative


def record(services: Services, actor: Actor, command: ArtifactRecord) -> Message:
    """Record (or replace) one of the pilot's artifacts: role holders and admins; audited and bound."""
    with session_scope(services.engine) as session:
        initiative = require_initiative(session, team_id=actor.team_id, key=command.key)
        require_record_keeper(session, user_id=actor.user_id, admins=services.settings.steward_admins,
                              initiative=initiative, what="record the pilot's artifacts")
        replaced = command.kind in artifacts.latest(session=session, initiative_id=initiative.id)
        row = artifacts.add(session=session, team_id=actor.team_id, initiative_id=initiative.id, kind=command.kind,
                            content=command.content, by=actor.user_id, at=actor.now)
        append_event(session=session, team_id=actor.team_id, actor=actor.user_id, action="artifact.recorded",
                     target=initiative.key, payload={"artifact": command.kind, "content": command.content,
                                                     "replaced": replaced}, at=actor.now)
        bind(session=session, team_id=actor.team_id, rows=[row])
        queue_message(session=session, team_id=actor.team_id, key=f"artifact:{row.id}",
                      channel_id=initiative.channel_id,
                      message=artifact_messages.notice(key=initiative.key, kind=command.kind, actor=actor.user_id,
                                                       content=command.content),
                      purpose="notice", initiative_id=initiative.id, at=actor.now)
        on_record = artifacts.latest(session=session, initiative_id=initiative.id)
    services.notify_outbox()
    return artifact_messages.recorded(key=initiative.key, kind=command.kind, replaced=replaced, on_record=on_record)


def kinds_on_record(session: Session, initiative: Initiative) -> frozenset[str]:
    """The artifact kinds the gate counts."""
    return frozenset(artifacts.latest(session=session, initiative_id=initiative.id))


RECONSTRUCT_AFTER_DAYS = 21  # handoff begins in week 3; weeks 6 to 8 reconstruct what the pilot did not produce


def prompt_missing(services: Services, *, now: datetime) -> StepResult:
    """The sweep's step: three weeks into handoff (the programme's week 6), ask the product manager and the pilot
    lead once for the artifacts not on record. Once per handoff: the outbox key is the stage's entry."""
    result = StepResult("pilot_artifacts")
    with read_scope(services.engine) as session:
        due = artifacts.handoffs_entered_before(session=session, moment=now - timedelta(days=RECONSTRUCT_AFTER_DAYS))

    def ask(initiative: Initiative) -> bool:
        with session_scope(services.engine) as session:
            missing = [kind for kind in PILOT_ARTIFACTS
                       if kind not in artifacts.latest(session=session, initiative_id=initiative.id)]
            if not missing:
                return False
            holders = repository.active_roles(session=session, initiative_id=initiative.id)
            message = artifact_messages.reconstruct_prompt(
                key=initiative.key, missing=missing, people=[holders.get(Role.PRODUCT_MANAGER),
                                                             holders.get(Role.PILOT_LEAD)])
            entered = initiative.stage_entered_at.date().isoformat()
            if not queue_message(session=session, team_id=initiative.team_id,
                                 key=f"artifacts:{initiative.id}:{entered}", channel_id=initiative.channel_id,
                                 message=message, purpose="notice", initiative_id=initiative.id, at=now):
                return False
            append_event(session=session, team_id=initiative.team_id, actor="steward", action="artifacts.prompted",
                         target=initiative.key, payload={"missing": missing}, at=now)
            return True

    return each_row(result, due, lambda i: f"initiative {i.key} ({i.team_id})", ask)


def show_lines(session: Session, initiative: Initiative) -> list[str]:
    """`initiative show`: the pilot's artifacts (during handoff, or once any is recorded) and the latest data
    distribution comparison, if any."""
    on_record = artifacts.latest(session=session, initiative_id=initiative.id)
    lines = (artifact_messages.show_lines(on_record, initiative.key)
             if on_record or initiative.stage is Stage.HANDOFF else [])
    found = distribution.on_record(session, initiative)
    return lines + (artifact_messages.distribution_lines(found) if found is not None else [])
