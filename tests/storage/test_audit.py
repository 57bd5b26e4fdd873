"""The audit chain: intact after real use, and any edit, deletion or reordering is caught."""

from datetime import UTC, datetime

from sqlmodel import Session

from storage.audit import append_event, verify_chain
from storage.db import make_engine
from tests.tamper import tamper


def write_events(url, count=5, team="T0LOCAL"):
    engine = make_engine(url)
    with Session(engine) as session:
        for n in range(count):
            append_event(session=session, team_id=team, actor="UADMIN0001", action="thing.done", target="triage",
                         payload={"n": n}, at=datetime(2026, 1, 1, 10, n, tzinfo=UTC))
        session.commit()
    return engine


def verify(engine, team="T0LOCAL"):
    with Session(engine) as session:
        return verify_chain(session=session, team_id=team)


def test_chain_of_real_commands_verifies(steward):
    steward.command("initiative create triage Invoice triage", channel="C0OPS")
    steward.command("role assign triage owner <@UOWNER0001>")
    steward.command("role unassign triage owner")
    assert verify(steward.engine) == (3, None)


def test_workspaces_have_separate_chains(database_url):
    engine = write_events(database_url, 3, "T0ONE")
    write_events(database_url, 2, "T0TWO")
    assert verify(engine, "T0ONE") == (3, None)
    assert verify(engine, "T0TWO") == (2, None)


def test_an_edited_payload_is_caught(database_url):
    engine = write_events(database_url)
    tamper(database_url, "UPDATE audit_events SET payload = :edited WHERE seq = 3", edited='{"n":99}')
    checked, problem = verify(engine)
    assert (checked, problem.seq) == (2, 3)
    assert "changed" in problem.reason


def test_a_deleted_event_is_caught(database_url):
    engine = write_events(database_url)
    tamper(database_url,
           "DELETE FROM audit_events WHERE seq = 2",
           )
    checked, problem = verify(engine)
    assert (checked, problem.seq) == (1, 2)
    assert "missing" in problem.reason


def test_deleting_the_latest_events_is_caught_by_the_head(database_url):
    engine = write_events(database_url)
    tamper(database_url,
           "DELETE FROM audit_events WHERE seq = 5",
           )
    checked, problem = verify(engine)
    assert checked == 4 and problem is not None


def test_reordered_events_are_caught(database_url):
    engine = write_events(database_url)
    tamper(database_url,
           "UPDATE audit_events SET seq = -1 WHERE seq = 2",
           "UPDATE audit_events SET seq = 2 WHERE seq = 3",
           "UPDATE audit_events SET seq = 3 WHERE seq = -1",
           )
    checked, problem = verify(engine)
    assert (checked, problem.seq) == (1, 2)


def test_a_witness_names_its_head_and_an_altered_or_older_one_names_none():
    from datetime import date

    from bot.services.audit_trail import WitnessKey

    key = WitnessKey(date(2026, 1, 5), "T0LOCAL", 12, "a" * 64)
    assert WitnessKey.decode(key.encode()) == key
    for altered in ("witness:2026-01-05", key.encode()[:-1], key.encode() + "0", key.encode().upper(),
                    "witness:2026-13-05:T0LOCAL:12:" + "a" * 64, "review:3:prompt", "", None, 12):
        assert WitnessKey.decode(altered) is None
