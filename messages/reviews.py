"""What Steward says about reviews: prompts, reminders, their outcome, the open list, and refusals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from bot.domain.cadence import COMPLIANCE_DAYS, CadenceRule, Compliance
from bot.domain.kpis import KpiStanding
from bot.domain.review_questions import MAX_ANSWER, Answer, Question
from bot.domain.signoff import Subject, SubjectKind
from bot.domain.vocabulary import Role
from messages import kpis as kpi_messages
from messages.codec import REVIEW_DONE, REVIEW_FORM, SIGNOFF_OPEN, ReviewButton, ReviewForm, SignoffButton
from messages.render import Message, local_time, mrkdwn_escape, render, render_view, user_mention
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
           standings: Sequence[KpiStanding] = (), compliance: Compliance | None = None,
           launch_lines: Sequence[str] = ()) -> Message:
    """The prompt that opens a review in the initiative's channel, with Mark done and Sign off buttons.

    G (issue 17): `launch_lines` (messages.rollout, messages.comms): the fallback and rollout share in every launch
    review, the communication plan in a KPI checkpoint.

    Reviews that look at the numbers get `standings`: the latest KPIs against the thresholds in force.
    """
    kind = SubjectKind.RETRAINING if rule.kind == RETRAINING_REVIEW else SubjectKind.REVIEW
    return render("review_prompt", review=review, rule=rule, initiative=initiative, people=people,
                  completers=[role.label for role in rule.completers()],
                  kpi_lines=[kpi_messages.standing_line(s, initiative.timezone) for s in standings],
                  compliance_line=compliance_line(compliance) if compliance is not None else "",
                  launch_lines=list(launch_lines),
                  done_action=REVIEW_DONE, done_value=ReviewButton(review.number).encode(),
                  signoff_action=SIGNOFF_OPEN,
                  signoff_value=SignoffButton(initiative.key, Subject(kind, review.number)).encode())


def compliance_line(compliance: Compliance) -> str:
    """Review compliance as people read it: completed on time out of due, over the window."""
    if not compliance.due:
        return f"Review compliance: no review was due in the last {COMPLIANCE_DAYS} days."
    return (f"Review compliance: {compliance.on_time} of {compliance.due} completed on time "
            f"({compliance.percent}%) over the last {COMPLIANCE_DAYS} days.")


def chart_placeholder() -> Message:
    """The KPI trend chart's message until the chart is drawn, when it is sent."""
    return Message("KPI trends", [])


def reminder(review: ReviewLike, rule: CadenceRule | None, *, people: People, days: int, final: bool) -> Message:
    """A reminder in the prompt's thread; the last one asks the business owner to make sure it happens."""
    return render("review_reminder", review=review, rule=rule, people=people, days=days, final=final)


def acting_words(user_id: str, role: Role) -> str:
    """How a record, a message and the audit say that an admin acted for a vacant role."""
    return f"{user_mention(user_id)} acting for the vacant {role.label}"


def _acting(review: ReviewLike) -> str | None:
    role = getattr(review, "acting_for", None)
    return acting_words(review.completed_by, Role(role)) if role and review.completed_by else None


def closed(review: ReviewLike, initiative: InitiativeLike, *, outcome: str, title: str) -> Message:
    """The prompt once the review is completed, superseded or ended with its stage (replaces its buttons)."""
    return render("review_closed", review=review, initiative=initiative, outcome=outcome,
                  by=review.completed_by, acting=_acting(review),
                  notes=review.notes if outcome == "completed" else None, title=title)


def completed_reply(review: ReviewLike, rule: CadenceRule | None, *, key: str,
                    acting_for: Role | None = None) -> Message:
    return render("review_completed_reply", review=review, title=title(review, rule), key=key,
                  acting_for=acting_for.label if acting_for else None)


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
                    holders: Mapping[str, str], key: str) -> str:
    """Refusal: the person holds none of the roles that complete this review."""
    who = [f"the {role.label} ({user_mention(holders[role])})" if role in holders else f"the {role.label} (vacant)"
           for role in allowed]
    vacant = [role for role in allowed if role not in holders]
    way = (f" While the {vacant[0].label} is vacant, a Steward admin can complete it acting for them, "
           f"or assign the role with `/steward role assign {key} {vacant[0].value} @someone`." if vacant else "")
    return f"Only {' or '.join(who)} can complete R{review.number} ({title(review, rule)}).{way}"


