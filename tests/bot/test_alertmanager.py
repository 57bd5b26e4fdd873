"""Alert webhooks: a real Alertmanager fires, groups, repeats and resolves into Steward; Grafana; bad input."""

import http.client
import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from sqlmodel import Session, select

from bot.domain.alerts import MAX_ALERTS
from bot.services import alerts as alert_flows
from bot.services import tokens as token_flows
from storage import tokens
from storage.db import session_scope
from storage.models import (
    AuditEvent,
    Deviation,
    Incident,
    IncidentTimelineEntry,
    Initiative,
    KpiMeasurement,
    MonitorAlert,
)
from tests.harness import message_text, reply_text, status_for_declared_length
from tests.monitoring import alertmanager_server, post_json

OWNER, PM, DATA, MLOPS = "UOWNER0001", "UPM0000001", "UDATA00001", "UMLOPS0001"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
THRESHOLDS = {"task-completion": 90, "exception-rate": 8, "data-quality": 95, "adoption": 60, "latency": 2}
PATH = "/api/v1/alerts/alertmanager"


def type_(steward, text, user=OWNER, at=NOW):
    with freeze_time(at):
        return reply_text(steward.command(text, user=user, channel="C0OPS"))


@pytest.fixture
def live(steward):
    """Initiative `churn` in operations with signed thresholds, a workspace integration token, and `churn`'s token."""
    earlier = NOW - timedelta(days=1)
    type_(steward, "initiative create churn Churn predictor stage=operations since=2026-03-02", user="UADMIN0001",
          at=earlier)
    for alias, user in (("owner", OWNER), ("pm", PM), ("data", DATA), ("mlops", MLOPS)):
        type_(steward, f"role assign churn {alias} <@{user}>", user="UADMIN0001", at=earlier)
    for kpi, value in THRESHOLDS.items():
        type_(steward, f"kpi threshold churn {kpi} {value}", user=PM, at=earlier)
    type_(steward, "signoff churn baseline approve", at=earlier)
    type_(steward, "initiative create fraud Fraud scorer stage=operations since=2026-03-02", user="UADMIN0001",
          at=earlier)
    steward.integration = token_flows.create_integration(steward.runtime.services, team_id="T0LOCAL", by="test",
                                                         now=earlier).token
    with session_scope(steward.engine) as session:
        initiative = session.exec(select(Initiative).where(Initiative.key == "churn")).one()
        steward.churn_token, _ = tokens.create(session=session, initiative=initiative, created_by="test", at=earlier)
    steward.drain(earlier)
    return steward


