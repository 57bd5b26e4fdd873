"""Issue 13.9: the audit trail covers what it claims.

Real flows write sign-offs, role assignments, thresholds in force, review completions and incident
resolutions; someone with write access to the database then tampers with them the way issue 13 did.
`steward audit verify` (a real subprocess) must say 0 intact, 1 broken (naming what), 2 could not check,
never a traceback, and say plainly what it cannot see without --slack.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from sqlmodel import Session, select

from storage.audit import GENESIS, KIND_NAMES, event_hash, row_digest
from storage.models import AuditEvent, AuditWitness, Incident, RoleAssignment, SignOff
from tests.harness import reply_text
from tests.tamper import tamper
from tests.test_cli import run_cli

ADMIN, OWNER, PM, DATA, MLOPS, MALLORY = ("UADMIN0001", "UOWNER0001", "UPM0000001", "UDATA00001", "UMLOPS0001",
                                          "UMALLORY01")
THRESHOLDS = {"task-completion": 90, "exception-rate": 8, "data-quality": 95, "adoption": 60, "latency": 2}
START = datetime(2026, 2, 5, 8, 0, tzinfo=UTC)
AUDIT = "C0AUDIT"


class Trail:
    """A workspace with every kind of operative row, and the tools of someone who tampers with it."""

    def __init__(self, steward, slack):
        self.steward, self.slack, self.now = steward, slack, START
        self.url = steward.settings.database_url

    def type(self, text: str, user: str = ADMIN) -> str:
        with freeze_time(self.now):
            return reply_text(self.steward.command(text, user=user, channel="C0OPS"))

    def later(self, **delta) -> None:
        self.now += timedelta(**delta)
        self.steward.runtime.sweep(self.now)

    def verify(self, *options: str):
        env = {"DATABASE_URL": self.url, "SLACK_BOT_TOKEN": self.slack.token, "SLACK_API_URL": self.slack.api_url,
               "STEWARD_AUDIT_CHANNEL": AUDIT}
        result = run_cli("audit", "verify", *options, env=env)
        assert "Traceback" not in result.stdout + result.stderr
        return result

    def rows(self, model, **where):
        with Session(self.steward.engine) as session:
            return [row for row in session.exec(select(model).order_by(model.id))
                    if all(getattr(row, k) == v for k, v in where.items())]

    def events(self):
        return self.rows(AuditEvent)

    def witnesses(self) -> list[dict]:
        return [m for m in self.slack.posts(AUDIT) if (m.get("metadata") or {}).get("event_type")]

    def rehash_from(self, seq: int, *, rebind: bool = True) -> None:
        """Reseal every event from `seq` on as an attacker with the code would: bindings recomputed, head moved."""
        events = [e for e in self.events() if e.team_id == "T0LOCAL"]
        previous = GENESIS
        for event in events:
            if event.seq < seq:
                previous = event.hash
                continue
            bindings = event.bindings
            if rebind and bindings:
                entries = json.loads(bindings)
                for entry in entries:
                    kind = KIND_NAMES[entry["kind"]]
                    [row] = self.rows(kind.model, id=entry["id"]) or [None]
                    if row is not None:
                        entry["digest"] = row_digest(kind, row.id, row)
                bindings = json.dumps(entries, sort_keys=True, separators=(",", ":"))
            digest = event_hash(team_id=event.team_id, seq=event.seq, actor=event.actor, action=event.action,
                                target=event.target, payload=event.payload, created_at=event.created_at,
                                prev_hash=previous, bindings=bindings)
            tamper(self.url, "UPDATE audit_events SET hash = :digest, prev_hash = :previous, bindings = :bindings "
                             "WHERE id = :id", digest=digest, previous=previous, bindings=bindings, id=event.id)
            previous = digest
        tamper(self.url, "UPDATE audit_heads SET hash = :head, seq = :seq WHERE team_id = 'T0LOCAL'",
               head=previous, seq=events[-1].seq)


@pytest.fixture
def trail(steward, slack):
    slack.add_channel(AUDIT, "audit")
    services = steward.runtime.services
    services.settings = services.settings.model_copy(update={"steward_audit_channel": AUDIT})
    walk = Trail(steward, slack)
    walk.type("initiative create churn Churn stage=operations since=2026-01-05")
    for alias, user in (("owner", OWNER), ("pm", PM), ("data", DATA), ("mlops", MLOPS)):
        walk.type(f"role assign churn {alias} <@{user}>")
    walk.type(f"role assign churn mlops <@{DATA}>")  # hands it on: the first assignment ends
    walk.type(f"role assign churn mlops <@{MLOPS}>")
    for kpi, value in THRESHOLDS.items():
        walk.type(f"kpi threshold churn {kpi} {value}", user=PM)
    assert "now in force" in walk.type("signoff churn baseline approve Agreed", user=OWNER)
    walk.type("kpi threshold churn latency 9", user=PM)
    assert "rejected" in walk.type("signoff churn baseline reject Far too loose", user=OWNER).lower()
    walk.later(hours=2, minutes=1)  # 10:01: the monthly review R1 is posted, the head witnessed
    assert "completed" in walk.type("review done R1 KPIs within thresholds", user=OWNER)
    walk.type("incident declare churn sev3 Scores drift", user=PM)
    assert "resolved" in walk.type("incident resolve INC1 Rolled back the model", user=MLOPS).lower()
    walk.later(minutes=1)
    return walk


def test_real_use_verifies_intact_and_says_what_the_database_alone_cannot_show(trail):
    result = trail.verify()
    assert result.returncode == 0, result.stdout + result.stderr
    # 6 role assignments (mlops handed on twice), 2 sign-offs, 5 thresholds in force, 1 review, 1 incident
    assert "chain intact" in result.stdout and "15 operative rows match their events" in result.stdout
    assert "Not detectable without --slack" in result.stdout and "rewritten and rehashed end to end" in result.stdout
    with_slack = trail.verify("--slack")
    assert with_slack.returncode == 0, with_slack.stdout + with_slack.stderr
    assert "Not detectable even with --slack: events after the latest witnessed head" in with_slack.stdout


def test_flipping_a_signoff_from_reject_to_approve_is_caught(trail):
    [_, rejected] = trail.rows(SignOff)
    # As the issue did: the rejection becomes an approval and its thresholds are put in force.
    tamper(trail.url, "UPDATE signoffs SET decision = 'approve' WHERE id = :id", id=rejected.id)
    tamper(trail.url, "INSERT INTO thresholds_in_force (team_id, initiative_id, signoff_id, kpi, value, "
                      "in_force_from) VALUES ('T0LOCAL', :initiative, :id, 'latency', 9.0, :at)",
           initiative=rejected.initiative_id, id=rejected.id, at=rejected.signed_at.replace(tzinfo=None))
    result = trail.verify()
    assert result.returncode == 1
    assert f"BROKEN: sign-off {rejected.id} (baseline: approve by {OWNER} as business_owner) differs from what " \
           "event" in result.stdout and "it was edited" in result.stdout
    assert "threshold in force" in result.stdout and "is in no audit event" in result.stdout


def test_handing_the_business_owner_role_to_someone_else_is_caught(trail):
    [owner] = trail.rows(RoleAssignment, role="business_owner")
    tamper(trail.url, "UPDATE role_assignments SET user_id = :mallory WHERE id = :id", mallory=MALLORY, id=owner.id)
    result = trail.verify()
    assert result.returncode == 1
    assert f"BROKEN: role assignment {owner.id} (business_owner: {MALLORY}) differs from what event" in result.stdout


def test_an_added_role_assignment_is_caught(trail):
    [owner] = trail.rows(RoleAssignment, role="business_owner")
    tamper(trail.url, "UPDATE role_assignments SET ended_at = assigned_at, ended_by = :mallory WHERE id = :id",
           "INSERT INTO role_assignments (team_id, initiative_id, role, user_id, assigned_by, assigned_at) "
           "SELECT team_id, initiative_id, role, :mallory, :mallory, assigned_at FROM role_assignments WHERE id = :id",
           mallory=MALLORY, id=owner.id)
    result = trail.verify()
    assert result.returncode == 1
    assert f"(business_owner: {MALLORY}) is in no audit event" in result.stdout


def test_changing_a_resolution_is_caught(trail):
    tamper(trail.url, "UPDATE incidents SET resolution = 'Nothing was wrong' WHERE number = 1")
    result = trail.verify()
    assert result.returncode == 1 and "BROKEN: incident INC1 (resolved) differs from what event" in result.stdout


def test_reopening_or_completing_reviews_behind_stewards_back_is_caught(trail):
    trail.later(days=35)  # R2 falls due and is posted
    tamper(trail.url, "UPDATE reviews SET status = 'completed', completed_by = :owner WHERE number = 2",
           owner=OWNER)
    tamper(trail.url, "UPDATE reviews SET status = 'posted', completed_by = NULL WHERE number = 1")
    result = trail.verify()
    assert result.returncode == 1
    assert "BROKEN: review R2 (monthly-performance-review, completed) is in no audit event" in result.stdout
    assert "BROKEN: review R1 (monthly-performance-review, posted) differs from what event" in result.stdout


def test_deleting_a_bound_row_is_caught(trail):
    [resolved] = trail.rows(Incident)
    # A forger deletes what refers to the incident first (PostgreSQL enforces the foreign keys).
    tamper(trail.url, "DELETE FROM deviations WHERE incident_id = :id",
           "DELETE FROM incident_timeline WHERE incident_id = :id",
           "DELETE FROM incident_pages WHERE incident_id = :id",
           "DELETE FROM incidents WHERE id = :id", id=resolved.id)
    result = trail.verify()
    assert result.returncode == 1
    assert f"BROKEN: incident {resolved.id} recorded by event" in result.stdout and "it was deleted" in result.stdout


def test_an_edited_deleted_reordered_or_inserted_event_is_caught(trail):
    events = trail.events()
    middle = events[len(events) // 2]
    tamper(trail.url, "UPDATE audit_events SET actor = :mallory WHERE id = :id", mallory=MALLORY, id=middle.id)
    edited = trail.verify()
    assert edited.returncode == 1 and f"BROKEN at event {middle.seq}: its content was changed" in edited.stdout
    tamper(trail.url, "UPDATE audit_events SET actor = :actor WHERE id = :id", actor=middle.actor, id=middle.id)
    assert trail.verify().returncode == 0

    tamper(trail.url, "UPDATE audit_events SET seq = -1 WHERE seq = 3", "UPDATE audit_events SET seq = 3 WHERE seq = 4",
           "UPDATE audit_events SET seq = 4 WHERE seq = -1")
    reordered = trail.verify()
    assert reordered.returncode == 1 and "BROKEN at event 3: does not follow the previous event" in reordered.stdout
    tamper(trail.url, "UPDATE audit_events SET seq = -1 WHERE seq = 3", "UPDATE audit_events SET seq = 3 WHERE seq = 4",
           "UPDATE audit_events SET seq = 4 WHERE seq = -1")

    tamper(trail.url, "UPDATE audit_events SET seq = seq + 1000 WHERE seq > 5",
           "INSERT INTO audit_events (team_id, seq, actor, action, target, payload, created_at, prev_hash, hash) "
           "SELECT team_id, 6, :mallory, 'role.assigned', target, '{}', created_at, hash, hash "
           "FROM audit_events WHERE seq = 5", mallory=MALLORY)
    tamper(trail.url, "UPDATE audit_events SET seq = seq - 999 WHERE seq > 1000")
    inserted = trail.verify()
    assert inserted.returncode == 1 and "BROKEN at event 6: its content was changed" in inserted.stdout
    tamper(trail.url, "DELETE FROM audit_events WHERE seq = 6",
           "UPDATE audit_events SET seq = seq + 1000 WHERE seq > 6",
           "UPDATE audit_events SET seq = seq - 1001 WHERE seq > 1000")
    assert trail.verify().returncode == 0

    tamper(trail.url, "DELETE FROM audit_events WHERE seq = 4")
    deleted = trail.verify()
    assert deleted.returncode == 1 and "BROKEN at event 4: event 4 is missing" in deleted.stdout


def test_a_signoff_is_witnessed_at_the_next_sweep_so_a_rewrite_after_it_is_caught(trail):
    """The issue: events after the last daily witness could be rewritten and rehashed, and both checks passed."""
    witnessed = len(trail.witnesses())
    trail.later(minutes=30)
    trail.type("kpi threshold churn latency 4", user=PM)
    trail.type("signoff churn baseline reject Still too loose", user=OWNER)
    trail.later(minutes=1)  # the same day, within the hour: the sign-off is witnessed all the same
    assert len(trail.witnesses()) == witnessed + 1
    assert trail.verify("--slack").returncode == 0

    # Flip the latest rejection to an approval, rebind it, rehash the chain from it, drop the witness rows.
    [*_, last] = trail.rows(SignOff)
    [event] = [e for e in trail.events() if e.action == "signoff.recorded" and '"Still too loose"' in e.payload]
    tamper(trail.url, "UPDATE signoffs SET decision = 'approve' WHERE id = :id", id=last.id)
    tamper(trail.url, "UPDATE audit_events SET payload = replace(payload, '\"decision\":\"reject\"', "
                      "'\"decision\":\"approve\"') WHERE id = :id", id=event.id)
    trail.rehash_from(event.seq)
    tamper(trail.url, "DELETE FROM audit_witnesses")
    fooled = trail.verify()
    assert fooled.returncode == 0 and "Not detectable without --slack" in fooled.stdout
    caught = trail.verify("--slack")
    assert caught.returncode == 1
    witnessed_seq = max(e.seq for e in trail.events())
    assert f"BROKEN: the chain head witnessed at event {witnessed_seq} " in caught.stdout
    assert "held by Slack) is not in the chain any more; the history was rewritten" in caught.stdout


def test_events_deleted_after_the_latest_daily_witness_are_caught_once_witnessed(trail):
    trail.later(minutes=30)
    trail.type("signoff churn stage-exit reject Not yet", user=OWNER)
    trail.later(minutes=1)
    tail = [e for e in trail.events() if e.action == "signoff.recorded"][-1]
    [signoff] = [s for s in trail.rows(SignOff) if s.subject == "stage-exit"]
    # Delete the sign-off, its event and everything after it; move the head back; drop the witness rows.
    tamper(trail.url, "DELETE FROM audit_events WHERE seq >= :seq", "DELETE FROM signoffs WHERE id = :id",
           "DELETE FROM audit_witnesses", seq=tail.seq, id=signoff.id)
    trail.rehash_from(1)
    assert trail.verify().returncode == 0  # the database alone cannot tell
    caught = trail.verify("--slack")
    assert caught.returncode == 1 and "is not in the chain any more; the history was rewritten" in caught.stdout


def test_ordinary_events_are_witnessed_at_most_hourly_and_a_burst_of_signoffs_makes_one_post(trail):
    before = len(trail.witnesses())
    trail.later(minutes=5)
    trail.type("kpi record churn latency 1.5", user=DATA)
    trail.later(minutes=1)
    trail.later(minutes=20)
    assert len(trail.witnesses()) == before  # a KPI measurement waits for the hour
    trail.later(minutes=40)
    assert len(trail.witnesses()) == before + 1
    for n in range(5):
        trail.type(f"signoff churn stage-exit reject not yet {n}", user=OWNER)
    trail.later(minutes=1)
    trail.later(minutes=1)
    assert len(trail.witnesses()) == before + 2  # five sign-offs, one post
    with Session(trail.steward.engine) as session:
        heads = [(w.seq, w.hash) for w in session.exec(select(AuditWitness))]
    assert len(heads) == len(set(heads))


def test_forged_witness_posts_do_not_count(trail):
    [real] = trail.witnesses()[-1:]
    key = real["metadata"]["event_payload"]["key"]
    forged = key[:-64] + "f" * 64  # a head that never was
    messages = trail.slack.state.messages[AUDIT]
    messages.append({"type": "message", "ts": "9999999990.000001", "user": MALLORY, "text": real["text"],
                     "blocks": real["blocks"],
                     "metadata": {"event_type": "steward_outbox", "event_payload": {"key": forged}}})
    messages.append({"type": "message", "ts": "9999999990.000002", "user": "UOTHERBOT1", "bot_id": "BOTHERAPP",
                     "subtype": "bot_message", "username": "Steward", "text": real["text"],
                     "metadata": {"event_type": "steward_outbox", "event_payload": {"key": forged}}})
    messages.append({"type": "message", "ts": "9999999990.000003", "user": trail.slack.state.bot_user_id,
                     "text": f"Steward audit chain head: 999 events, {'f' * 64}"})  # Steward's words, no metadata
    result = trail.verify("--slack")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "chain intact" in result.stdout


def test_could_not_check_exits_2_with_the_reason(trail, tmp_path):
    trail.slack.state.messages.pop(AUDIT)
    del trail.slack.state.channels[AUDIT]
    missing = trail.verify("--slack")
    assert missing.returncode == 2 and "could not check: Slack answered channel_not_found" in missing.stderr

    env = {"DATABASE_URL": trail.url, "SLACK_BOT_TOKEN": "xoxb-revoked", "SLACK_API_URL": trail.slack.api_url,
           "STEWARD_AUDIT_CHANNEL": AUDIT}
    revoked = run_cli("audit", "verify", "--slack", env=env)
    assert revoked.returncode == 2 and "could not check: Slack answered invalid_auth" in revoked.stderr
    assert "Traceback" not in revoked.stderr

    nowhere = run_cli("audit", "verify", "--slack", env={**env, "SLACK_API_URL": "http://127.0.0.1:9/api/"})
    assert nowhere.returncode == 2 and "could not check: could not reach Slack" in nowhere.stderr

    (tmp_path / "empty.db").write_bytes(b"")
    schemaless = run_cli("audit", "verify", env={"DATABASE_URL": f"sqlite:///{tmp_path}/empty.db"})
    assert schemaless.returncode == 2 and "could not check: the database would not answer" in schemaless.stderr
    assert "steward db upgrade" in schemaless.stderr and "Traceback" not in schemaless.stderr

