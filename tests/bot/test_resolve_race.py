"""The loser of a simultaneous resolve is told who resolved the incident and when, not "try again"."""

from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from sqlmodel import Session, col, select, update

from storage import incidents as incident_rows
from storage.models import Incident
from tests.harness import reply_text

OWNER, PM = "UOWNER0001", "UPM0000001"
T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
WINNER_AT = T0 + timedelta(minutes=7)


@pytest.fixture
def declared(steward):
    with freeze_time(T0 - timedelta(days=1)):
        steward.command("initiative create churn Churn predictor stage=operations since=2026-01-05", channel="C0OPS")
        steward.command(f"role assign churn owner <@{OWNER}>")
        steward.command(f"role assign churn pm <@{PM}>")
    with freeze_time(T0):
        steward.command("incident declare churn sev2 Drift alarm", user=PM)
    return steward


def test_the_loser_of_a_simultaneous_resolve_hears_who_won_and_when(declared, monkeypatch):
    original = incident_rows.fenced_update

    def another_replica_resolves_first(*, session, incident, **values):
        # Between this request's read and its write, the owner's resolve (on another replica) commits.
        if values.get("resolved_by") == PM:
            session.exec(update(Incident).where(col(Incident.id) == incident.id).values(
                version=incident.version + 1, status="resolved", resolved_by=OWNER, resolved_at=WINNER_AT,
                resolution="Rolled back the model", next_escalation_at=None)
                .execution_options(synchronize_session=False))
        return original(session=session, incident=incident, **values)

    monkeypatch.setattr(incident_rows, "fenced_update", another_replica_resolves_first)
    with freeze_time(T0 + timedelta(minutes=8)):
        shown = reply_text(declared.command("incident resolve INC1 Retrained on May data", user=PM))
    assert "INC1 was already resolved by <@UOWNER0001> on Mon 02 Mar 2026 14:07 UTC" in shown
    assert "try again" not in shown
    with Session(declared.engine) as session:
        incident = session.exec(select(Incident)).one()
    assert incident.resolved_by != PM  # the loser changed nothing (the simulated winner shared its transaction)
