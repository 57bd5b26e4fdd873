"""The rules of cover, as plain functions: when it ends, who may arrange it, who a covering person counts as."""

from datetime import UTC, date, datetime

from bot.domain.cover import CoverRefusal, StartFacts, check_start, counts_as, ends_at, local_today, same_person
from bot.domain.vocabulary import Role


def facts(**changes) -> StartFacts:
    values = dict(actor="UHOLDER", is_admin=False, role=Role.MLOPS_ENGINEER, holder="UHOLDER", owner="UOWNER",
                  cover="UCOVER", until=date(2026, 3, 20), today=date(2026, 3, 2), running=None)
    return StartFacts(**{**values, **changes})


def test_a_cover_ends_at_the_start_of_the_day_after_its_last_day_in_the_initiatives_zone():
    assert ends_at(date(2026, 3, 4), "UTC") == datetime(2026, 3, 5, 0, 0, tzinfo=UTC)
    assert ends_at(date(2026, 3, 4), "Europe/Berlin") == datetime(2026, 3, 4, 23, 0, tzinfo=UTC)
    # The night the clocks change (Berlin, 29 March 2026): midnight is still 22:00 UTC the day before.
    assert ends_at(date(2026, 3, 29), "Europe/Berlin") == datetime(2026, 3, 29, 22, 0, tzinfo=UTC)
    assert local_today(datetime(2026, 3, 4, 23, 30, tzinfo=UTC), "Europe/Berlin") == date(2026, 3, 5)


def test_who_may_start_a_cover_and_what_is_refused():
    assert check_start(facts()) is None
    assert check_start(facts(actor="UOWNER")) is None
    assert check_start(facts(actor="USOMEONE", is_admin=True)) is None
    assert check_start(facts(actor="USOMEONE")) is CoverRefusal.NOT_ALLOWED
    assert check_start(facts(actor="UOWNER", holder=None)) is CoverRefusal.VACANT
    assert check_start(facts(cover="UHOLDER")) is CoverRefusal.SELF
    assert check_start(facts(until=date(2026, 3, 1))) is CoverRefusal.IN_THE_PAST
    assert check_start(facts(until=date(2026, 3, 2))) is None  # today is the last day: fine
    assert check_start(facts(until=date(2027, 3, 4))) is CoverRefusal.TOO_LONG
    assert check_start(facts(running="UELSE")) is CoverRefusal.ALREADY_COVERED


def test_a_covering_person_counts_as_the_holders_they_cover():
    assert counts_as("UCOVER", ["UHOLDER"]) == {"UCOVER", "UHOLDER"}
    assert same_person(counts_as("UCOVER", ["UHOLDER"]), {"UHOLDER"})
    assert not same_person({"UCOVER"}, {"UHOLDER"})
