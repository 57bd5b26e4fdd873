"""The KPI API's edges: the token is checked before the body is read, and every odd body is a 422 naming its field."""

import http.client
import json
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from sqlmodel import Session, select

from bot.api import OLDEST
from storage import tokens
from storage.db import session_scope
from storage.models import Incident, Initiative, KpiMeasurement
from tests.harness import ADMIN, reply_text

PM = "UPM0000001"


@pytest.fixture
def live(steward):
    with freeze_time(datetime.now(UTC) - timedelta(days=1)):
        steward.command("initiative create churn Churn predictor stage=operations since=2026-01-05", channel="C0OPS")
        steward.command("initiative create fraud Fraud scoring", channel="C0OPS")
        steward.command(f"role assign churn pm <@{PM}>")
    with session_scope(steward.engine) as session:
        initiative = session.exec(select(Initiative).where(Initiative.key == "churn")).one()
        steward.token, _ = tokens.create(session=session, initiative=initiative, created_by="test",
                                         at=datetime.now(UTC))
    return steward


def post(steward, raw: str | bytes, token: str | None, key: str = "churn") -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", steward.server.effective_port, timeout=30)
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    connection.request("POST", f"/api/v1/initiatives/{key}/kpis", body=raw, headers=headers)
    response = connection.getresponse()
    data = json.loads(response.read() or b"{}")
    connection.close()
    return response.status, data


def recorded(steward) -> int:
    with Session(steward.engine) as session:
        return len(list(session.exec(select(KpiMeasurement))))


DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize("raw", [DEEP, "{nope", '{"kpi": "latency", "value": 1' + "0" * 5000 + "}"])
def test_the_token_is_checked_before_the_body_is_parsed(live, raw):
    assert post(live, raw, "stw_not-a-token")[0] == 401
    assert post(live, raw, None)[0] == 401
    status, answer = post(live, raw, live.token, key="fraud")  # a real token, another initiative
    assert status == 403 and "not for initiative 'fraud'" in answer["error"]


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize(("raw", "field", "fragment"), [
    ('{"kpi": "latency", "value": 1' + "0" * 400 + "}", "value", "too large"),
    ('{"kpi": "latency", "value": 1' + "0" * 5000 + "}", "value", "too large"),
    ('[{"kpi": "latency", "value": 1}, {"kpi": "adoption", "value": -1' + "0" * 500 + "}]", "[1].value",
     "too large"),
    ('{"kpi": "latency", "value": 1e400}', "value", "finite"),
    ('{"kpi": "latency", "value": 1e308}', "value", "cannot be above 86400 s"),
    ('{"kpi": "latency", "value": 0}', "value", "must be above 0 s"),
    ('{"kpi": "adoption", "value": 100.5}', "value", "cannot be above 100 %"),
    ('{"kpi": "exception-rate", "value": -0.1}', "value", "cannot be below 0 %"),
    ('{"kpi": "latency", "value": 1, "at": "0001-01-01T00:00:00+14:00"}', "at", "out of range"),
    ('{"kpi": "latency", "value": 1, "at": "9999-12-31T23:59:59-14:00"}', "at", "out of range"),
    ('{"kpi": "latency", "value": 1, "at": "0001-01-02T00:00:00Z"}', "at", "more than 400 days in the past"),
    ('{"kpi": "latency", "value": 1, "at": 1700000000}', "at", "ISO 8601"),
    ('{"kpi": "latency", "value": 1, "at": ' + "[" * 500 + "]" * 500 + "}", "at", "ISO 8601"),
    (DEEP, "body", "nested too deeply"),
    ('{"kpi": "latency", "value": ' + "[" * 100_000 + "]" * 100_000 + "}", "body", "nested too deeply"),
])
def test_odd_bodies_are_422_naming_the_field_and_record_nothing(live, raw, field, fragment):
    status, answer = post(live, raw, live.token)
    assert status == 422, answer
    assert answer["field"] == field and fragment in answer["error"]
    assert recorded(live) == 0


def test_at_is_bounded_by_a_small_skew_ahead_and_the_documented_age_behind(live):
    now = datetime.now(UTC)
    too_new = iso(now + timedelta(minutes=10))
    too_old = iso(now - OLDEST - timedelta(days=1))
    ok_old = iso(now - OLDEST + timedelta(days=1))
    ok_skew = iso(now + timedelta(minutes=2))
    assert post(live, json.dumps({"kpi": "latency", "value": 1, "at": too_new}), live.token)[1]["field"] == "at"
    assert post(live, json.dumps({"kpi": "latency", "value": 1, "at": too_old}), live.token)[1]["field"] == "at"
    assert recorded(live) == 0
    assert post(live, json.dumps([{"kpi": "latency", "value": 1, "at": ok_old},
                                  {"kpi": "latency", "value": 1, "at": ok_skew}]), live.token)[0] == 201
    assert recorded(live) == 2


def test_a_year_one_breach_cannot_open_an_incident(live):
    with freeze_time(datetime.now(UTC)):
        live.command("kpi threshold churn latency 2", user=PM)
        live.command("signoff churn baseline approve")
    status, answer = post(live, json.dumps({"kpi": "latency", "value": 50, "at": "0001-01-01T00:00:00Z"}),
                          live.token)
    assert status == 422 and answer["field"] == "at"
    with Session(live.engine) as session:
        assert list(session.exec(select(Incident))) == []


@pytest.mark.parametrize(("text", "said"), [
    ("kpi record churn latency 1e308", "cannot be above 86400 s"),
    ("kpi record churn latency 0", "must be above 0 s"),
    ("kpi record churn adoption 101", "cannot be above 100 %"),
    ("kpi threshold churn latency 1e308", "cannot be above 86400 s"),
    ("kpi threshold churn latency 0", "must be above 0 s"),
    ("kpi threshold churn task-completion -5", "cannot be below 0 %"),
])
def test_the_same_bounds_hold_for_commands(live, text, said):
    shown = reply_text(live.command(text, user=ADMIN, channel="C0OPS"))
    assert said in shown
    assert recorded(live) == 0
