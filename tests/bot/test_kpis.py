"""KPIs: ingestion over HTTP with tokens, breaches into incidents, silence, checkpoint tables and charts, Home."""

import http.client
import json
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from sqlmodel import Session, select

from storage import tokens
from storage.db import session_scope
from storage.models import Deviation, Incident, Initiative, KpiMeasurement
from tests.harness import message_text, reply_text

OWNER, PM, DATA, MLOPS, OTHER = "UOWNER0001", "UPM0000001", "UDATA00001", "UMLOPS0001", "UOTHER0001"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
THRESHOLDS = {"task-completion": 90, "exception-rate": 8, "data-quality": 95, "adoption": 60, "latency": 2}
GOOD = {"task-completion": 93, "exception-rate": 5, "data-quality": 97, "adoption": 71, "latency": 1.2}


def type_(steward, text, user=OWNER, at=NOW):
    with freeze_time(at):
        return reply_text(steward.command(text, user=user, channel="C0OPS"))


@pytest.fixture
def live(steward):
    """An initiative in operations with signed thresholds, and a token for its pipeline."""
    type_(steward, "initiative create churn Churn predictor stage=operations since=2026-03-02", user="UADMIN0001",
          at=NOW - timedelta(days=1))
    for alias, user in (("owner", OWNER), ("pm", PM), ("data", DATA), ("mlops", MLOPS)):
        type_(steward, f"role assign churn {alias} <@{user}>", user="UADMIN0001", at=NOW - timedelta(days=1))
    for kpi, value in THRESHOLDS.items():
        type_(steward, f"kpi threshold churn {kpi} {value}", user=PM, at=NOW - timedelta(days=1))
    type_(steward, "signoff churn baseline approve", at=NOW - timedelta(days=1))
    with session_scope(steward.engine) as session:
        initiative = session.exec(select(Initiative).where(Initiative.key == "churn")).one()
        steward.token, _ = tokens.create(session=session, initiative=initiative, created_by="test", at=NOW)
    return steward


def post(steward, body, token=None, key="churn", raw=None):
    connection = http.client.HTTPConnection("127.0.0.1", steward.server.effective_port, timeout=10)
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    connection.request("POST", f"/api/v1/initiatives/{key}/kpis", body=raw if raw is not None else json.dumps(body),
                       headers=headers)
    response = connection.getresponse()
    data = json.loads(response.read() or b"{}")
    connection.close()
    return response.status, data


def measurements(steward):
    with Session(steward.engine) as session:
        return list(session.exec(select(KpiMeasurement).order_by(KpiMeasurement.id)))


def incidents(steward):
    with Session(steward.engine) as session:
        return list(session.exec(select(Incident).order_by(Incident.id)))


def test_a_pipeline_pushes_one_or_many_measurements(live):
    status, body = post(live, {"kpi": "latency", "value": 1.4}, live.token)
    assert status == 201 and body["recorded"] == 1 and body["within_threshold"]["latency"] is True
    batch = [{"kpi": k, "value": v, "at": "2026-05-31T10:00:00Z"} for k, v in GOOD.items()]
    status, body = post(live, batch, live.token)
    assert status == 201 and body["recorded"] == 5
    rows = measurements(live)
    assert len(rows) == 6 and {r.source for r in rows} == {"api"}
    assert rows[1].measured_at == datetime(2026, 5, 31, 10, tzinfo=UTC)
    assert rows[0].recorded_by.startswith("api:stw_")


@pytest.mark.parametrize(("body", "field", "fragment"), [
    ({"kpi": "accuracy", "value": 1}, "kpi", "kpi must be one of"),
    ({"kpi": "latency", "value": "fast"}, "value", "value must be a number"),
    ({"kpi": "latency", "value": True}, "value", "value must be a number"),
    ({"kpi": "adoption", "value": 120}, "value", "cannot be above 100"),
    ({"kpi": "latency", "value": -1}, "value", "cannot be below 0"),
    ({"kpi": "latency", "value": 1, "at": "yesterday"}, "at", "ISO 8601"),
    ({"kpi": "latency", "value": 1, "at": "2999-01-01T00:00:00Z"}, "at", "in the future"),
    ({"kpi": "latency", "value": 1, "source": "x"}, "source", "unknown field"),
    ([{"kpi": "latency", "value": 1}, {"kpi": "latency", "value": "x"}], "[1].value", "must be a number"),
    ([], "body", "empty"),
    ("just a string", "body", "each measurement is an object"),
])
def test_bad_bodies_get_422_naming_the_field_and_record_nothing(live, body, field, fragment):
    status, answer = post(live, body, live.token)
    assert status == 422 and answer["field"] == field and fragment in answer["error"]
    assert measurements(live) == []


