"""Stage gates: gather the facts, show the checklist, and advance an initiative when its exit holds."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, func, select

from bot.domain import permissions
from bot.domain.commands import InitiativeAdvance
from bot.domain.gates import GateFacts, exit_checklist, may_advance, next_stage
from bot.domain.kpis import all_within
from bot.domain.signoff import Decision, SubjectKind
from bot.domain.vocabulary import Stage
from bot.errors import Conflict, PermissionDenied
from bot.outbox import queue_message
from bot.services import cadence
from bot.services.context import Actor, Services
from bot.services.governance import governance_record
from bot.services.kpis import current_standings, refresh_silence, thresholds_in_force
from bot.services.lookup import require_initiative
from messages.render import Message, render
from storage import records, repository, reviews
from storage.audit import append_event
from storage.db import session_scope
from storage.models import Initiative, Review


def gate_facts(session: Session, services: Services, initiative: Initiative, now) -> GateFacts:
    zone = ZoneInfo(initiative.timezone)
    today = now.astimezone(zone).date()
    entered = initiative.stage_entered_at.astimezone(zone).date()
    readiness = {d: row.ready for d, row in records.latest_readiness(session, initiative_id=initiative.id).items()}
    record = governance_record(session, initiative, services.escalation)
    governance = records.latest_signoff(session, initiative_id=initiative.id, subject=SubjectKind.GOVERNANCE.value)
    stage_exit = records.latest_signoff(session, initiative_id=initiative.id, subject=SubjectKind.STAGE_EXIT.value,
                                        since=initiative.stage_entered_at)
    launch_reviews = session.exec(select(func.count()).select_from(Review).where(
        Review.initiative_id == initiative.id, Review.kind == "launch-review",
        col(Review.status) == reviews.COMPLETED)).one()
    return GateFacts(
        stage=Stage(initiative.stage),
        days_in_stage=(today - entered).days,
        readiness=readiness,
        baseline_signed=bool(thresholds_in_force(session, initiative)),
        governance_items={item: value is not None for item, value in record.items()},
        governance_signed=governance is not None and governance.decision == Decision.APPROVE,
        roles=repository.active_roles(session=session, initiative_id=initiative.id),
        launch_reviews_completed=launch_reviews,
        checkpoint_90_due=initiative.launch_date is not None and today >= initiative.launch_date + timedelta(days=90),
        kpis_within=all_within(current_standings(session, initiative, until=now)),
        stage_exit_signed=(stage_exit is not None and stage_exit.decision == Decision.APPROVE
                           and stage_exit.stage == initiative.stage),
    )


def checklist_message(initiative: Initiative, checks, *, advanced_to: Stage | None = None) -> Message:
    return render("stage_checklist", initiative=initiative, stage=Stage(initiative.stage), checks=checks,
                  target=next_stage(Stage(initiative.stage)), advanced_to=advanced_to)


def advance(services: Services, actor: Actor, command: InitiativeAdvance) -> Message:
    """Move to the next stage when every exit criterion holds and the stage exit is signed."""
    refused = None
    with session_scope(services.engine) as session:
        initiative = require_initiative(session, team_id=actor.team_id, key=command.key)
        roles = repository.active_roles(session=session, initiative_id=initiative.id)
        if not permissions.may_manage_roles(actor.user_id, services.settings.steward_admins, roles):
            raise PermissionDenied("Only Steward admins and the business owner can advance an initiative.")
        target = next_stage(Stage(initiative.stage))
        if target is None:
            raise Conflict(f"`{initiative.key}` is retired; there is no stage after it.")
        checks = exit_checklist(gate_facts(session, services, initiative, actor.now))
        if not may_advance(checks):
            refused = checklist_message(initiative, checks)
        else:
            previous = initiative.stage
            _close_stage_reviews(session, initiative, actor)
            initiative.stage, initiative.stage_entered_at = target.value, actor.now
            if target is Stage.LAUNCH:
                initiative.launch_date = actor.now.astimezone(ZoneInfo(initiative.timezone)).date()
            initiative.cadence_next_at = cadence.next_due_at(initiative, services.cadence, after=actor.now)
            refresh_silence(session, services, initiative, now=actor.now)
            session.add(initiative)
            append_event(session, team_id=actor.team_id, actor=actor.user_id, action="stage.advanced",
                         target=initiative.key,
                         payload={"from": previous, "to": target.value,
                                  "checklist": [{"check": c.label, "holds": c.holds, "detail": c.detail}
                                                for c in checks]}, at=actor.now)
            kinds = [rule.title for rule in services.cadence.rules if rule.enabled and target in rule.stages]
            notice = render("stage_advanced", initiative=initiative, stage=target, previous=Stage(previous),
                            actor=actor.user_id, cadence=kinds)
            queue_message(session, team_id=actor.team_id, key=f"initiative:{initiative.id}:stage:{target.value}",
                          channel_id=initiative.channel_id, message=notice, purpose="notice",
                          initiative_id=initiative.id, at=actor.now)
            reply = checklist_message(initiative, checks, advanced_to=target)
    if refused is not None:
        with session_scope(services.engine) as session:
            append_event(session, team_id=actor.team_id, actor=actor.user_id, action="stage.advance_refused",
                         target=initiative.key, payload={"stage": initiative.stage,
                                                         "missing": [c.label for c in checks if not c.holds
                                                                     and not c.informational]}, at=actor.now)
        return refused
    services.notify_outbox()
    return reply


def _close_stage_reviews(session: Session, initiative: Initiative, actor: Actor) -> None:
    """The reviews of a stage that ends are closed as skipped; their prompts say so."""
    for review in reviews.open_reviews(session, initiative_id=initiative.id):
        if reviews.close_review(session, review=review, status=reviews.SKIPPED, by=None, at=actor.now,
                                notes=f"skipped: {initiative.stage} ended"):
            session.refresh(review)
            message = render("review_closed", review=review, initiative=initiative, outcome="stage ended", by=None,
                             notes=None, title=review.kind)
            queue_message(session, team_id=actor.team_id, key=f"review:{review.id}:closed",
                          channel_id=initiative.channel_id, message=message, purpose="review.update",
                          method="chat.update", target_key=cadence.prompt_key(review), initiative_id=initiative.id,
                          subject_id=review.id, at=actor.now)