def post(steward, body, token, raw: bytes | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", steward.server.effective_port, timeout=10)
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    connection.request("POST", PATH, body=raw if raw is not None else json.dumps(body), headers=headers)
    response = connection.getresponse()
    raw = response.read()
    connection.close()
    try:
        return response.status, json.loads(raw or b"{}")
    except ValueError:  # the HTTP server's own refusal of an oversized body is text
        return response.status, {"error": raw.decode()}


def alert(name="HighErrorRate", status="firing", fingerprint="f1", initiative="churn", **extra):
    labels = {"alertname": name, **({"steward_initiative": initiative} if initiative else {}),
              **extra.pop("labels", {})}
    return {"status": status, "labels": labels,
            "annotations": {"summary": f"{name} on the churn model", **extra.pop("annotations", {})},
            "startsAt": "2026-06-01T11:59:00Z", "endsAt": "0001-01-01T00:00:00Z", "fingerprint": fingerprint,
            "generatorURL": "http://prometheus.example/graph?g0.expr=up", **extra}


def payload(*alerts, version="4", **extra):
    return {"version": version, "groupKey": "{}:{alertname=\"x\"}", "truncatedAlerts": 0, "status": "firing",
            "receiver": "steward", "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
            "externalURL": "http://alertmanager.example", "alerts": list(alerts), **extra}


def incidents(steward):
    with Session(steward.engine) as session:
        return list(session.exec(select(Incident).order_by(Incident.id)))


def roots(slack):
    return [m for m in slack.posts("C0OPS") if "thread_ts" not in m and "INC" in m.get("text", "")]


def thread(slack, number):
    root = next(m for m in roots(slack) if f"INC{number} " in m["text"])
    return [message_text(m) for m in slack.thread("C0OPS", root["ts"])]


# -- a real Alertmanager --------------------------------------------------------------------------------------


class Recorder:
    """Every payload Steward's alert flow received, with a condition to wait on (no sleeping)."""

    def __init__(self, monkeypatch):
        self.payloads = []
        self.changed = threading.Condition()
        real = alert_flows.receive

        def receive(services, credential, payload, *, now):
            outcome = real(services, credential, payload, now=now)
            with self.changed:
                self.payloads.append(payload)
                self.changed.notify_all()
            return outcome

        monkeypatch.setattr(alert_flows, "receive", receive)

    def wait_for(self, predicate, timeout=20.0):
        with self.changed:
            assert self.changed.wait_for(lambda: predicate(self.payloads), timeout), \
                f"gave up after {timeout}s; received {[len(p.alerts) for p in self.payloads]}"


def am_alert(name, *, ends_at=None, **labels):
    item = {"labels": {"alertname": name, "steward_initiative": "churn", **labels},
            "annotations": {"summary": f"{name} on the churn model"},
            "generatorURL": "http://prometheus.example/graph?g0.expr=rate"}
    if ends_at is not None:
        item["endsAt"] = ends_at.isoformat().replace("+00:00", "Z")
    return item


def test_a_real_alertmanager_fires_groups_repeats_and_resolves_into_one_incident_each(live, slack, tmp_path,
                                                                                      monkeypatch):
    recorder = Recorder(monkeypatch)
    live.runtime.services.notify_outbox = lambda: live.drain()  # each webhook's messages reach the local Slack
    config = {
        "route": {"receiver": "steward", "group_by": ["steward_initiative"], "group_wait": "1s",
                  "group_interval": "1s", "repeat_interval": "2s"},
        "receivers": [{"name": "steward", "webhook_configs": [{
            "url": f"{live.url}{PATH}", "send_resolved": True, "max_alerts": MAX_ALERTS,
            "http_config": {"authorization": {"type": "Bearer", "credentials": live.integration}}}]}],
    }
    with alertmanager_server(tmp_path, config=config) as am:
        status, _ = post_json(f"{am}/api/v2/alerts", [
            am_alert("HighErrorRate", severity="critical"), am_alert("FeatureDrift", severity="warning"),
            {**am_alert("DataQualityLow", steward_kpi="data-quality"),
             "annotations": {"summary": "data quality", "value": "81.5"}}])
        assert status == 200
        # Firing and grouping: the three alerts arrive in one notification of the group.
        recorder.wait_for(lambda got: any(len(p.alerts) == 3 for p in got))
        assert slack.wait_for(lambda: len(roots(slack)) == 3)
        rows = incidents(live)
        breach = next(i for i in rows if i.kpi == "data-quality")  # the KPI rules reacted: a breach incident
        assert "81.5" in breach.title and breach.declared_by == "steward"
        assert sorted((i.title, i.severity, i.declared_by) for i in rows if i is not breach) == [
            ("FeatureDrift on the churn model", "sev3", "alertmanager"),
            ("HighErrorRate on the churn model", "sev1", "alertmanager")]
        with Session(live.engine) as session:
            measured = session.exec(select(KpiMeasurement)).all()
        assert [(m.kpi, m.value, m.source) for m in measured] == [("data-quality", 81.5, "alertmanager")]
        high = next(i for i in rows if i.title.startswith("HighErrorRate"))
        details = thread(slack, high.number)
        assert any("prometheus.example/graph" in text and "HighErrorRate" in text for text in details)
        posts_before = len(slack.posts("C0OPS"))

        # Repeat: Alertmanager sends the same group again; nothing new opens and nothing is said (within the hour).
        seen = len(recorder.payloads)
        recorder.wait_for(lambda got: len(got) >= seen + 2)
        assert len(incidents(live)) == 3
        assert len(slack.posts("C0OPS")) == posts_before

        # Resolution: the drift incident is acknowledged, the error-rate one is not.
        drift = next(i for i in rows if i.title.startswith("FeatureDrift"))
        live.command(f"incident ack INC{drift.number}", user=MLOPS, channel="C0OPS")
        past = datetime.now(UTC) - timedelta(seconds=1)
        post_json(f"{am}/api/v2/alerts", [am_alert("HighErrorRate", ends_at=past, severity="critical"),
                                          am_alert("FeatureDrift", ends_at=past, severity="warning")])
        recorder.wait_for(lambda got: any(a.status == "resolved" and a.name == "HighErrorRate"
                                          for p in got for a in p.alerts)
                          and any(a.status == "resolved" and a.name == "FeatureDrift"
                                  for p in got for a in p.alerts))
        assert slack.wait_for(lambda: any("Steward resolves it" in t for t in thread(slack, high.number)))
    by_title = {i.title.split(" ")[0]: i for i in incidents(live)}
    assert by_title["HighErrorRate"].status == "resolved" and by_title["HighErrorRate"].resolved_by == "alertmanager"
    assert by_title["FeatureDrift"].status == "acknowledged"  # acknowledged: a person resolves it
    assert any("stays open" in t for t in thread(slack, drift.number))
    high_root = next(m for m in roots(slack) if f"INC{high.number} " in m["text"])
    root_now = message_text(slack.message("C0OPS", high_root["ts"]))
    assert "*Declared by*\nAlertmanager" in root_now and "Resolved* by Alertmanager" in root_now
    assert "<http://prometheus.example/graph?g0.expr=rate|source>" in root_now  # the generator URL, in the root
    assert len(incidents(live)) == 3


# -- the receiver's rules, driven at chosen moments -----------------------------------------------------------


def test_the_same_fingerprint_never_opens_a_second_incident_and_notes_still_firing_once_an_hour(live, slack):
    for minutes in (0, 20, 40, 61, 90, 125):
        with freeze_time(NOW + timedelta(minutes=minutes)):
            status, body = post(live, payload(alert()), live.integration)
        assert status == 200, body
    live.drain(NOW + timedelta(minutes=130))
    assert len(incidents(live)) == 1
    notes = [t for t in thread(slack, 1) if "still firing" in t]
    assert len(notes) == 2  # at 61 and at 125 minutes, not at every repeat


def test_a_resolved_alert_resolves_the_unacknowledged_incident_steward_opened_and_a_new_firing_opens_another(
        live, slack):
    with freeze_time(NOW):
        post(live, payload(alert(labels={"severity": "page"})), live.integration)
    live.drain(NOW)  # the page reaches the MLOps engineer's direct messages
    with freeze_time(NOW + timedelta(minutes=5)):
        status, body = post(live, payload(alert(status="resolved")), live.integration)
    assert status == 200 and body["handled"][0]["action"] == "resolved"
    with freeze_time(NOW + timedelta(minutes=6)):  # Alertmanager repeats a resolved notification: nothing more
        status, body = post(live, payload(alert(status="resolved")), live.integration)
    assert status == 200 and body["handled"][0]["action"] == "nothing open"
    with freeze_time(NOW + timedelta(minutes=30)):
        post(live, payload(alert()), live.integration)
    first, second = incidents(live)
    assert (first.status, first.severity, first.resolved_by) == ("resolved", "sev2", "alertmanager")
    assert second.status == "open"
    with Session(live.engine) as session:  # the incident's timeline has the alert and the resolution
        entries = session.exec(select(IncidentTimelineEntry).where(IncidentTimelineEntry.incident_id == first.id)
                               .order_by(IncidentTimelineEntry.id)).all()
    said = [(e.kind, e.actor, e.text) for e in entries if e.kind in ("alert", "resolved")]
    assert said[0] == ("alert", "alertmanager", "Alertmanager alert HighErrorRate fired")
    assert ("alert", "alertmanager", "Alertmanager alert HighErrorRate resolved") in said
    assert said[-1][:2] == ("resolved", "alertmanager")
    live.drain(NOW + timedelta(minutes=31))
    assert any("Steward resolves it" in t for t in thread(slack, first.number))
    # As when a person resolves it: a sev2 still owes its postmortem, and the direct page says it is resolved.
    with Session(live.engine) as session:
        [deviation] = session.exec(select(Deviation).where(Deviation.incident_id == first.id)).all()
    assert "SEV2 INC1" in deviation.text
    direct_page = slack.posts("D" + MLOPS[1:])[0]  # the MLOps engineer, level 1 of a sev2
    assert "Resolved" in message_text(direct_page)  # updated in place


def test_resolution_only_notes_when_configured_not_to_resolve(live, slack, tmp_path, settings):
    from bot.services.alerts import _policy

    config = tmp_path / "steward.yml"
    config.write_text("alerts:\n  resolve_unacknowledged: false\n  severities: {p1: sev1}\n")
    live.runtime.services.settings = settings.model_copy(update={"steward_config": config})
    _policy.cache_clear()
    with freeze_time(NOW):
        post(live, payload(alert(labels={"severity": "P1"})), live.integration)
    with freeze_time(NOW + timedelta(minutes=5)):
        status, body = post(live, payload(alert(status="resolved")), live.integration)
    assert status == 200 and body["handled"][0]["action"] == "noted"
    [incident] = incidents(live)
    assert (incident.status, incident.severity) == ("open", "sev1")


def test_a_grafana_alert_with_values_records_the_kpi_and_breaches(live, slack):
    grafana = payload(alert("Latency", labels={"steward_kpi": "latency"}, values={"B": 3.5},
                            dashboardURL="http://grafana.example/d/abc", silenceURL="http://grafana.example/s"),
                      version="1", orgId=1, state="alerting", title="[FIRING:1] Latency")
    with freeze_time(NOW):
        status, body = post(live, grafana, live.integration)
    assert status == 200 and body["handled"][0]["recorded"] == {"kpi": "latency", "value": 3.5}
    [incident] = incidents(live)
    assert incident.kpi == "latency" and "3.5" in incident.title  # the KPI rules react: a breach incident
    with freeze_time(NOW):  # without steward_kpi, Grafana's dashboard link reaches the root message
        post(live, payload(alert("Drift", fingerprint="g2", dashboardURL="http://grafana.example/d/abc"),
                           version="1"), live.integration)
    live.drain(NOW)
    root = next(m for m in roots(slack) if "INC2 " in m["text"])
    assert "<http://grafana.example/d/abc|dashboard>" in message_text(root)


def test_every_alert_of_a_group_is_handled_on_its_own_and_truncation_is_noted(live, slack):
    body = payload(alert("A", fingerprint="a"), alert("NoInitiative", fingerprint="b", initiative=None),
                   alert("C", fingerprint="c", labels={"severity": "info"}), truncatedAlerts=7)
    with freeze_time(NOW):
        status, answer = post(live, body, live.integration)
    assert status == 422
    assert answer["problems"] == [{"alert": 1, "alertname": "NoInitiative",
                                   "error": "label steward_initiative is missing: it names the initiative the alert "
                                            "is about"}]
    assert "alert 1 (NoInitiative)" in answer["error"]
    assert [h["alertname"] for h in answer["handled"]] == ["A", "C"] and answer["truncated_alerts"] == 7
    assert [i.severity for i in incidents(live)] == ["sev3", "sev4"]
    live.drain(NOW)
    assert any("left 7 more alerts" in t for t in thread(slack, 1))


def test_more_alerts_than_the_bound_are_not_handled_and_the_answer_says_so(live):
    # Alerts beyond the bound are not even read: the last five (valid ones) are skipped, the 200 before them
    # (without an initiative: refused without touching the database) are each named.
    many = payload(*[alert(f"A{i}", fingerprint=f"f{i}", initiative=None) for i in range(MAX_ALERTS)],
                   *[alert(f"B{i}", fingerprint=f"g{i}") for i in range(5)])
    with freeze_time(NOW):
        status, answer = post(live, many, live.integration)
    assert status == 422 and answer["skipped"] == 5 and f"max_alerts: {MAX_ALERTS}" in answer["note"]
    assert len(answer["problems"]) == MAX_ALERTS and answer["handled"] == []
    assert incidents(live) == []


# -- bad input: a clear 4xx naming the problem, nothing recorded for the bad part -----------------------------


@pytest.mark.parametrize(("body", "status", "fragment"), [
    (b"{not json", 422, "not JSON"),
    (json.dumps(payload(alert(), version="3")).encode(), 422, 'unsupported payload version "3"'),
    (json.dumps([alert()]).encode(), 422, "must be a JSON object"),
    (json.dumps({"version": "4", "alerts": "x"}).encode(), 422, "alerts must be a list"),
    (json.dumps(payload(alert(status="pending"))).encode(), 422, 'status must be "firing" or "resolved"'),
    (json.dumps(payload(alert(labels={"steward_kpi": "accuracy"}, annotations={"value": "1"}))).encode(), 422,
     "unknown KPI \"accuracy\""),
    (json.dumps(payload(alert(labels={"steward_kpi": "adoption"}, annotations={"value": "140"}))).encode(), 422,
     "cannot be above 100"),
    (json.dumps(payload(alert(labels={"steward_kpi": "adoption"}))).encode(), 422, "needs a value"),
    (json.dumps(payload(alert(labels={"steward_kpi": "adoption"}, values={"A": 1, "B": 2}))).encode(), 422,
     "several values (A, B)"),
    (json.dumps(payload(alert(initiative="nosuch"))).encode(), 422, "unknown initiative 'nosuch'"),
    (json.dumps(payload(alert(labels={"alertname": 5}))).encode(), 422, "labels must be an object of strings"),
])
def test_bad_payloads_are_refused_naming_the_problem_and_record_nothing(live, body, status, fragment):
    with freeze_time(NOW):
        got, answer = post(live, None, live.integration, raw=body)
    assert got == status and fragment in answer["error"], answer
    assert incidents(live) == []
    with Session(live.engine) as session:
        assert session.exec(select(KpiMeasurement)).all() == []
        assert session.exec(select(MonitorAlert)).all() == []


def test_an_oversized_payload_is_refused_before_it_is_read_and_records_nothing(live):
    answer = status_for_declared_length(live.server.effective_port, PATH, 1_000_001,
                                        {"Content-Type": "application/json",
                                         "Authorization": f"Bearer {live.integration}"})
    assert answer.startswith(b"HTTP/1.1 413")
    assert incidents(live) == []


def test_tokens_are_checked_before_the_body_and_scoped(live, slack):
    assert post(live, payload(alert()), None)[0] == 401
    assert post(live, payload(alert()), "stwi_wrong")[0] == 401
    # An initiative's own token works for that initiative, not another.
    with freeze_time(NOW):
        status, answer = post(live, payload(alert(initiative="fraud")), live.churn_token)
    assert status == 422 and "not for initiative 'fraud'" in answer["error"]
    with freeze_time(NOW):
        assert post(live, payload(alert(fingerprint="x")), live.churn_token)[0] == 200
    # Another workspace's integration token cannot reach this workspace's initiatives.
    other = token_flows.create_integration(live.runtime.services, team_id="T0OTHER", by="test", now=NOW).token
    with freeze_time(NOW):
        status, answer = post(live, payload(alert(fingerprint="y")), other)
    assert status == 422 and "unknown initiative 'churn'" in answer["error"]
    assert len(incidents(live)) == 1
    # A revoked integration token stops working.
    token_flows.revoke_integration(live.runtime.services, team_id="T0LOCAL", by="test", now=NOW)
    assert post(live, payload(alert(fingerprint="z")), live.integration)[0] == 401
    with Session(live.engine) as session:
        actions = [e.action for e in session.exec(select(AuditEvent))]
    assert "integration_token.created" in actions and "integration_token.revoked" in actions