def test_not_json_is_422(live):
    assert post(live, None, live.token, raw="{nope") == (422, {"error": "the body is not JSON", "field": "body"})


def test_tokens_missing_wrong_revoked_or_for_another_initiative(live):
    assert post(live, {"kpi": "latency", "value": 1})[0] == 401
    assert post(live, {"kpi": "latency", "value": 1}, "stw_not-a-token")[0] == 401
    type_(live, "initiative create fraud Fraud scoring", user="UADMIN0001")
    status, body = post(live, {"kpi": "latency", "value": 1}, live.token, key="fraud")
    assert status == 403 and "not for initiative 'fraud'" in body["error"]
    with session_scope(live.engine) as session:
        initiative = session.exec(select(Initiative).where(Initiative.key == "churn")).one()
        assert tokens.revoke_all(session=session, initiative=initiative, at=NOW) == 1
    assert post(live, {"kpi": "latency", "value": 1}, live.token)[0] == 401
    assert measurements(live) == []


def test_token_cli_creates_a_working_token_and_revokes_it(live, tmp_path):
    from tests.test_cli import run_cli

    env = {"DATABASE_URL": live.settings.database_url}
    created = run_cli("token", "create", "churn", env=env, cwd=tmp_path)
    assert created.returncode == 0 and created.stdout.startswith("stw_")
    token = created.stdout.strip()
    assert post(live, {"kpi": "latency", "value": 1}, token)[0] == 201
    revoked = run_cli("token", "revoke", "churn", env=env, cwd=tmp_path)
    assert "revoked 2 token(s) of churn" in revoked.stdout
    assert post(live, {"kpi": "latency", "value": 1}, token)[0] == 401
    with Session(live.engine) as session:
        stored = [row.token_hash for row in session.exec(select(tokens.ApiToken))]
    assert token not in stored  # only the hash is kept


def test_a_breach_opens_one_incident_and_a_recovery_is_noted_in_its_thread(live, slack):
    post(live, {"kpi": "exception-rate", "value": 4}, live.token)
    post(live, {"kpi": "exception-rate", "value": 12.5}, live.token)
    post(live, {"kpi": "exception-rate", "value": 14}, live.token)  # still outside: no second incident
    [incident] = incidents(live)
    assert (incident.severity, incident.kind, incident.kpi, incident.declared_by) == (
        "sev3", "performance", "exception-rate", "steward")
    assert incident.title == "Exception rate 12.5% breaches its threshold ≤ 8%"
    with Session(live.engine) as session:
        [deviation] = session.exec(select(Deviation))
    assert deviation.incident_id == incident.id and "via api" in deviation.text
    post(live, {"kpi": "exception-rate", "value": 6}, live.token)
    live.drain()
    root = next(m for m in slack.posts("C0OPS") if "thread_ts" not in m and "INC1" in m["text"])
    thread = [message_text(m) for m in slack.thread("C0OPS", root["ts"])]
    assert f"<@{MLOPS}> (MLOps engineer), please acknowledge INC1" in thread[0]
    assert "Exception rate is back within its threshold: 6% (≤ 8%)" in thread[-1]

    type_(live, "incident resolve INC1 upstream fixed", user=MLOPS)
    post(live, {"kpi": "exception-rate", "value": 20}, live.token)
    assert [i.number for i in incidents(live)] == [1, 2]


def test_a_breach_typed_in_slack_opens_an_incident_too(live):
    shown = type_(live, "kpi record churn data-quality 80", user=DATA)
    assert "*outside* threshold" in shown
    [incident] = incidents(live)
    assert incident.kpi == "data-quality"


def test_no_threshold_in_force_means_no_breach(steward):
    type_(steward, "initiative create fresh Fresh", user="UADMIN0001")
    type_(steward, "kpi threshold fresh latency 1", user="UADMIN0001")  # proposed, not signed
    assert "no threshold in force yet" in type_(steward, "kpi record fresh latency 9", user="UADMIN0001")
    assert incidents(steward) == []


def test_silent_kpis_prompt_the_data_engineer_once_a_window(live, slack):
    for kpi, value in GOOD.items():
        post(live, {"kpi": kpi, "value": value, "at": NOW.isoformat()}, live.token)
    live.runtime.sweep(NOW + timedelta(days=6))
    assert not any("no measurement" in message_text(m) for m in slack.posts("C0OPS"))
    live.runtime.sweep(NOW + timedelta(days=7, minutes=1))
    live.runtime.sweep(NOW + timedelta(days=7, hours=5))
    silent = [message_text(m) for m in slack.posts("C0OPS") if "no measurement" in message_text(m)]
    assert len(silent) == 1
    assert f"<@{DATA}>, no measurement of task completion rate (`task-completion`)" in silent[0]
    assert "Silence is a signal too" in silent[0]
    live.runtime.sweep(NOW + timedelta(days=14, hours=1))
    assert len([m for m in slack.posts("C0OPS") if "no measurement" in message_text(m)]) == 2


