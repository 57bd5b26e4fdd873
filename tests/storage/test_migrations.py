"""Schema upgrades: safe when replicas start together, and the data they move lands where it should."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime

from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlmodel import Session

from storage.db import MIGRATIONS, current_revision, make_engine, upgrade
from storage.thresholds import in_force

HEAD = ScriptDirectory(str(MIGRATIONS)).get_current_head()


def _upgrade_processes(url: str, count: int) -> list[subprocess.CompletedProcess]:
    env = {**os.environ, "DATABASE_URL": url}
    env.pop("SLACK_BOT_TOKEN", None)
    processes = [subprocess.Popen([sys.executable, "-m", "bot", "db", "upgrade"], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(count)]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return results


def test_three_concurrent_upgrades_of_a_fresh_database_all_succeed(empty_database_url):
    results = _upgrade_processes(empty_database_url, 3)
    assert [r.returncode for r in results] == [0, 0, 0], [r.stderr[-500:] for r in results]
    assert all(f"database at revision {HEAD}" in r.stdout for r in results)
    engine = make_engine(empty_database_url)
    assert current_revision(engine) == HEAD
    engine.dispose()


def test_two_concurrent_upgrades_succeed_too(empty_database_url):
    results = _upgrade_processes(empty_database_url, 2)
    assert [r.returncode for r in results] == [0, 0], [r.stderr[-500:] for r in results]


def test_approved_baselines_signed_before_0006_are_in_force_after_it(empty_database_url):
    engine = make_engine(empty_database_url)
    upgrade(engine, "0005")
    signed = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO initiatives (id, team_id, key, name, channel_id, stage, stage_entered_at, timezone, "
            "created_by, created_at, archived) VALUES (1, 'T1', 'churn', 'Churn', 'C1', 'readiness', :at, 'UTC', "
            "'U1', :at, false)"), {"at": signed})
        for number, (decision, latency) in enumerate([("approve", 2.0), ("approve", 3.0), ("reject", 9.0)], 1):
            evidence = json.dumps({"thresholds": {"latency": latency, "adoption": 60}})
            connection.execute(text(
                "INSERT INTO signoffs (id, team_id, initiative_id, subject, decision, signer, signer_role, stage, "
                "signed_at, evidence, evidence_hash) VALUES (:id, 'T1', 1, 'baseline', :decision, 'U2', "
                "'business_owner', 'readiness', :at, :evidence, 'x')"),
                {"id": number, "decision": decision, "at": signed, "evidence": evidence})
    upgrade(engine)
    with Session(engine) as session:
        # The latest approval is in force; the later rejection changes nothing.
        assert in_force(session=session, initiative_id=1) == {"latency": 3.0, "adoption": 60.0}
    engine.dispose()
