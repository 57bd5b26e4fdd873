"""What Steward says about reviews: prompts, reminders, their outcome, the open list, and refusals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from bot.domain.cadence import CadenceRule
from bot.domain.kpis import KpiStanding
from bot.domain.signoff import Subject, SubjectKind
from bot.domain.vocabulary import Role
from messages import kpis as kpi_messages
from messages.codec import REVIEW_DONE, SIGNOFF_OPEN, ReviewButton, SignoffButton
from messages.render import Message, local_time, render, user_mention
from states import ReviewStatus

# The review whose sign-off is a retraining decision rather than a plain review sign-off.
RETRAINING_REVIEW = "quarterly-retraining-assessment"


class ReviewLike(Protocol):
    number: int
    kind: str
    status: ReviewStatus
    due_at: object
    completed_by: str | None
    completed_at: object
    notes: str | None
    reminders_sent: int


class InitiativeLike(Protocol):
    key: str
    name: str
    timezone: str


People = Sequence[tuple[Role, str | None]]


def title(review: ReviewLike, rule: CadenceRule | None) -> str:
    """The review's name as people know it (the rule's title, or its kind once the rule is gone)."""
    return rule.title if rule else review.kind


def prompt(review: ReviewLike, rule: CadenceRule, initiative: InitiativeLike, *, people: People,
           standings: Sequence[KpiStanding] = ()) -> Message:
    """The prompt that opens a review in the initiative's channel, with Mark done and Sign off buttons.

    Reviews that look at the numbers get `standings`: the latest KPIs against the thresholds in force.
    """
    kind = SubjectKind.RETRAINING if rule.kind == RETRAINING_REVIEW else SubjectKind.REVIEW
    return render("review_prompt", review=review, rule=rule, initiative=initiative, people=people,
                  completers=[role.label for role in rule.completers()],
                  kpi_lines=[kpi_messages.standing_line(s) for s in standings],
                  done_action=REVIEW_DONE, done_value=ReviewButton(review.number).encode(),
                  signoff_action=SIGNOFF_OPEN,
                  signoff_value=SignoffButton(initiative.key, Subject(kind, review.number)).encode())


def chart_placeholder() -> Message:
    """The KPI trend chart's message until the chart is drawn, when it is sent."""
    return Message("KPI trends", [])


def reminder(review: ReviewLike, rule: CadenceRule | None, *, people: People, days: int, final: bool) -> Message:
    """A reminder in the prompt's thread; the last one asks the business owner to make sure it happens."""
    return render("review_reminder", review=review, rule=rule, people=people, days=days, final=final)


def closed(review: ReviewLike, initiative: InitiativeLike, *, outcome: str, title: str) -> Message:
    """The prompt once the review is completed, superseded or ended with its stage (replaces its buttons)."""
    return render("review_closed", review=review, initiative=initiative, outcome=outcome,
                  by=review.completed_by, notes=review.notes if outcome == "completed" else None, title=title)


def completed_reply(review: ReviewLike, rule: CadenceRule | None, *, key: str) -> Message:
    return render("review_completed_reply", review=review, title=title(review, rule), key=key)


def open_list(found: Sequence[tuple[ReviewLike, InitiativeLike, CadenceRule | None]], *, key: str | None) -> Message:
    """The open reviews of a workspace (or of one initiative), the earliest due first."""
    items = [{"number": review.number, "title": title(review, rule), "key": initiative.key,
              "due": local_time(review.due_at, initiative.timezone), "status": review.status,
              "reminders": review.reminders_sent} for review, initiative, rule in found]
    return render("review_list", items=items, key=key)


def no_such_review(number: int) -> str:
    return f"There is no review R{number} in this workspace. `/steward review list` shows the open ones."


def not_open(review: ReviewLike, initiative: InitiativeLike) -> str:
    """Why a closed review cannot be completed."""
    if review.status is ReviewStatus.COMPLETED:
        return (f"R{review.number} was already completed by {user_mention(review.completed_by)} on "
                f"{local_time(review.completed_at, initiative.timezone)}.")
    return f"R{review.number} is closed: {review.notes or 'skipped'}."


def completed_meanwhile(review: ReviewLike) -> str:
    return f"R{review.number} was completed a moment ago by someone else."


def only_completers(review: ReviewLike, rule: CadenceRule | None, *, allowed: Sequence[Role],
                    holders: Mapping[str, str]) -> str:
    """Refusal: the person holds none of the roles that complete this review."""
    who = [f"the {role.label} ({user_mention(holders[role])})" if role in holders else f"the {role.label} (vacant)"
           for role in allowed]
    return f"Only {' or '.join(who)} can complete R{review.number} ({title(review, rule)})."


def kpis_missing(review: ReviewLike, missing: Sequence[str]) -> str:
    """Refusal: a KPI checkpoint needs every KPI recorded since launch."""
    return (f"R{review.number} is a KPI checkpoint: record the five KPIs first; missing since launch: "
            + ", ".join(f"`{name}`" for name in missing) + ".")