def only_admins_attest() -> str:
    return ("Only Steward admins can attest that a review took place when Steward has no record of it "
            "(before the import, missed or superseded).")


def unknown_kind(kind: str, kinds: Sequence[str]) -> str:
    return f"`{kind}` is not a review kind of the cadence; use one of " + ", ".join(f"`{k}`" for k in kinds) + "."


def nothing_to_attest(initiative, rule: CadenceRule, day, waiting: Sequence[ReviewLike]) -> str:
    """Refusal: no review of that kind fell due on that day before the import; name the ones that did."""
    head = (f"No {rule.title.lower()} of `{initiative.key}` that fell due on {day.isoformat()} is waiting to be "
            f"attested (one before Steward, missed or superseded)")
    if not waiting:
        return head + "; none of that kind is waiting to be attested."
    days = [local_time(r.due_at, initiative.timezone, "%Y-%m-%d").split(" ")[0] for r in waiting]
    return (head + ". Waiting to be attested: " + ", ".join(days[:12]) + ("…" if len(days) > 12 else "")
            + f". For example: `/steward review attest {initiative.key} {rule.kind} {days[0]} <evidence...>`.")


def why_uncompleted(review: ReviewLike) -> str:
    """Why Steward has no completion of a closed review: before the import, missed while down, or superseded."""
    if getattr(review, "before_steward", False):
        return "before Steward"
    notes = review.notes or ""
    return "missed while Steward was down" if notes.startswith("missed") else (
        "superseded" if notes.startswith("superseded") else "not completed")


def attested_reply(review: ReviewLike, rule: CadenceRule, initiative) -> Message:
    return render("note", text=f"R{review.number} attested", context_line=None, line=(
        f":white_check_mark: R{review.number} ({rule.title}, `{initiative.key}`), due "
        f"{local_time(review.due_at, initiative.timezone, '%a %d %b %Y')} ({why_uncompleted(review)}), is recorded as "
        f"held on {review.attested_on.isoformat()}, attested by you."))


def attested_notice(review: ReviewLike, rule: CadenceRule, initiative, *, actor: str) -> Message:
    """The channel hears that a review Steward had no completion of was attested, and on what evidence."""
    return render("note", text=f"R{review.number} attested", context_line=None, line=(
        f":memo: {user_mention(actor)} attested R{review.number} ({rule.title}, due "
        f"{local_time(review.due_at, initiative.timezone, '%a %d %b %Y')}, {why_uncompleted(review)}) as held on "
        f"{review.attested_on.isoformat()}.\n>{mrkdwn_escape(review.notes or '')[:500]}"))


def overdue(review: ReviewLike, rule: CadenceRule | None, initiative, *, sponsor: str | None,
            admins: Sequence[str], days: int) -> Message:
    """The one escalation of a review still open `days` after it fell due: to the sponsor, or the admins."""
    if sponsor:
        who = f"{user_mention(sponsor)} (executive sponsor)"
    else:
        who = ("the executive sponsor is vacant, so the Steward admins: "
               + (", ".join(user_mention(a) for a in sorted(admins)) or "none configured"))
    return render("note", text=f"R{review.number} is overdue", context_line=None, line=(
        f":rotating_light: *Overdue:* R{review.number} ({title(review, rule)}, `{initiative.key}`) fell due "
        f"{local_time(review.due_at, initiative.timezone)} and is still open after {days} days. "
        f"Escalated to {who}: please make sure it happens. "
        f"`/steward review done R{review.number} [notes]` completes it."))


def kpis_missing(review: ReviewLike, missing: Sequence[str]) -> str:
    """Refusal: a KPI checkpoint needs every KPI recorded since launch."""
    return (f"R{review.number} is a KPI checkpoint: record the five KPIs first; missing since launch or stale: "
            + ", ".join(f"`{name}`" for name in missing) + ".")