def test_silence_is_not_watched_before_launch(steward, slack):
    type_(steward, "initiative create early Early pilot", user="UADMIN0001")
    steward.runtime.sweep(NOW + timedelta(days=30))
    assert not any("no measurement" in message_text(m) for m in slack.posts())


def test_checkpoint_prompt_shows_the_table_and_uploads_a_chart_in_its_thread(steward, slack):
    launch = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)
    type_(steward, "initiative create churn Churn stage=launch since=2026-04-01", user="UADMIN0001", at=launch)
    for alias, user in (("owner", OWNER), ("data", DATA), ("mlops", MLOPS)):
        type_(steward, f"role assign churn {alias} <@{user}>", user="UADMIN0001", at=launch)
    for kpi, value in THRESHOLDS.items():
        type_(steward, f"kpi threshold churn {kpi} {value}", user=OWNER, at=launch)
    type_(steward, "signoff churn baseline approve", at=launch)
    for day in range(0, 30, 3):
        for kpi, value in GOOD.items():
            bad = kpi == "adoption" and day > 20
            type_(steward, f"kpi record churn {kpi} {52 if bad else value}", user=DATA,
                  at=launch + timedelta(days=day, hours=1))
    steward.runtime.sweep(datetime(2026, 5, 1, 11, 0, tzinfo=UTC))  # 30 days after launch, 10:00 UTC
    prompt = next(m for m in slack.posts("C0OPS") if "KPI checkpoint" in message_text(m) and "thread_ts" not in m)
    text = message_text(prompt)
    assert ":white_check_mark: within task completion rate: 93% (≥ 90%)" in text
    assert ":x: *outside* user adoption rate: 52% (≥ 60%)" in text
    assert ":white_check_mark: within decision latency: 1.2 s (≤ 2 s)" in text
    [chart] = [m for m in slack.thread("C0OPS", prompt["ts"]) if m.get("files")]
    [stored] = [f for f in slack.state.files.values() if f["id"] in chart["files"]]
    assert stored["content"].startswith(b"\x89PNG") and len(stored["content"]) > 5000
    assert stored["thread_ts"] == prompt["ts"] and stored["title"] == "KPI trends of churn"
    assert [c.method for c in slack.calls if c.method.startswith("files.")] == [
        "files.getUploadURLExternal", "files.completeUploadExternal"]


def test_a_kpi_checkpoint_is_completed_with_the_five_kpis_on_record(steward):
    launch = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)
    type_(steward, "initiative create churn Churn stage=launch since=2026-04-01", user="UADMIN0001", at=launch)
    type_(steward, f"role assign churn owner <@{OWNER}>", user="UADMIN0001", at=launch)
    type_(steward, f"role assign churn data <@{DATA}>", user="UADMIN0001", at=launch)
    steward.runtime.sweep(datetime(2026, 5, 1, 11, 0, tzinfo=UTC))
    with Session(steward.engine) as session:
        from storage.models import Review

        checkpoint = session.exec(select(Review).where(Review.kind == "kpi-checkpoint")).one()
    at = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    refused = type_(steward, f"review done R{checkpoint.number}", at=at)
    assert "record the five KPIs first; missing since launch or stale: `task-completion`" in refused
    for kpi, value in GOOD.items():
        type_(steward, f"kpi record churn {kpi} {value}", user=DATA, at=at)
    assert "recorded as completed" in type_(steward, f"review done R{checkpoint.number}", at=at)


def test_deviations_are_logged_and_listed(live, slack):
    shown = type_(live, "deviation log churn Three invoices routed to the wrong queue &lt;again&gt;", user=PM)
    assert "Logged deviation D1" in shown
    assert "Say what departed" in type_(live, "deviation log churn", user=PM)
    assert "Only people holding a role" in type_(live, "deviation log churn nope", user=OTHER)
    live.drain()
    assert "Three invoices routed to the wrong queue <again>" in message_text(slack.posts("C0OPS")[-1])
    show = type_(live, "initiative show churn")
    assert "*Deviations* (latest)" in show and f"<@{PM}>: Three invoices routed" in show


