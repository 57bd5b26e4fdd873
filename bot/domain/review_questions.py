"""The questions each review kind asks, drawn from the framework's article, and the rules for their answers.

Mark done on a review prompt opens a form with its kind's questions; the answers are stored with the
review. An organisation may replace a kind's questions in STEWARD_CONFIG (`review_questions:`). Pure:
no storage, no Slack, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

# The business-value question: the monthly review's first question (issue 17 point 7).
VALUE_DELIVERED = "value-delivered"
DELIVERY_CHOICES = ("yes", "partly", "no")
MAX_ANSWER = 3000  # Slack's plain_text_input max_length
MAX_QUESTIONS = 10
QUESTION_ID_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-"


@dataclass(frozen=True)
class Question:
    id: str  # the form's block id and the answer's key: lower-case letters, digits, dashes
    label: str  # what the form asks (at most 2000 characters, Slack's label limit)
    choices: tuple[str, ...] = ()  # a choice of these (plus an evidence text); empty: free text
    required: bool = True

    @property
    def has_evidence(self) -> bool:
        """A choice question also asks for the evidence behind the choice."""
        return bool(self.choices)


Q = Question
DEFAULT_QUESTIONS: dict[str, tuple[Question, ...]] = {
    "monthly-performance-review": (
        Q(VALUE_DELIVERED, "Are we getting the business value we committed to delivering?", DELIVERY_CHOICES),
        Q("kpi-standing", "KPI standing against the Stage 1 baseline"),
        Q("incidents-deviations", "Incidents and deviations since the last review"),
        Q("user-feedback", "User feedback for the backlog"),
    ),
    "quarterly-retraining-assessment": (
        Q("drift", "Drift or data changes observed this quarter"),
        Q("retraining-decision", "The retraining decision and why"),
    ),
    "biannual-governance-review": (
        Q("record-true", "Is the governance record still true (owner, scope, thresholds, escalation)?"),
        Q("compliance-changes", "Compliance or regulatory changes since the last review"),
    ),
    "annual-scope-planning": (
        Q("scope-plan", "The scope expansion plan for the coming year (or why not)"),
    ),
    "launch-review": (
        Q("end-user-feedback", "The end-user representative's feedback this week"),
        Q("deviations", "Deviations this week"),
    ),
    "parallel-ops-review": (
        Q("handled-alone", "What the production team handled alone this week"),
    ),
    "handoff-retrospective": (  # H (issue 17 point 4): tacit knowledge through structured retrospectives
        Q("judgment-calls", "Judgment calls the pilot team made since the last retrospective, and why"),
        Q("edge-cases-failures", "Edge cases and failure modes met (add them to the inventories)"),
        Q("not-yet-alone", "What the production team cannot yet handle without the pilot team"),
        Q("actions", "Actions before the next retrospective, with owners"),
    ),
    "readiness-checkin": (
        Q("blockers", "Blockers per dimension (data, integration, governance, baseline, organisation)"),
    ),
    "kpi-checkpoint": (
        Q("kpi-standing", "KPI standing against the Stage 1 baseline at this checkpoint"),
    ),
}


@dataclass(frozen=True)
class ReviewQuestions:
    """Kind -> its questions; the defaults with an organisation's replacements."""

    by_kind: Mapping[str, tuple[Question, ...]] = field(default_factory=lambda: dict(DEFAULT_QUESTIONS))

    def questions(self, kind: str) -> tuple[Question, ...]:
        return tuple(self.by_kind.get(kind, ()))


DEFAULT_REVIEW_QUESTIONS = ReviewQuestions()


def with_overrides(overrides: Mapping[str, Sequence[Question]]) -> ReviewQuestions:
    """The default questions with some kinds' replaced (an empty list: that kind asks nothing, notes only)."""
    return ReviewQuestions({**DEFAULT_QUESTIONS, **{kind: tuple(qs) for kind, qs in overrides.items()}})


def question_problem(question: Question) -> str | None:
    """Why a configured question cannot be asked in a Slack form, or None."""
    if not question.id or len(question.id) > 40 or any(ch not in QUESTION_ID_CHARS for ch in question.id):
        return f"question id {question.id!r} must be 1 to 40 lower-case letters, digits or dashes"
    if not question.label.strip() or len(question.label) > 2000:
        return f"question {question.id!r}: the label must be 1 to 2000 characters"
    if len(question.choices) > 10 or any(not c or len(c) > 75 for c in question.choices):
        return f"question {question.id!r}: at most 10 choices of 1 to 75 characters"
    if len(set(question.choices)) != len(question.choices):
        return f"question {question.id!r}: choices repeat"
    return None


def questions_problem(questions: Sequence[Question]) -> str | None:
    if len(questions) > MAX_QUESTIONS:
        return f"at most {MAX_QUESTIONS} questions per kind"
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        return "question ids repeat"
    return next((problem for problem in map(question_problem, questions) if problem), None)


@dataclass(frozen=True)
class Answer:
    question: str  # the question's id
    label: str  # the question as it was asked (kept: the configuration may change later)
    text: str  # what the person typed ("" if left empty)
    choice: str | None = None


class AnswerProblem(ValueError):
    """A submitted form that cannot be recorded: which question, and why (shown under that field)."""

    def __init__(self, question: str, message: str):
        super().__init__(message)
        self.question = question
        self.message = message


def read_answers(questions: Sequence[Question], submitted: Mapping[str, tuple[str | None, str | None]]
                 ) -> tuple[Answer, ...]:
    """The answers to `questions` from a form: question id -> (choice, text). Raises AnswerProblem.

    A required question needs its text; a choice question needs one of its choices and, when required,
    its evidence. Text is trimmed and at most MAX_ANSWER characters.
    """
    answers = []
    for question in questions:
        choice, text = submitted.get(question.id, (None, None))
        text = (text or "").strip()
        if len(text) > MAX_ANSWER:
            raise AnswerProblem(question.id, f"At most {MAX_ANSWER} characters, please.")
        if question.choices:
            if choice not in question.choices:
                if choice is None and not question.required:
                    answers.append(Answer(question.id, question.label, text))
                    continue
                raise AnswerProblem(question.id, "Choose one of: " + ", ".join(question.choices) + ".")
            if question.required and not text:
                raise AnswerProblem(question.id, f"Say what the answer “{choice}” rests on (evidence).")
        elif question.required and not text:
            raise AnswerProblem(question.id, "This question needs an answer.")
        answers.append(Answer(question.id, question.label, text, choice))
    return tuple(answers)


def delivery(answers: Sequence[Answer]) -> str | None:
    """The business-value answer (yes, partly, no) of a review, if it asked."""
    return next((a.choice for a in answers if a.question == VALUE_DELIVERED), None)


def not_delivered_twice(previous: str | None, current: str | None) -> bool:
    """Two monthly reviews in a row answered that the committed value is not being delivered."""
    return previous == "no" and current == "no"


def to_json(answers: Sequence[Answer]) -> list[dict]:
    return [{"question": a.question, "label": a.label, "text": a.text, **({"choice": a.choice} if a.choice else {})}
            for a in answers]


def from_json(data: object) -> tuple[Answer, ...]:
    if not isinstance(data, list):
        return ()
    return tuple(Answer(str(item.get("question", "")), str(item.get("label", "")), str(item.get("text", "")),
                        item.get("choice")) for item in data if isinstance(item, dict))
