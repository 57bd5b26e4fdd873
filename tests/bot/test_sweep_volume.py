"""A sweep does everything due, not the first page of it: more initiatives due at one moment than one page
of the sweep's query (500) are all prompted by that one sweep, not 500 a sweep."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert
from sqlmodel import Session, select

from storage.models import Initiative, OutboxMessage, Review
from tests.harness import TEAM

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # a Monday
MANY = 520  # more than a page


def due_initiatives(steward, count: int) -> None:
    """`count` initiatives in operations since April whose cadence has a review due now (as a big company's
    Monday morning would have them)."""
    with steward.engine.begin() as connection:
        connection.execute(insert(Initiative), [
            {"team_id": TEAM, "key": f"model{n}", "name": f"Model {n}", "channel_id": "C0OPS",
             "stage": "operations", "stage_entered_at": NOW - timedelta(days=40), "timezone": "UTC",
             "created_by": "UADMIN0001", "created_at": NOW - timedelta(days=40), "archived": False,
             "cadence_next_at": NOW - timedelta(minutes=1), "kpi_silent_after": NOW + timedelta(days=5)}
            for n in range(count)])


def test_more_initiatives_due_than_a_page_are_all_prompted_by_one_sweep(steward):
    due_initiatives(steward, MANY)

    report = steward.runtime.sweep(NOW)

    assert report.prompts == MANY and not report.failures
    with Session(steward.engine) as session:
        assert session.exec(select(func.count()).select_from(Initiative)
                            .where(Initiative.cadence_next_at <= NOW)).one() == 0
        prompts = session.exec(select(func.count()).select_from(OutboxMessage)
                               .where(OutboxMessage.purpose == "review.prompt")).one()
        reviews = session.exec(select(func.count()).select_from(Review)).one()
    assert prompts == reviews == MANY  # each once
    assert steward.runtime.sweep(NOW + timedelta(minutes=1)).prompts == 0
