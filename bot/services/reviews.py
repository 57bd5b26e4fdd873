"""Flows for people and reviews: what is open, and completing one (command or button)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from bot.domain import permissions
from bot.domain.commands import ReviewAttest, ReviewDone, ReviewList, ReviewShow
from bot.domain.kpis import KPIS
from bot.domain.review_questions import (
    DEFAULT_REVIEW_QUESTIONS,
    VALUE_DELIVERED,
    AnswerProblem,
    ReviewQuestions,
    delivery,
    from_json,
    read_answers,
    to_json,
)
from bot.domain.vocabulary import Role
from bot.errors import Conflict, NotFound, PermissionDenied, RefusedAttempt, UsageError
from bot.org_config import load_review_questions
from bot.outbox import queue_message
from bot.services import business_value
from bot.services.cadence import prompt_key
from bot.services.context import Actor, Services
from bot.services.lookup import require_initiative
from messages import reviews as review_messages
from messages.render import Message
from states import OPEN_REVIEW, ReviewStatus
from storage import audit, records, repository, reviews
from storage.audit import append_event
from storage.db import read_scope, session_scope


def list_open(services: Services, actor: Actor, command: ReviewList) -> Message:
    with read_scope(services.engine) as session:
        initiative_id = None
        if command.key:
            initiative_id = require_initiative(session, team_id=actor.team_id, key=command.key).id
        found = reviews.open_reviews_of_team(session=session, team_id=actor.team_id, initiative_id=initiative_id)
        initiatives = {i.id: i for i in repository.list_initiatives(session=session, team_id=actor.team_id,
                                                                     include_archived=True)}
    return review_messages.open_list([(review, initiatives[review.initiative_id], services.cadence.rule(review.kind))
                                      for review in found], key=command.key)


def complete(services: Services, actor: Actor, command: ReviewDone) -> Message:
    """Complete an open review, if the person holds a role that completes its kind.

    When a role that completes it is vacant, a Steward admin completes it acting for that vacant role
    (a vacancy never freezes the cadence); the record, the message and the audit say so.
    """
    with session_scope(services.engine) as session:
        review, initiative, rule = load_open(services, session, actor, command.number)
        held, acting_for = _may_complete(services, session, actor, review, initiative, rule)
        check_completable(session, review, initiative, freshness=timedelta(days=services.kpis.freshness_days))
        mark_completed(session, actor, review, initiative, review_messages.title(review, rule), command.notes,
                       held, acting_for=acting_for)
    services.notify_outbox()
    return review_messages.completed_reply(review, rule, key=initiative.key, acting_for=acting_for)


def load_open(services: Services, session, actor: Actor, number: int):
    """The open review R<number> of the workspace, its initiative and cadence rule; or a refusal."""
    review = reviews.by_number(session=session, team_id=actor.team_id, number=number)
    if review is None:
        raise NotFound(review_messages.no_such_review(number))
    initiative = repository.initiative_by_id(session=session, initiative_id=review.initiative_id)
    if review.status not in OPEN_REVIEW:
        raise Conflict(review_messages.not_open(review, initiative))
    return review, initiative, services.cadence.rule(review.kind)


def check_completable(session, review, initiative, *, freshness: timedelta) -> None:
    """A KPI checkpoint is completed with the five KPIs on record since launch, none stale at the checkpoint."""
    if review.kind != "kpi-checkpoint":
        return
    since = datetime.combine(initiative.launch_date, time(0), UTC) if initiative.launch_date else review.due_at
    since = max(since, review.due_at - freshness)  # a value older than the freshness window is missing
    latest = records.latest_measurements(session=session, initiative_id=initiative.id)
    missing = [name for name in KPIS if name not in latest or latest[name].measured_at < since]
    if missing:
        raise Conflict(review_messages.kpis_missing(review, missing))


def mark_completed(session, actor: Actor, review, initiative, title: str, notes: str | None, held,
                   *, acting_for: Role | None = None, extra: dict | None = None) -> None:
    """Close the review as completed, update its prompt in Slack and write the audit event (caller's transaction).

    `acting_for`: the vacant role a Steward admin completed it for (kept on the review and in the audit).
    """
    if not reviews.close_review(session=session, review=review, status=ReviewStatus.COMPLETED, by=actor.user_id,
                                at=actor.now, notes=notes, acting_for=acting_for.value if acting_for else None):
        raise Conflict(review_messages.completed_meanwhile(review))
    session.refresh(review)
    payload = {"review": f"R{review.number}", "kind": review.kind, "notes": notes, "roles": [r.value for r in held]}
    if acting_for is not None:
        payload["acting_for"] = acting_for.value
        payload["acting"] = review_messages.acting_words(actor.user_id, acting_for)
    payload.update(extra or {})  # issue 17: the answers of a review completed through its form
    append_event(session=session, team_id=actor.team_id, actor=actor.user_id, action="review.completed",
                 target=initiative.key, payload=payload, at=actor.now)
    audit.bind(session=session, team_id=actor.team_id, rows=[review])
    message = review_messages.closed(review, initiative, outcome="completed", title=title)
    queue_message(session=session, team_id=actor.team_id, key=f"review:{review.id}:closed",
                  channel_id=initiative.channel_id, message=message, purpose="review.update",
                  method="chat.update", target_key=prompt_key(review), initiative_id=initiative.id,
                  subject_id=review.id, at=actor.now)


def attest(services: Services, actor: Actor, command: ReviewAttest) -> Message:
    """An admin attests that a review which fell due before the import took place, with evidence; audited.

    The date names the review as Steward recorded it (its due day, local time): the refusal lists them.
    """
    if not permissions.is_admin(actor.user_id, services.settings.steward_admins):
        raise PermissionDenied(review_messages.only_admins_attest())
    with session_scope(services.engine) as session:
        initiative = require_initiative(session, team_id=actor.team_id, key=command.key)
        rule = services.cadence.rule(command.kind)
        if rule is None:
            raise UsageError(review_messages.unknown_kind(command.kind, [r.kind for r in services.cadence.rules]))
        waiting = reviews.attestable(session=session, initiative_id=initiative.id, kind=command.kind)
        zone = ZoneInfo(initiative.timezone)
        review = next((r for r in waiting if r.due_at.astimezone(zone).date() == command.day), None)
        if review is None:
            raise Conflict(review_messages.nothing_to_attest(initiative, rule, command.day, waiting),
                           attempt=RefusedAttempt("review.attest_refused", initiative.key,
                                                  {"kind": command.kind, "day": command.day.isoformat()}))
        if not reviews.attest(session=session, review=review, by=actor.user_id, at=actor.now, on=command.day,
                              evidence=command.evidence):
            raise Conflict(review_messages.completed_meanwhile(review))
        session.refresh(review)
        append_event(session=session, team_id=actor.team_id, actor=actor.user_id, action="review.attested",
                     target=initiative.key,
                     payload={"review": f"R{review.number}", "kind": review.kind, "held_on": command.day,
                              "due_at": review.due_at, "evidence": command.evidence}, at=actor.now)
        audit.bind(session=session, team_id=actor.team_id, rows=[review])
        queue_message(session=session, team_id=actor.team_id, key=f"review:{review.id}:attested",
                      channel_id=initiative.channel_id, purpose="notice", initiative_id=initiative.id,
                      subject_id=review.id, at=actor.now,
                      message=review_messages.attested_notice(review, rule, initiative, actor=actor.user_id))
        reply = review_messages.attested_reply(review, rule, initiative)
    services.notify_outbox()
    return reply


# --- Reviews that record answers (issue 17 point 6) --------------------------------------------------------


class FieldRefusal(UsageError):
    """A form answer that cannot be recorded: shown under the input `block` of the form."""

    def __init__(self, message: str, *, block: str):
        super().__init__(message)
        self.block = block


@lru_cache(maxsize=8)
def _questions_from(path) -> ReviewQuestions:
    return load_review_questions(path)


def questions_of(services: Services, kind: str):
    """The questions a review kind asks (STEWARD_CONFIG `review_questions:` replaces the defaults)."""
    path = services.settings.steward_config
    return (_questions_from(path) if path else DEFAULT_REVIEW_QUESTIONS).questions(kind)


def _may_complete(services: Services, session, actor: Actor, review, initiative, rule):
    """The roles the person holds and the vacant role they act for (None when they hold the role), or the
    audited refusal: the one check for the command and the form."""
    holders = repository.active_roles(session=session, initiative_id=initiative.id)
    allowed = rule.completers() if rule else ()
    held = permissions.roles_held(actor.user_id, holders)
    acting = permissions.acting_role(actor.user_id, services.settings.steward_admins, holders, allowed)
    if acting is None:
        raise PermissionDenied(
            review_messages.only_completers(review, rule, allowed=allowed, holders=holders, key=initiative.key),
            attempt=RefusedAttempt("review.completion_refused", initiative.key,
                                   {"review": f"R{review.number}", "kind": review.kind,
                                    "roles": [r.value for r in held]}))
    return held, (acting.role if acting.for_vacant else None)


def answers_form(services: Services, actor: Actor, number: int) -> dict:
    """Mark done: the form with the review kind's questions, for a person who may complete it (checked again on
    submission). A review that cannot be completed yet (a KPI checkpoint short of KPIs) is refused here."""
    with read_scope(services.engine) as session:
        review, initiative, rule = load_open(services, session, actor, number)
        _may_complete(services, session, actor, review, initiative, rule)
        check_completable(session, review, initiative, freshness=timedelta(days=services.kpis.freshness_days))
        questions = questions_of(services, review.kind)
        commitment = None
        if any(q.id == VALUE_DELIVERED for q in questions):
            value = reviews.business_value(session=session, initiative_id=initiative.id)
            commitment = value.commitment if value else None
        return review_messages.answers_form(review, rule, key=initiative.key, questions=questions,
                                            channel_id=actor.channel_id, commitment=commitment)


def complete_with_answers(services: Services, actor: Actor, number: int,
                          submitted: dict[str, tuple[str | None, str | None]], notes: str | None) -> Message:
    """The review form's submission: complete the review with its answers, stored with it, bound into the audit
    chain with the completion, posted as a summary in the prompt's thread. Two monthly reviews in a row saying the
    committed value is not delivered log a deviation and tell the business owner and executive sponsor."""
    with session_scope(services.engine) as session:
        review, initiative, rule = load_open(services, session, actor, number)
        held, acting_for = _may_complete(services, session, actor, review, initiative, rule)
        check_completable(session, review, initiative, freshness=timedelta(days=services.kpis.freshness_days))
        try:
            answers = read_answers(questions_of(services, review.kind), submitted)
        except AnswerProblem as problem:
            question = next((q for q in questions_of(services, review.kind) if q.id == problem.question), None)
            block = problem.question
            if question is not None and submitted.get(problem.question, (None,))[0] in question.choices:
                block += review_messages.EVIDENCE_SUFFIX  # the choice was made: its evidence is what is missing
            raise FieldRefusal(problem.message, block=block) from None
        answered = to_json(answers)
        mark_completed(session, actor, review, initiative, review_messages.title(review, rule),
                       notes or review_messages.answered_note(review), held, acting_for=acting_for,
                       extra={"answers": answered, "form_notes": notes})
        row = reviews.add_answers(session=session, review=review, answers_json=json.dumps(answered, ensure_ascii=False),
                                  delivery=delivery(answers), by=actor.user_id, at=actor.now)
        audit.bind(session=session, team_id=actor.team_id, rows=[row])
        queue_message(session=session, team_id=actor.team_id, key=f"review:{review.id}:answers",
                      channel_id=initiative.channel_id, purpose="notice", thread_key=prompt_key(review),
                      initiative_id=initiative.id, subject_id=review.id, at=actor.now,
                      message=review_messages.answers_message(review, rule, initiative, answers, notes=notes,
                                                              by=actor.user_id, at=actor.now))
        extra = business_value.after_answers(services, session, actor, review, initiative, row)
    services.notify_outbox()
    return review_messages.answered_reply(review, rule, key=initiative.key, acting_for=acting_for, extra=extra)


def show(services: Services, actor: Actor, command: ReviewShow) -> Message:
    """`/steward review show R<n>`: the review and, when it was completed through its form, its answers."""
    with read_scope(services.engine) as session:
        review = reviews.by_number(session=session, team_id=actor.team_id, number=command.number)
        if review is None:
            raise NotFound(review_messages.no_such_review(command.number))
        initiative = repository.initiative_by_id(session=session, initiative_id=review.initiative_id)
        row = reviews.answers_of(session=session, review_id=review.id)
        answers = from_json(json.loads(row.answers)) if row is not None else None
        return review_messages.show(review, services.cadence.rule(review.kind), initiative, answers,
                                    recorded_by=row.recorded_by if row else None,
                                    recorded_at=row.recorded_at if row else None)