# --- Reviews that record answers (issue 17 point 6) --------------------------------------------------------

EVIDENCE_SUFFIX = "--evidence"  # the block id of a choice question's evidence: "<question>--evidence"


def answers_form(review: ReviewLike, rule: CadenceRule | None, *, key: str, questions: Sequence[Question],
                 channel_id: str | None, commitment: str | None = None) -> dict:
    """The form Mark done opens: the review kind's questions (the committed value quoted when it asks about it)."""
    intro = (f"Committed value: {mrkdwn_escape(commitment)[:1500]}" if commitment else "")
    return render_view("review_answers_modal", review=review, title=title(review, rule), key=key,
                       questions=questions, intro=intro, callback_id=REVIEW_FORM, evidence_suffix=EVIDENCE_SUFFIX,
                       max_length=MAX_ANSWER, metadata=ReviewForm(review.number, channel_id).encode())


def answers_message(review: ReviewLike, rule: CadenceRule | None, initiative: InitiativeLike,
                    answers: Sequence[Answer], *, notes: str | None, by: str | None, at, footer: str = "") -> Message:
    """A completed review's answers: posted in its thread, and shown by `/steward review show`."""
    who = acting_words(by, Role(review.acting_for)) if getattr(review, "acting_for", None) and by else user_mention(by)
    head = (f":clipboard: *R{review.number} · {title(review, rule)}* (`{initiative.key}`) answered by {who} on "
            f"{local_time(at, initiative.timezone)}")
    return render("review_answers", review=review, head=head, answers=answers, notes=notes, footer=footer)


def show(review: ReviewLike, rule: CadenceRule | None, initiative: InitiativeLike, answers: Sequence[Answer] | None,
         *, recorded_by: str | None = None, recorded_at=None) -> Message:
    """`/steward review show R<n>`: the review's state, and its answers when it was completed through its form."""
    if answers is not None:
        return answers_message(review, rule, initiative, answers, notes=review.notes, by=recorded_by, at=recorded_at,
                               footer=f"Due {local_time(review.due_at, initiative.timezone)}.")
    if review.status is ReviewStatus.COMPLETED:
        how = (f"attested as held on {review.attested_on.isoformat()}" if getattr(review, "attested_on", None)
               else f"completed by {_acting(review) or user_mention(review.completed_by)} on "
                    f"{local_time(review.completed_at, initiative.timezone)} without its form")
        line = f":white_check_mark: R{review.number} ({title(review, rule)}, `{initiative.key}`) was {how}."
        if review.notes:
            line += f"\n>{mrkdwn_escape(review.notes)[:2500]}"
    elif review.status in (ReviewStatus.SCHEDULED, ReviewStatus.POSTED):
        line = (f":hourglass: R{review.number} ({title(review, rule)}, `{initiative.key}`) is open, due "
                f"{local_time(review.due_at, initiative.timezone)}: *Mark done* on its prompt opens its questions; "
                f"`/steward review done R{review.number} [notes...]` completes it with a quick note.")
    else:
        line = (f":heavy_minus_sign: R{review.number} ({title(review, rule)}, `{initiative.key}`) was not completed: "
                f"{why_uncompleted(review)}.")
    return render("note", text=f"R{review.number}", line=line, context_line=None)


def answered_reply(review: ReviewLike, rule: CadenceRule | None, *, key: str, acting_for: Role | None,
                   extra: str = "") -> Message:
    """The private reply to the person who submitted a review's form."""
    acting = f", acting for the vacant {acting_for.label}" if acting_for else ""
    return render("note", text=f"R{review.number} completed", context_line=None, line=(
        f":white_check_mark: R{review.number} ({title(review, rule)}, `{key}`) is recorded as completed by you"
        f"{acting}, with your answers; they are in the review's thread and `/steward review show R{review.number}` "
        f"shows them." + (f" {extra}" if extra else "")))


def answered_note(review: ReviewLike) -> str:
    """What the closed prompt says in place of notes when the answers are in its thread."""
    return f"Answers recorded: see the thread, or `/steward review show R{review.number}`."
