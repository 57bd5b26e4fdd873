"""The questions each review kind asks and the rules for their answers (issue 17 points 6 and 7)."""

import pytest

from bot.domain.cadence import DEFAULT_CADENCE
from bot.domain.review_questions import (
    DEFAULT_REVIEW_QUESTIONS,
    VALUE_DELIVERED,
    AnswerProblem,
    Question,
    delivery,
    from_json,
    not_delivered_twice,
    questions_problem,
    read_answers,
    to_json,
    with_overrides,
)

MONTHLY = DEFAULT_REVIEW_QUESTIONS.questions("monthly-performance-review")


def test_every_kind_of_the_cadence_asks_questions_and_the_monthly_review_asks_about_value_first():
    for rule in DEFAULT_CADENCE.rules:
        questions = DEFAULT_REVIEW_QUESTIONS.questions(rule.kind)
        assert questions and questions_problem(questions) is None, rule.kind
    assert MONTHLY[0].id == VALUE_DELIVERED and MONTHLY[0].choices == ("yes", "partly", "no")
    assert [q.label for q in DEFAULT_REVIEW_QUESTIONS.questions("quarterly-retraining-assessment")] == [
        "Drift or data changes observed this quarter", "The retraining decision and why"]
    assert "end-user representative" in DEFAULT_REVIEW_QUESTIONS.questions("launch-review")[0].label


def full(**changes):
    submitted = {"value-delivered": ("no", "Flat"), "kpi-standing": (None, "ok"),
                 "incidents-deviations": (None, "none"), "user-feedback": (None, "export")}
    submitted.update(changes)
    return submitted


def test_answers_are_read_in_question_order_and_trimmed():
    answers = read_answers(MONTHLY, full(**{"kpi-standing": (None, "  within  ")}))
    assert [a.question for a in answers] == [q.id for q in MONTHLY]
    assert answers[1].text == "within" and delivery(answers) == "no"
    assert from_json(to_json(answers)) == answers


@pytest.mark.parametrize(("changes", "question", "words"), [
    ({"value-delivered": (None, "x")}, VALUE_DELIVERED, "Choose one of"),
    ({"value-delivered": ("maybe", "x")}, VALUE_DELIVERED, "Choose one of"),
    ({"value-delivered": ("yes", " ")}, VALUE_DELIVERED, "evidence"),
    ({"user-feedback": (None, "")}, "user-feedback", "needs an answer"),
    ({"kpi-standing": (None, "x" * 3001)}, "kpi-standing", "At most 3000"),
])
def test_a_missing_or_bad_answer_names_its_question(changes, question, words):
    with pytest.raises(AnswerProblem) as refused:
        read_answers(MONTHLY, full(**changes))
    assert refused.value.question == question and words in refused.value.message


def test_an_optional_question_may_stay_empty():
    questions = (Question("a", "A", required=False), Question("b", "B", ("x", "y"), required=False))
    answers = read_answers(questions, {})
    assert [(a.text, a.choice) for a in answers] == [("", None), ("", None)]


def test_two_no_in_a_row_only():
    assert not_delivered_twice("no", "no")
    assert not not_delivered_twice("partly", "no") and not not_delivered_twice(None, "no")
    assert not not_delivered_twice("no", "yes")


def test_configured_questions_replace_a_kind_and_bad_ones_are_named():
    replaced = with_overrides({"launch-review": [Question("only", "Only question")]})
    assert [q.id for q in replaced.questions("launch-review")] == ["only"]
    assert replaced.questions("monthly-performance-review") == MONTHLY
    assert "must be 1 to 40" in questions_problem([Question("Bad Id", "x")])
    assert "repeat" in questions_problem([Question("a", "x"), Question("a", "y")])
    assert "at most 10" in questions_problem([Question(f"q{n}", "x") for n in range(11)])
    assert "choices" in questions_problem([Question("a", "x", ("y" * 76,))])
