"""Stage gates: gather the facts, show the checklist, and advance an initiative when its exit holds."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.domain import permissions
from bot.domain.commands import InitiativeAdvance
from bot.domain.gates import (
    LAUNCH_REVIEW,
    PARALLEL_REVIEW,
    RETROSPECTIVE,
    GateFacts,
    exit_checklist,
    may_advance,
    next_stage,
    stage_target,
    unmet,
)
from bot.domain.kpis import all_within
from bot.domain.signoff import Decision, SubjectKind
from bot.domain.vocabulary import Role, Stage
from bot.errors import Conflict, PermissionDenied, RefusedAttempt
from bot.outbox import queue_message
from bot.services import artifacts, business_value, cadence, distribution
from bot.services import comms as comms_flows
from bot.services import rollout as rollout_flows
from bot.services.context import Actor, Services
from bot.services.governance import governance_record
from bot.services.kpis import current_standings, refresh_silence, thresholds_in_force
from bot.services.lookup import require_initiative
from bot.services.steps import StepResult, each_row
from messages import reviews as review_messages
from messages import stages as stage_messages
from messages.render import Message
from states import ReviewStatus
from storage import records, repository, reviews
from storage.audit import append_event
from storage.db import read_scope, session_scope
from storage.models import Initiative


def gate_facts(session: Session, services: Services, initiative: Initiative, now: datetime) -> GateFacts:
    """Gather what the exit criteria of the initiative's stage look at."""
    zone = ZoneInfo(initiative.timezone)
    today = now.astimezone(zone).date()
    entered = initiative.stage_entered_at.astimezone(zone).date()
    readiness = records.latest_readiness(session=session, initiative_id=initiative.id)
    governance = records.latest_signoff(session=session, initiative_id=initiative.id,
                                        subject=SubjectKind.GOVERNANCE.value)
    stage_exit = records.latest_signoff(session=session, initiative_id=initiative.id,
                                        subject=SubjectKind.STAGE_EXIT.value, since=initiative.stage_entered_at)
    kinds = [PARALLEL_REVIEW, LAUNCH_REVIEW, RETROSPECTIVE]
    completed = reviews.completed_counts(session=session, initiative_id=initiative.id, kinds=kinds)
    attestable: dict[str, tuple] = {}
    for review in reviews.attestable(session=session, initiative_id=initiative.id):
        attestable.setdefault(review.kind, ())
        attestable[review.kind] += (review.due_at.astimezone(zone).date(),)
    return GateFacts(
        parallel_reviews_completed=completed[PARALLEL_REVIEW],
        retrospectives_completed=completed[RETROSPECTIVE],  # H (issue 17): retrospectives, artifacts, comparison
        pilot_artifacts=artifacts.kinds_on_record(session, initiative),
        distribution=distribution.on_record(session, initiative),
        value_committed=business_value.committed(session, initiative.id),  # I (issue 17)
        stage_entered_on=entered,
        launch_date=initiative.launch_date,
        open_reviews={r.kind: r.number for r in reviews.open_reviews(session=session, initiative_id=initiative.id)},
        attestable=attestable,
        stage=initiative.stage,
        days_in_stage=(today - entered).days,
        readiness={dimension: row.ready for dimension, row in readiness.items()},
        baseline_signed=bool(thresholds_in_force(session, initiative)),
        governance_items=governance_record(session, initiative, services.escalation).present(),
        governance_signed=governance is not None and governance.decision == Decision.APPROVE,
        roles=repository.active_roles(session=session, initiative_id=initiative.id),
        launch_reviews_completed=completed[LAUNCH_REVIEW],
        checkpoint_90_due=initiative.launch_date is not None and today >= initiative.launch_date + timedelta(days=90),
        kpis_within=all_within(current_standings(session, initiative, now=now, policy=services.kpis)),
        stage_exit_signed=(stage_exit is not None and stage_exit.decision == Decision.APPROVE
                           and stage_exit.stage == initiative.stage),
        launch=rollout_flows.launch_facts(session, initiative,  # G (issue 17): fallback, share, orientation
                                          orientation_done=comms_flows.orientation_done(session, initiative)),
    )


