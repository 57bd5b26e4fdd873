"""Pipeline heartbeats: a URL shown once, a missed ping prompts the data engineer once per miss, three open an
incident, the next ping notes the recovery."""

import http.client
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from sqlmodel import Session, select

from storage.models import AuditEvent, Incident, PipelineHeartbeat
from tests.harness import message_text, reply_text

OWNER, PM, DATA, OTHER = "UOWNER0001", "UPM0000001", "UDATA00001", "UOTHER0001"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def type_(steward, text, user=PM, at=NOW):
    with freeze_time(at):
        return reply_text(steward.command(text, user=user, channel="C0OPS"))


@pytest.fixture
def live(steward):
    earlier = NOW - timedelta(days=1)
    type_(steward, "initiative create churn Churn predictor stage=operations since=2026-03-02", user="UADMIN0001",
          at=earlier)
    for alias, user in (("owner", OWNER), ("pm", PM), ("data", DATA)):
        type_(steward, f"role assign churn {alias} <@{user}>", user="UADMIN0001", at=earlier)
    steward.drain(earlier)
    return steward


def ping(steward, path, method="POST", at=NOW):
    with freeze_time(at):
        connection = http.client.HTTPConnection("127.0.0.1", steward.server.effective_port, timeout=10)
        connection.request(method, path)
        response = connection.getresponse()
        body = json.loads(response.read() or b"{}")
        connection.close()
    return response.status, body


def create(steward, text="heartbeat create churn nightly-etl every=1h grace=10m"):
    reply = type_(steward, text)
    url = re.search(r"curl -fsS -X POST ([^\s`]+)", reply)[1]
    return reply, url.removeprefix("http://localhost:3000")


def prompts(slack):
    return [message_text(m) for m in slack.posts("C0OPS") if "heartbeat" in message_text(m)]


def test_a_missed_heartbeat_prompts_the_data_engineer_once_per_miss_and_three_open_an_incident(live, slack):
    reply, path = create(live)
    assert "shown *only this once*" in reply and path.startswith("/api/v1/heartbeats/hb_")
    with Session(live.engine) as session:
        assert path.rsplit("/", 1)[1] not in json.dumps([b.model_dump(mode="json") for b in
                                                          session.exec(select(PipelineHeartbeat))])
    assert ping(live, path, at=NOW + timedelta(minutes=50))[0] == 200
    # Expected by 13:50 + 10 min grace = 14:00. Sweeps every 10 minutes: one prompt per missed hour, not per sweep.
    for minutes in range(60, 60 + 4 * 60, 10):
        live.runtime.sweep(NOW + timedelta(minutes=minutes))
    said = prompts(slack)
    late = [text for text in said if "is late" in text]
    assert len(late) == 3, said  # at 14:00, 15:00 and 16:00 (swept to 16:50)
    assert all(f"<@{DATA}>" in text for text in late)
    assert "1 missed in a row" in late[0] and "3 missed in a row" in late[2] and "sev3 incident" in late[2]
    with Session(live.engine) as session:
        [incident] = session.exec(select(Incident)).all()
    assert incident.severity == "sev3" and "nightly-etl" in incident.title and "data quality" in incident.title
    # A fourth miss prompts again but opens no second incident.
    live.runtime.sweep(NOW + timedelta(hours=5))
    with Session(live.engine) as session:
        assert len(session.exec(select(Incident)).all()) == 1
    # The next ping notes the recovery, in the channel and in the incident's thread.
    status, body = ping(live, path, at=NOW + timedelta(hours=5, minutes=5))
    assert status == 200 and body["recovered_after_misses"] == 4
    live.drain(NOW + timedelta(hours=5, minutes=5))
    back = [m for m in slack.posts("C0OPS") if "is back after 4 missed pings" in message_text(m)]
    assert len(back) == 2 and any("thread_ts" in m for m in back) and "Resolve INC1" in message_text(back[0])
    live.runtime.sweep(NOW + timedelta(hours=5, minutes=30))  # on time again: nothing more
    assert len([t for t in prompts(slack) if "is late" in t]) == 4


def test_a_late_sweep_counts_every_period_it_slept_through_at_once(live, slack):
    create(live, "heartbeat create churn hourly every=1h")  # default grace: 6 min (a tenth, at least 5 min)
    live.runtime.sweep(NOW + timedelta(hours=3, minutes=30))
    late = [t for t in prompts(slack) if "is late" in t]
    assert len(late) == 1 and "3 missed in a row" in late[0] and "no ping yet" in late[0]
    with Session(live.engine) as session:
        assert len(session.exec(select(Incident)).all()) == 1


def test_a_vacant_data_engineer_is_said_so(live, slack):
    type_(live, "role unassign churn data", user="UADMIN0001")
    create(live, "heartbeat create churn etl every=30m grace=5m")
    live.runtime.sweep(NOW + timedelta(minutes=36))
    [late] = [t for t in prompts(slack) if "is late" in t]
    assert "data engineer role is *vacant*" in late


def test_list_and_delete(live):
    _, path = create(live)
    listed = type_(live, "heartbeat list churn")
    assert "`nightly-etl` every 1 h (grace 10 min); last ping never" in listed
    assert "already has a heartbeat named `nightly-etl`" in type_(live, "heartbeat create churn nightly-etl every=1h")
    assert "Only people holding a role" in type_(live, "heartbeat delete churn nightly-etl", user=OTHER)
    assert "is deleted" in type_(live, "heartbeat delete churn nightly-etl")
    assert ping(live, path)[0] == 404
    assert "has no heartbeats" in type_(live, "heartbeat list churn")
    assert "no heartbeat named `nightly-etl`" in type_(live, "heartbeat delete churn nightly-etl")
    with Session(live.engine) as session:
        actions = [e.action for e in session.exec(select(AuditEvent))]
    assert "heartbeat.created" in actions and "heartbeat.deleted" in actions


@pytest.mark.parametrize(("text", "fragment"), [
    ("heartbeat create churn etl", "`every=<duration>`"),
    ("heartbeat create churn etl every=soon", "`soon` is not a duration"),
    ("heartbeat create churn etl every=30s", "between 1 minute and 31 days"),
    ("heartbeat create churn etl every=40d", "between 1 minute and 31 days"),
    ("heartbeat create churn etl every=1h grace=11h", "at most ten periods"),
    ("heartbeat create churn etl every=1h every=2h", "given twice"),
    ("heartbeat create churn Bad/Name every=1h", "is not a heartbeat name"),
    ("heartbeat create churn etl every=1h now", "Unexpected `now`"),
    ("heartbeat create nosuch etl every=1h", "nosuch"),
    ("heartbeat create churn etl every=1h", None),
])
def test_bad_forms_say_why_and_create_nothing(live, text, fragment):
    reply = type_(live, text)
    if fragment is None:
        assert "shown *only this once*" in reply
        return
    assert fragment in reply
    with Session(live.engine) as session:
        assert session.exec(select(PipelineHeartbeat)).all() == []


def test_pings_need_a_known_token_and_post(live):
    _, path = create(live)
    assert ping(live, "/api/v1/heartbeats/hb_unknown")[0] == 404
    assert ping(live, path, method="GET")[0] == 405
    status, body = ping(live, path, at=NOW + timedelta(minutes=1))
    assert status == 200 and body["heartbeat"] == "nightly-etl" and body["recovered_after_misses"] == 0
