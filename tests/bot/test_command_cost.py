"""What a command costs the database: a read writes nothing, and no command's statements grow unnoticed.

Counted with SQLAlchemy's `before_cursor_execute` on the running bot's engine, as bench/command_profile.py does.
"""

from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlmodel import Session, func, select

from storage.models import RequestReplay
from tests.harness import reply_text


@pytest.fixture
def counted(steward):
    steward.command("initiative create churn Churn predictor stage=operations since=2026-01-05")
    steward.command("role assign churn owner <@UOWNER0001>")
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement.split(None, 1)[0].upper())

    engine = steward.runtime.engine
    event.listen(engine, "before_cursor_execute", record)
    yield steward, statements
    event.remove(engine, "before_cursor_execute", record)


def replays(steward) -> int:
    with Session(steward.engine) as session:
        return session.exec(select(func.count()).select_from(RequestReplay)).one()


@pytest.mark.parametrize("text", ["help", "initiative list", "initiative show churn", "review list churn",
                                  "audit churn", "no such command"])
def test_a_command_that_only_reads_writes_nothing(counted, text):
    steward, statements = counted
    before = replays(steward)
    answer = reply_text(steward.command(text))
    assert answer
    assert not {"INSERT", "UPDATE", "DELETE"} & set(statements), statements
    assert replays(steward) == before


def test_a_command_that_acts_is_still_claimed_once_against_replays(counted):
    steward, statements = counted
    before = replays(steward)
    steward.command("role assign churn pm <@UPM0000001>")
    assert replays(steward) == before + 1
    assert "INSERT" in statements


@pytest.mark.parametrize(("text", "most"), [("help", 0), ("initiative list", 10), ("initiative show churn", 24),
                                            ("review list churn", 12), ("audit churn", 12)])
def test_statements_per_command_stay_within_their_budget(counted, text, most):
    steward, statements = counted
    steward.command(text)
    assert len(statements) <= most, statements