def advance(services: Services, actor: Actor, command: InitiativeAdvance) -> Message:
    """Move to the next stage when every exit criterion holds and the stage exit is signed."""
    with session_scope(services.engine) as session:
        initiative = require_initiative(session, team_id=actor.team_id, key=command.key)
        roles = repository.active_roles(session=session, initiative_id=initiative.id)
        if not permissions.may_manage_roles(actor.user_id, services.settings.steward_admins, roles):
            raise PermissionDenied(stage_messages.only_admins_or_owner())
        previous, target = initiative.stage, next_stage(initiative.stage)
        if target is None:
            raise Conflict(stage_messages.retired(initiative.key))
        checks = exit_checklist(gate_facts(session, services, initiative, actor.now))
        if not may_advance(checks):
            # Shown as the checklist; the refused attempt is audited by the flow runner.
            raise Conflict(stage_messages.cannot_advance(initiative, checks),
                           reply=stage_messages.checklist(initiative, checks, stage=previous),
                           attempt=RefusedAttempt("stage.advance_refused", initiative.key,
                                                  {"stage": previous, "missing": [c.label for c in unmet(checks)]}))
        _close_stage_reviews(session, initiative, actor)
        initiative.stage, initiative.stage_entered_at = target, actor.now
        if target is Stage.LAUNCH:
            initiative.launch_date = actor.now.astimezone(ZoneInfo(initiative.timezone)).date()
        initiative.cadence_next_at = cadence.next_due_at(initiative, services.cadence, after=actor.now)
        initiative.overrun_at = overrun_moment(initiative)
        refresh_silence(session, services, initiative, now=actor.now)
        session.add(initiative)
        append_event(session=session, team_id=actor.team_id, actor=actor.user_id, action="stage.advanced",
                     target=initiative.key,
                     payload={"from": previous, "to": target,
                              "checklist": stage_messages.checklist_entries(checks, key=initiative.key,
                                                                            stage=previous)}, at=actor.now)
        kinds = [rule.title for rule in services.cadence.rules if rule.enabled and target in rule.stages]
        notice = stage_messages.advanced(initiative, previous=previous, actor=actor.user_id, cadence=kinds,
                                         target=stage_target(target, _entered_on(initiative)))
        queue_message(session=session, team_id=actor.team_id, key=f"initiative:{initiative.id}:stage:{target.value}",
                      channel_id=initiative.channel_id, message=notice, purpose="notice",
                      initiative_id=initiative.id, at=actor.now)
        reply = stage_messages.checklist(initiative, checks, stage=previous, advanced_to=target)
    services.notify_outbox()
    return reply


def _close_stage_reviews(session: Session, initiative: Initiative, actor: Actor) -> None:
    """The reviews of a stage that ends are closed as skipped; their prompts say so."""
    for review in reviews.open_reviews(session=session, initiative_id=initiative.id):
        if reviews.close_review(session=session, review=review, status=ReviewStatus.SKIPPED, by=None, at=actor.now,
                                notes=stage_messages.review_skipped_note(initiative.stage)):
            session.refresh(review)
            message = review_messages.closed(review, initiative, outcome="stage ended",
                                             title=review_messages.title(review, None))
            queue_message(session=session, team_id=actor.team_id, key=f"review:{review.id}:closed",
                          channel_id=initiative.channel_id, message=message, purpose="review.update",
                          method="chat.update", target_key=cadence.prompt_key(review), initiative_id=initiative.id,
                          subject_id=review.id, at=actor.now)


def _entered_on(initiative: Initiative):
    return initiative.stage_entered_at.astimezone(ZoneInfo(initiative.timezone)).date()


def overrun_moment(initiative: Initiative) -> datetime | None:
    """When the initiative's stage overruns the framework's timeline (the day after its target, at the local
    start of day); None when the stage has no end."""
    target = stage_target(initiative.stage, _entered_on(initiative))
    if target is None:
        return None
    return datetime.combine(target + timedelta(days=1), time(0), ZoneInfo(initiative.timezone)).astimezone(UTC)


def tell_overruns(services: Services, *, now: datetime) -> StepResult:
    """Post once, when a stage overruns the framework's timeline, to the business owner and executive sponsor
    with what is still missing. The claim (clearing `overrun_at`) makes it once across sweeps and replicas."""
    result = StepResult("stage_overruns")
    with read_scope(services.engine) as session:
        due = reviews.overruns_due(session=session, now=now)

    def tell(initiative: Initiative) -> bool:
        with session_scope(services.engine) as session:
            if not reviews.claim_overrun(session=session, initiative=initiative):
                return False
            return _tell_overrun(session, services, initiative, now)

    return each_row(result, due, lambda i: f"initiative {i.key} ({i.team_id})", tell)


def _tell_overrun(session: Session, services: Services, initiative: Initiative, now: datetime) -> bool:
    target = stage_target(initiative.stage, _entered_on(initiative))
    if target is None:
        return False
    checks = exit_checklist(gate_facts(session, services, initiative, now))
    holders = repository.active_roles(session=session, initiative_id=initiative.id)
    message = stage_messages.overrun(initiative, target=target, owner=holders.get(Role.BUSINESS_OWNER),
                                     sponsor=holders.get(Role.EXECUTIVE_SPONSOR), checks=checks,
                                     admins=sorted(services.settings.steward_admins))
    queue_message(session=session, team_id=initiative.team_id,
                  key=f"initiative:{initiative.id}:overrun:{initiative.stage.value}",
                  channel_id=initiative.channel_id, message=message, purpose="notice", initiative_id=initiative.id,
                  at=now)
    append_event(session=session, team_id=initiative.team_id, actor="steward", action="stage.overrun",
                 target=initiative.key,
                 payload={"stage": initiative.stage, "target": target.isoformat(),
                          "missing": [c.label for c in unmet(checks)]}, at=now)
    return True
