"""The command parser: pure, no Slack, no database."""

from datetime import date

import pytest

from bot.domain.commands import (
    Help,
    InitiativeCreate,
    InitiativeList,
    InitiativeShow,
    RoleAssign,
    RoleUnassign,
    tokenize,
)
from bot.domain.vocabulary import Role, Stage
from bot.errors import UsageError
from bot.services.dispatch import parse


def test_mentions_stay_whole_even_with_spaces_in_the_name():
    assert tokenize("role assign x pm <@U1|Dana Smith>") == ["role", "assign", "x", "pm", "<@U1|Dana Smith>"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", Help()),
        ("  help  ", Help()),
        ("initiative list", InitiativeList()),
        ("INITIATIVE Show churn", InitiativeShow("churn")),
        ("initiative create churn Churn  predictor", InitiativeCreate("churn", "Churn predictor")),
        ("initiative create churn stage=launch Churn since=2026-02-01 tz=America/New_York country=us",
         InitiativeCreate("churn", "Churn", Stage.LAUNCH, date(2026, 2, 1), "America/New_York", "US")),
        ("initiative create rd R&amp;D helper", InitiativeCreate("rd", "R&D helper")),
        ("role assign churn user-rep <@W0ABC|x>", RoleAssign("churn", Role.END_USER_REP, "W0ABC")),
        ("role assign churn business_owner <@U0ABC>", RoleAssign("churn", Role.BUSINESS_OWNER, "U0ABC")),
        ("role unassign churn it", RoleUnassign("churn", Role.IT_OWNER)),
    ],
)
def test_valid_commands(text, expected):
    assert parse(text) == expected


def test_import_is_detected():
    assert not parse("initiative create a1 A").is_import
    assert parse("initiative create a1 A stage=handoff").is_import
    assert parse("initiative create a1 A since=2026-01-01").is_import


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("initiative create a1 A stage=launch stage=handoff", "`stage=` is given twice"),
        ("initiative create a1 A stage=retired", "cannot be created retired"),
        ("initiative create 1abc A", "not a valid initiative key"),
        ("initiative create a1 A tz=../../etc/passwd", "not a time zone"),
        ("initiative create a1 A country=USA", "not a country code"),
        ("role assign a1 pm <@U1> extra", "Unexpected `extra`"),
    ],
)
def test_invalid_commands_name_the_problem_and_the_form(text, fragment):
    with pytest.raises(UsageError) as caught:
        parse(text)
    assert fragment in caught.value.message
    assert caught.value.usage.startswith("/steward ")


def test_long_tokens_are_shortened_in_errors():
    with pytest.raises(UsageError) as caught:
        parse("x" * 500)
    assert len(caught.value.message) < 100
