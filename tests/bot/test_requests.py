"""Slack's request rules: signatures, stale timestamps, and what /healthz says."""

import time

from sqlmodel import Session, select

from storage.models import Initiative


def count(steward) -> int:
    with Session(steward.engine) as session:
        return len(list(session.exec(select(Initiative))))


def test_forged_signature_gets_401_and_changes_nothing(steward):
    response = steward.sender.command("initiative create triage Triage", user="UADMIN0001", channel="C0OPS",
                                      secret="not-the-signing-secret")
    assert response.status == 401
    assert count(steward) == 0


def test_request_older_than_five_minutes_gets_401(steward):
    stale = int(time.time()) - 6 * 60
    response = steward.sender.command("initiative create triage Triage", user="UADMIN0001", channel="C0OPS",
                                      timestamp=stale)
    assert response.status == 401
    assert count(steward) == 0


def test_healthz_answers_when_the_database_does(steward):
    assert steward.get("/healthz") == (200, {"status": "ok"})


def test_unknown_paths_are_404(steward):
    status, _ = steward.get("/nothing-here")
    assert status == 404