def test_initiative_show_has_the_kpi_table(live):
    type_(live, "kpi record churn latency 3", user=DATA, at=NOW - timedelta(hours=2))
    shown = type_(live, "initiative show churn")
    assert ":x: *outside* decision latency: 3 s (≤ 2 s), measured 01 Jun 2026 10:00 UTC, 2 h ago" in shown
    assert ":white_circle: task completion rate: no measurement (≥ 90%)" in shown


def test_home_tab_shows_the_persons_initiatives_roles_prompts_and_incidents(live, slack):
    type_(live, "initiative create other Someone else's", user="UADMIN0001")
    type_(live, "incident declare churn sev2 Drift alarm", user=MLOPS)
    live.runtime.sweep(datetime(2026, 6, 2, 10, 30, tzinfo=UTC))  # the monthly review of 2 June
    with freeze_time(NOW + timedelta(days=1)):
        response = live.sender.event({"type": "app_home_opened", "user": PM, "channel": "D0HOME", "tab": "home"})
        retried = live.sender.event({"type": "app_home_opened", "user": PM, "channel": "D0HOME", "tab": "home"},
                                    retry_num=1)
    assert response.status == 200 and retried.status == 200
    assert slack.calls_to("views.publish") == []  # the request left at once; the outbox publishes it
    live.drain()
    [published, *_] = slack.calls_to("views.publish")
    assert published.args["user_id"] == PM
    text = "\n".join(b.get("text", {}).get("text", "") + " ".join(f["text"] for f in b.get("fields", []))
                     for b in published.args["view"]["blocks"])
    assert "*Churn predictor* (`churn`)" in text and "Your roles: product manager" in text
    assert "INC1 sev2 open: Drift alarm" in text
    assert "Monthly performance review, due Tue 02 Jun 2026 10:00 UTC" in text
    assert "Someone else" not in text


def test_a_value_the_chart_cannot_draw_is_a_chart_error_naming_the_reason(steward):
    from types import SimpleNamespace

    from bot.services import kpis
    from messages.charts import ChartError

    type_(steward, "initiative create fresh Fresh", user="UADMIN0001")
    assert "Recorded decision latency = 5 s" in type_(steward, "kpi record fresh latency 5", user="UADMIN0001")
    with Session(steward.engine) as session:  # a value from before latency was bounded
        measurement = session.exec(select(KpiMeasurement)).one()
        measurement.value = 1e308
        session.add(measurement)
        session.commit()
    with Session(steward.engine) as session:
        initiative = session.exec(select(Initiative).where(Initiative.key == "fresh")).one()
        row = SimpleNamespace(initiative_id=initiative.id, due_at=NOW + timedelta(hours=1))
        with pytest.raises(ChartError, match="cannot be drawn"):
            kpis.chart_for(session, row)


def test_token_flows_audit_the_prefix_never_the_token_and_refuse_an_unknown_key(live):
    from bot.errors import NotFound
    from bot.services import tokens as token_flows
    from storage.models import AuditEvent

    services = live.runtime.services
    with Session(live.engine) as session:
        team_id = session.exec(select(Initiative).where(Initiative.key == "churn")).one().team_id
    issued = token_flows.create(services, team_id=team_id, key="churn", by="cli", now=NOW)
    assert issued.token.startswith(issued.prefix) and post(live, {"kpi": "latency", "value": 1}, issued.token)[0] == 201
    assert token_flows.revoke(services, team_id=team_id, key="churn", by="cli", now=NOW) == 2
    assert post(live, {"kpi": "latency", "value": 1}, issued.token)[0] == 401
    with pytest.raises(NotFound, match="no initiative `nosuch`"):
        token_flows.create(services, team_id=team_id, key="nosuch", by="cli", now=NOW)
    with Session(live.engine) as session:
        events = [e for e in session.exec(select(AuditEvent).order_by(AuditEvent.seq))
                  if e.action.startswith("api_token.") or e.action == "kpi.ingested"]
    assert [(e.action, e.actor) for e in events] == [("api_token.created", "cli"),
                                                     ("kpi.ingested", f"api:{issued.prefix}"),
                                                     ("api_token.revoked", "cli")]
    assert issued.prefix in events[0].payload and issued.token not in events[0].payload
    assert json.loads(events[1].payload)["count"] == 1 and json.loads(events[2].payload)["count"] == 2


