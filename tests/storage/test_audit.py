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


def test_binding_reseals_the_event_and_verify_recomputes_the_row(database_url):
    import pytest

    from states import Stage
    from storage.audit import bind, verify_bindings
    from storage.models import Initiative, RoleAssignment

    engine = write_events(database_url, 2)
    at = datetime(2026, 1, 1, 11, 0, tzinfo=UTC)
    with Session(engine) as session:
        initiative = Initiative(team_id="T0LOCAL", key="triage", name="Triage", channel_id="C1", stage=Stage.READINESS,
                                stage_entered_at=at, timezone="UTC", created_by="U1", created_at=at)
        session.add(initiative)
        session.flush()
        with pytest.raises(RuntimeError):  # nothing appended in this transaction to bind to
            bind(session=session, team_id="T0LOCAL", rows=[])
        role = RoleAssignment(team_id="T0LOCAL", initiative_id=initiative.id, role="business_owner", user_id="U2",
                              assigned_by="U1", assigned_at=at)
        session.add(role)
        append_event(session=session, team_id="T0LOCAL", actor="U1", action="role.assigned", target="triage",
                     payload={"role": "business_owner"}, at=at)
        bind(session=session, team_id="T0LOCAL", rows=[role])
        session.commit()
        with pytest.raises(RuntimeError):  # committed: sealed for good
            bind(session=session, team_id="T0LOCAL", rows=[role])
    assert verify(engine) == (3, None)
    with Session(engine) as session:
        assert verify_bindings(session=session, team_id="T0LOCAL") == (1, [])
    tamper(database_url, "UPDATE role_assignments SET user_id = 'UMALLORY01'")
    with Session(engine) as session:
        matched, [problem] = verify_bindings(session=session, team_id="T0LOCAL")
    assert matched == 0 and problem.seq == 3 and "edited" in problem.reason
    tamper(database_url, "UPDATE audit_events SET bindings = NULL WHERE seq = 3")
    checked, broken = verify(engine)
    assert (checked, broken.seq) == (2, 3)  # the bindings are sealed into the event's hash


def test_rows_written_before_0011_are_bound_by_the_upgrade(empty_database_url):
    from sqlalchemy import text

    from storage.audit import verify_bindings
    from storage.db import upgrade

    engine = make_engine(empty_database_url)
    upgrade(engine, "0010")
    from storage.audit import GENESIS, event_hash

    previous = GENESIS
    with engine.begin() as connection:  # a chain of two events, as 0010 wrote them
        for seq in (1, 2):
            at = datetime(2026, 3, 2, 9, seq, tzinfo=UTC)
            digest = event_hash(team_id="T1", seq=seq, actor="U1", action="thing.done", target="churn",
                                payload="{}", created_at=at, prev_hash=previous)
            connection.execute(text(
                "INSERT INTO audit_events (team_id, seq, actor, action, target, payload, created_at, prev_hash, hash) "
                "VALUES ('T1', :seq, 'U1', 'thing.done', 'churn', '{}', :at, :previous, :digest)"),
                {"seq": seq, "at": at, "previous": previous, "digest": digest})
            previous = digest
        connection.execute(text("INSERT INTO audit_heads (team_id, seq, hash) VALUES ('T1', 2, :digest)"),
                           {"digest": previous})
    signed = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO initiatives (id, team_id, key, name, channel_id, stage, stage_entered_at, timezone, "
            "created_by, created_at, archived) VALUES (1, 'T1', 'churn', 'Churn', 'C1', 'readiness', :at, 'UTC', "
            "'U1', :at, false)"), {"at": signed})
        connection.execute(text(
            "INSERT INTO signoffs (id, team_id, initiative_id, subject, decision, signer, signer_role, stage, "
            "signed_at, evidence, evidence_hash) VALUES (1, 'T1', 1, 'baseline', 'reject', 'U2', "
            "'business_owner', 'readiness', :at, '{}', 'x')"), {"at": signed})
        connection.execute(text(
            "INSERT INTO role_assignments (team_id, initiative_id, role, user_id, assigned_by, assigned_at) "
            "VALUES ('T2', 1, 'business_owner', 'U2', 'U1', :at)"), {"at": signed})
    upgrade(engine)
    assert verify(engine, "T1") == (3, None) and verify(engine, "T2") == (1, None)
    with Session(engine) as session:
        assert verify_bindings(session=session, team_id="T1") == (1, [])
        assert verify_bindings(session=session, team_id="T2") == (1, [])
    with engine.begin() as connection:
        connection.execute(text("UPDATE signoffs SET decision = 'approve'"))
    with Session(engine) as session:
        _, [problem] = verify_bindings(session=session, team_id="T1")
    assert "edited" in problem.reason and problem.seq == 3
    engine.dispose()
