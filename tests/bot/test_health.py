"""/healthz checks that the database takes writes (a heartbeat row, rewritten at most every few seconds)."""

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from bot.server import health
from bot.services.heartbeat import BEAT_EVERY
from storage.models import Heartbeat
from tests.tamper import tamper

T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def refuse_writes(url: str) -> None:
    """Every write of the heartbeat fails as on a full disk (the database still answers reads)."""
    if url.startswith("postgresql"):
        tamper(url, "CREATE FUNCTION disk_full() RETURNS trigger AS $$ BEGIN "
                    "RAISE EXCEPTION 'could not extend file: No space left on device'; END $$ LANGUAGE plpgsql",
               "CREATE TRIGGER full_insert BEFORE INSERT OR UPDATE ON heartbeats "
               "FOR EACH ROW EXECUTE FUNCTION disk_full()")
    else:
        tamper(url, "CREATE TRIGGER full_insert BEFORE INSERT ON heartbeats "
                    "BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END",
               "CREATE TRIGGER full_update BEFORE UPDATE ON heartbeats "
               "BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END")


def allow_writes(url: str) -> None:
    if url.startswith("postgresql"):
        tamper(url, "DROP TRIGGER full_insert ON heartbeats")
    else:
        tamper(url, "DROP TRIGGER full_insert", "DROP TRIGGER full_update")


def beats(engine) -> list[datetime]:
    with Session(engine) as session:
        return [row.beat_at for row in session.exec(select(Heartbeat))]


def test_an_unwritable_database_makes_healthz_503_naming_the_check(steward):
    services = steward.runtime.services
    assert health(services, now=T0) == (200, {"status": "ok"})
    refuse_writes(steward.settings.database_url)
    status, body = health(services, now=T0 + BEAT_EVERY)
    assert status == 503
    assert body["check"] == "database_writable" and body["status"] == "down"
    assert "does not take writes" in body["reason"] and ("full" in body["reason"] or "No space" in body["reason"])
    allow_writes(steward.settings.database_url)
    assert health(services, now=T0 + 2 * BEAT_EVERY)[0] == 200


def test_the_heartbeat_is_written_at_most_every_few_seconds(steward):
    services = steward.runtime.services
    for seconds in range(0, 5):
        assert health(services, now=T0 + timedelta(seconds=seconds))[0] == 200
    assert beats(steward.engine) == [T0]  # one write for five checks within BEAT_EVERY
    health(services, now=T0 + BEAT_EVERY)
    assert beats(steward.engine) == [T0 + BEAT_EVERY]


def test_healthz_over_http_says_which_check_failed(steward):
    refuse_writes(steward.settings.database_url)
    status, body = steward.get("/healthz")
    assert status == 503 and body["check"] == "database_writable"
