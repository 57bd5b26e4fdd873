"""Controlled rollout (issue 17 point 1): the share of volume the system serves, raised only with the business
owner's sign-off, the pilot-era fallback process kept and shown, and a hold suggested when a KPI breaches."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.domain.gates import LaunchFacts
from bot.domain.rollout import FULL_SHARE, FallbackSet, RolloutSet, needs_signoff, rolling_out
from bot.domain.signoff import Decision, Subject, SubjectKind
from bot.domain.vocabulary import Role, Stage
from bot.errors import Conflict
from bot.outbox import queue_message
from bot.services.context import Actor, Services
from bot.services.lookup import require_initiative, require_record_keeper
from messages import rollout as rollout_messages
from messages.render import Message
from storage import audit, records, repository
from storage import rollout as rollout_rows
from storage.audit import append_event
from storage.db import session_scope
from storage.models import FallbackProcess, Initiative, RolloutStep, SignOff

ROLLOUT_STAGES = (Stage.HANDOFF, Stage.LAUNCH)  # handoff: the first share of the launch, recorded before it starts
FALLBACK_STAGES = (Stage.READINESS, Stage.HANDOFF, Stage.LAUNCH)
LAUNCH_REVIEW = "launch-review"
KPI_CHECKPOINT = "kpi-checkpoint"


def set_share(services: Services, actor: Actor, command: RolloutSet) -> Message:
    """Record the share of full volume the system serves: in force at once when it needs no sign-off (a first
    share up to 20%, a decrease), or once the business owner approves `rollout:<percent>`."""
    with session_scope(services.engine) as session:
        initiative = require_initiative(session, team_id=actor.team_id, key=command.key)
        require_record_keeper(session, user_id=actor.user_id, admins=services.settings.steward_admins,
                              initiative=initiative, what="record the rollout share")
        if initiative.stage not in ROLLOUT_STAGES:
            raise Conflict(rollout_messages.wrong_stage(initiative.key, initiative.stage))
        current = rollout_rows.share_in_force(session=session, initiative_id=initiative.id)
        now_percent = current.percent if current else None
        if now_percent == command.percent:
            raise Conflict(rollout_messages.already_at(initiative.key, command.percent))
        rollout_rows.withdraw_pending(session=session, initiative_id=initiative.id, at=actor.now)
        step = rollout_rows.add_step(session=session, step=RolloutStep(
            team_id=actor.team_id, initiative_id=initiative.id, percent=command.percent, previous=now_percent,
            note=command.note, requested_by=actor.user_id, requested_at=actor.now))
        signoff = None
        if needs_signoff(now_percent, command.percent):
            signoff = _standing_approval(session, initiative, command.percent, since=current.applied_at
                                         if current else initiative.stage_entered_at)
        if signoff is None and needs_signoff(now_percent, command.percent):
            reply = _wait_for_signoff(session, actor, initiative, step)
        else:
            _apply(session, initiative, step, by=actor.user_id, at=actor.now, signoff=signoff)
            reply = rollout_messages.share_set(initiative, step, signed_by=signoff.signer if signoff else None)
    services.notify_outbox()
    return reply


def _standing_approval(session: Session, initiative: Initiative, percent: int, *, since: datetime) -> SignOff | None:
    """An approval of `rollout:<percent>` signed since the share in force took effect, not voided nor
    superseded by a rejection, and not already spent on an earlier step (one approval serves one step)."""
    latest = records.latest_signoff(session=session, initiative_id=initiative.id,
                                    subject=str(Subject(SubjectKind.ROLLOUT, percent)), since=since)
    if latest is None or latest.decision != Decision.APPROVE:
        return None
    return None if rollout_rows.signoff_used(session=session, signoff_id=latest.id) else latest


def _wait_for_signoff(session: Session, actor: Actor, initiative: Initiative, step: RolloutStep) -> Message:
    holders = repository.active_roles(session=session, initiative_id=initiative.id)
    append_event(session=session, team_id=actor.team_id, actor=actor.user_id, action="rollout.requested",
                 target=initiative.key, payload={"percent": step.percent, "previous": step.previous,
                                                 "note": step.note}, at=actor.now)
    audit.bind(session=session, team_id=actor.team_id, rows=[step])
    queue_message(session=session, team_id=actor.team_id, key=f"rollout:{step.id}:requested",
                  channel_id=initiative.channel_id, purpose="notice", initiative_id=initiative.id, at=actor.now,
                  message=rollout_messages.signoff_needed(initiative, step, owner=holders.get(Role.BUSINESS_OWNER)))
    return rollout_messages.waiting(initiative, step, owner=holders.get(Role.BUSINESS_OWNER))


def _apply(session: Session, initiative: Initiative, step: RolloutStep, *, by: str, at: datetime,
           signoff: SignOff | None) -> bool:
    if not rollout_rows.apply(session=session, step=step, at=at, signoff_id=signoff.id if signoff else None):
        return False
    append_event(session=session, team_id=initiative.team_id, actor=by, action="rollout.set", target=initiative.key,
                 payload={"percent": step.percent, "previous": step.previous, "note": step.note,
                          "signoff": signoff.id if signoff else None}, at=at)
    audit.bind(session=session, team_id=initiative.team_id, rows=[step])
    queue_message(session=session, team_id=initiative.team_id, key=f"rollout:{step.id}:applied",
                  channel_id=initiative.channel_id, purpose="notice", initiative_id=initiative.id, at=at,
                  message=rollout_messages.share_notice(initiative, step, by=by,
                                                        signed_by=signoff.signer if signoff else None))
    return True


def signed(session: Session, initiative: Initiative, signoff: SignOff, *, percent: int) -> str:
    """Called by the sign-off flow for `rollout:<percent>`: an approval puts the waiting step in force, a
    rejection withdraws it. Returns what it unlocked, in words."""
    waiting = [s for s in rollout_rows.pending(session=session, initiative_id=initiative.id) if s.percent == percent]
    if signoff.decision != Decision.APPROVE:
        if waiting:
            rollout_rows.withdraw_pending(session=session, initiative_id=initiative.id, at=signoff.signed_at)
        current = rollout_rows.share_in_force(session=session, initiative_id=initiative.id)
        return rollout_messages.rejected(percent, current.percent if current else None)
    if not waiting:
        return rollout_messages.approved_ahead(initiative.key, percent)
    step = waiting[-1]
    _apply(session, initiative, step, by=signoff.signer, at=signoff.signed_at, signoff=signoff)
    return rollout_messages.approved_applied(percent)


def set_fallback(services: Services, actor: Actor, command: FallbackSet) -> Message:
    """Record the pilot-era fallback process (the latest is the one in force); launch cannot start without one."""
    with session_scope(services.engine) as session:
        initiative = require_initiative(session, team_id=actor.team_id, key=command.key)
        require_record_keeper(session, user_id=actor.user_id, admins=services.settings.steward_admins,
                              initiative=initiative, what="record the fallback process")
        if initiative.stage not in FALLBACK_STAGES:
            raise Conflict(rollout_messages.fallback_wrong_stage(initiative.key, initiative.stage))
        previous = rollout_rows.fallback(session=session, initiative_id=initiative.id)
        row = rollout_rows.add_fallback(session=session, row=FallbackProcess(
            team_id=actor.team_id, initiative_id=initiative.id, text=command.text, recorded_by=actor.user_id,
            recorded_at=actor.now))
        append_event(session=session, team_id=actor.team_id, actor=actor.user_id, action="fallback.recorded",
                     target=initiative.key, payload={"text": command.text,
                                                     "replaces": previous.text if previous else None}, at=actor.now)
        audit.bind(session=session, team_id=actor.team_id, rows=[row])
        queue_message(session=session, team_id=actor.team_id, key=f"fallback:{row.id}",
                      channel_id=initiative.channel_id, purpose="notice", initiative_id=initiative.id, at=actor.now,
                      message=rollout_messages.fallback_notice(initiative, row, replaced=previous is not None))
        reply = rollout_messages.fallback_recorded(initiative, row)
    services.notify_outbox()
    return reply


def launch_facts(session: Session, initiative: Initiative, *, orientation_done: bool) -> LaunchFacts:
    """What the entry into launch and the launch exit look at (bot.domain.gates.launch_checks)."""
    current = rollout_rows.share_in_force(session=session, initiative_id=initiative.id)
    return LaunchFacts(
        fallback=rollout_rows.fallback(session=session, initiative_id=initiative.id) is not None,
        share=current.percent if current else None,
        full_signed=current is not None and current.percent == FULL_SHARE and current.signoff_id is not None,
        orientation_done=orientation_done)


def review_lines(session: Session, initiative: Initiative, kind: str) -> list[str]:
    """Lines a review prompt shows: every launch review the fallback and the share; a KPI checkpoint the
    communication plan (which tasks were done on time)."""
    if kind == LAUNCH_REVIEW:
        current = rollout_rows.share_in_force(session=session, initiative_id=initiative.id)
        return rollout_messages.launch_review_lines(
            initiative, fallback=rollout_rows.fallback(session=session, initiative_id=initiative.id),
            share=current)
    if kind == KPI_CHECKPOINT:
        from bot.services import comms  # the plan's words live with its flow

        return comms.checkpoint_lines(session, initiative)
    return []


def show_lines(session: Session, initiative: Initiative) -> list[str]:
    """What `initiative show` says of the rollout: the fallback and the share in force, from handoff on."""
    current = rollout_rows.share_in_force(session=session, initiative_id=initiative.id)
    fallback = rollout_rows.fallback(session=session, initiative_id=initiative.id)
    if current is None and fallback is None and initiative.stage not in (Stage.HANDOFF, Stage.LAUNCH):
        return []
    return rollout_messages.launch_review_lines(initiative, fallback=fallback, share=current)


def suggest_hold(session: Session, initiative: Initiative, *, kpi: str, incident_number: int | None,
                 at: datetime) -> None:
    """A KPI breach while rolling out (launch, short of 100%) posts a suggestion to hold the share."""
    if initiative.stage is not Stage.LAUNCH:
        return
    current = rollout_rows.share_in_force(session=session, initiative_id=initiative.id)
    if not rolling_out(current.percent if current else None):
        return
    holders = repository.active_roles(session=session, initiative_id=initiative.id)
    queue_message(session=session, team_id=initiative.team_id,
                  key=f"rollout:{initiative.id}:hold:{kpi}:{incident_number or at.isoformat()}",
                  channel_id=initiative.channel_id, purpose="notice", initiative_id=initiative.id, at=at,
                  message=rollout_messages.hold_suggested(initiative, current, kpi=kpi, incident=incident_number,
                                                          owner=holders.get(Role.BUSINESS_OWNER)))