def test_one_initiative_that_cannot_be_prompted_does_not_stop_the_silence_prompts_of_the_others(live, slack,
                                                                                                  monkeypatch):
    from bot.services import kpis
    from messages import kpis as kpi_messages

    slack.add_channel("C0FRAUD", "fraud")
    with freeze_time(NOW - timedelta(days=1)):
        live.command("initiative create fraud Fraud scoring stage=operations since=2026-03-02", user="UADMIN0001",
                     channel="C0FRAUD")
    type_(live, f"role assign fraud data <@{DATA}>", user="UADMIN0001", at=NOW - timedelta(days=1))
    real = kpi_messages.silence_prompt

    def poisoned(silent, *, key, **kwargs):
        if key == "churn":
            raise RuntimeError("cannot word this one")
        return real(silent, key=key, **kwargs)

    monkeypatch.setattr(kpi_messages, "silence_prompt", poisoned)
    later = NOW + timedelta(days=8)
    result = kpis.prompt_silent_kpis(live.runtime.services, now=later)
    assert result.name == "kpi_silence" and result.done == 1
    assert [(f.row, f.error) for f in result.failures] == [("initiative churn", "RuntimeError: cannot word this one")]
    monkeypatch.setattr(kpi_messages, "silence_prompt", real)
    assert kpis.prompt_silent_kpis(live.runtime.services, now=later).done == 1  # churn stayed due
    live.drain(later)
    for channel in ("C0OPS", "C0FRAUD"):
        assert len([m for m in slack.posts(channel) if "no measurement" in message_text(m)]) == 1, channel


def test_a_checkpoint_with_no_measurements_posts_no_empty_chart(steward, slack):
    launch = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)
    type_(steward, "initiative create churn Churn stage=launch since=2026-04-01", user="UADMIN0001", at=launch)
    steward.runtime.sweep(datetime(2026, 5, 1, 11, 0, tzinfo=UTC))  # the 30-day checkpoint, nothing measured
    prompt = next(m for m in slack.posts("C0OPS") if "KPI checkpoint" in message_text(m))
    assert "no measurement" in message_text(prompt)
    assert slack.calls_to("files.getUploadURLExternal") == [] and slack.calls_to("files.completeUploadExternal") == []


def deviations(steward):
    from storage.models import Deviation

    with Session(steward.engine) as session:
        return [d.text for d in session.exec(select(Deviation).order_by(Deviation.id))]


def test_a_backfilled_breach_is_logged_but_opens_no_incident_and_pages_no_one(live, slack):
    weeks_ago = (datetime.now(UTC) - timedelta(days=41)).isoformat()
    status, _ = post(live, {"kpi": "adoption", "value": 30, "at": weeks_ago}, live.token)
    assert status == 201 and len(measurements(live)) == 1
    live.drain()
    assert incidents(live) == []
    assert not [m for m in slack.posts("C0OPS") if "breaches" in message_text(m)]
    [logged] = deviations(live)
    assert "adoption rate 30%" in logged.lower() and "backfilled history, so no incident was opened" in logged


def test_a_value_older_than_the_latest_is_history_too(live):
    now = datetime.now(UTC)
    assert post(live, {"kpi": "latency", "value": 1.0, "at": now.isoformat()}, live.token)[0] == 201
    assert post(live, {"kpi": "latency", "value": 9.0, "at": (now - timedelta(hours=2)).isoformat()},
                live.token)[0] == 201
    assert incidents(live) == []
    # A fresh breach still opens its incident at once.
    assert post(live, {"kpi": "latency", "value": 9.0}, live.token)[0] == 201
    assert [i.kpi for i in incidents(live)] == ["latency"]


def test_a_kpi_checkpoint_treats_a_value_older_than_the_freshness_window_as_missing(steward):
    launch = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)
    type_(steward, "initiative create churn Churn stage=launch since=2026-04-01", user="UADMIN0001", at=launch)
    type_(steward, f"role assign churn owner <@{OWNER}>", user="UADMIN0001", at=launch)
    type_(steward, f"role assign churn data <@{DATA}>", user="UADMIN0001", at=launch)
    for kpi, value in GOOD.items():  # measured on launch day: 30 days old at the checkpoint
        type_(steward, f"kpi record churn {kpi} {value}", user=DATA, at=launch + timedelta(hours=1))
    steward.runtime.sweep(datetime(2026, 5, 1, 11, 0, tzinfo=UTC))
    with Session(steward.engine) as session:
        from storage.models import Review

        checkpoint = session.exec(select(Review).where(Review.kind == "kpi-checkpoint")).one()
    at = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    refused = type_(steward, f"review done R{checkpoint.number}", at=at)
    assert "missing since launch or stale: `task-completion`, `exception-rate`" in refused
    with Session(steward.engine) as session:
        assert session.get(Review, checkpoint.id).status == "posted"
    for kpi, value in GOOD.items():
        type_(steward, f"kpi record churn {kpi} {value}", user=DATA, at=at)
    assert "recorded as completed" in type_(steward, f"review done R{checkpoint.number}", at=at)
