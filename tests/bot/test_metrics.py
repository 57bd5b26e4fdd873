"""GET /metrics: the series an operator scrapes, that they move with what Steward does, and a real Prometheus.

Counters are per process (the test process runs many Stewards), so tests compare a value before and after.
"""

from __future__ import annotations

import http.client
import json
import threading
import urllib.parse
from datetime import UTC, datetime, timedelta

from prometheus_client.parser import text_string_to_metric_families

from bot import metrics
from bot.server import make_wsgi_app
from tests.monitoring import prometheus_server


def scrape(steward) -> tuple[int, str, str]:
    connection = http.client.HTTPConnection("127.0.0.1", steward.server.effective_port, timeout=10)
    try:
        connection.request("GET", "/metrics")
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read().decode()
    finally:
        connection.close()


def samples(text: str) -> dict[tuple[str, tuple], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(text: str, name: str, **labels) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_lists_every_series_in_prometheus_text_format(steward):
    status, content_type, text = scrape(steward)
    assert status == 200
    assert content_type.startswith("text/plain; version=0.0.4")
    names = {family.name for family in text_string_to_metric_families(text)}
    for name in ("steward_outbox_depth", "steward_outbox_oldest_age_seconds", "steward_slack_posts_sent",
                 "steward_slack_posts_failed", "steward_slack_ratelimited", "steward_slack_ratelimited_wait_seconds",
                 "steward_sweep_step_duration_seconds", "steward_sweep_step_failures", "steward_reviews_due",
                 "steward_reviews_overdue", "steward_reviews_completed_on_time_ratio", "steward_incidents_open",
                 "steward_pages_sent", "steward_incident_time_to_acknowledge_seconds",
                 "steward_incident_time_to_resolve_seconds", "steward_command_duration_seconds", "steward_state_up"):
        assert name in names, name
    assert value(text, "steward_state_up") == 1
    # Every severity is there from the start, at 0: a graph or an alert needs no series to appear first.
    for severity in ("sev1", "sev2", "sev3", "sev4"):
        assert ("steward_incidents_open", (("acknowledged", "false"), ("severity", severity))) in samples(text)


def test_series_move_with_commands_incidents_and_the_outbox(steward, slack):
    _, _, before = scrape(steward)
    steward.command("initiative create churn Churn predictor stage=operations")
    steward.command("role assign churn pm <@UPM0000001>")
    steward.command("incident declare churn sev2 Scores are all zero")
    _, _, queued = scrape(steward)
    assert value(queued, "steward_command_duration_seconds_count", command="initiative create") == \
        value(before, "steward_command_duration_seconds_count", command="initiative create") + 1
    assert value(queued, "steward_incidents_open", severity="sev2", acknowledged="false") == 1
    assert value(queued, "steward_outbox_depth", kind="incident.root") >= 1

    steward.drain(datetime.now(UTC) + timedelta(seconds=5))
    _, _, sent = scrape(steward)
    assert value(sent, "steward_outbox_depth", kind="incident.root") == 0
    assert value(sent, "steward_slack_posts_sent_total", kind="incident.root") == \
        value(before, "steward_slack_posts_sent_total", kind="incident.root") + 1
    assert value(sent, "steward_pages_sent_total", severity="sev2") > value(before, "steward_pages_sent_total",
                                                                             severity="sev2")
    # No person's id in any label: cardinality stays bounded by the command table and the severities.
    assert "UPM0000001" not in sent and "UADMIN0001" not in sent


def test_an_unknown_command_is_counted_as_other_and_a_sweep_times_its_steps(steward):
    _, _, before = scrape(steward)
    steward.command("frobnicate <@UOTHER0001> churn")
    steward.runtime.sweep(datetime.now(UTC))
    _, _, after = scrape(steward)
    assert value(after, "steward_command_duration_seconds_count", command="other") == \
        value(before, "steward_command_duration_seconds_count", command="other") + 1
    assert "frobnicate" not in after and "UOTHER0001" not in after
    assert value(after, "steward_sweep_step_duration_seconds_count", step="outbox") == \
        value(before, "steward_sweep_step_duration_seconds_count", step="outbox") + 1
    assert value(after, "steward_sweep_step_last_success_timestamp_seconds", step="outbox") > 0


def test_a_429_counts_the_wait_slack_asked_for_and_a_refusal_its_error(steward, slack):
    _, _, before = scrape(steward)
    steward.command("initiative create triage Invoice triage", channel="C0OPS")
    slack.fail("chat.postMessage", status=429, retry_after=30)
    steward.drain(datetime.now(UTC))
    _, _, after = scrape(steward)
    assert value(after, "steward_slack_ratelimited_total", method="chat.postMessage") == \
        value(before, "steward_slack_ratelimited_total", method="chat.postMessage") + 1
    assert value(after, "steward_slack_ratelimited_wait_seconds_total", method="chat.postMessage") == \
        value(before, "steward_slack_ratelimited_wait_seconds_total", method="chat.postMessage") + 30
    assert value(after, "steward_slack_posts_failed_total", error="ratelimited") == \
        value(before, "steward_slack_posts_failed_total", error="ratelimited") + 1
    # The limited message is still owed: it counts in the outbox's depth.
    assert sum(v for (name, _), v in samples(after).items() if name == "steward_outbox_depth") >= 1


def test_socket_mode_serves_metrics_on_its_own_port(steward):
    """In Socket Mode the HTTP server takes no Slack requests, yet serves /healthz and /metrics."""

    class Link:
        def status(self):
            return True, "connected"

    application = make_wsgi_app(steward.runtime.app, steward.runtime.services, socket_link=Link())
    answered = []
    body = b"".join(application({"REQUEST_METHOD": "GET", "PATH_INFO": "/metrics", "wsgi.input": None},
                                lambda status, headers: answered.append(status)))
    assert answered == ["200 OK"]
    assert b"steward_outbox_depth" in body and b"steward_command_duration_seconds" in body
    b"".join(application({"REQUEST_METHOD": "POST", "PATH_INFO": "/slack/events", "CONTENT_LENGTH": "0",
                          "wsgi.input": None}, lambda status, headers: answered.append(status)))
    assert answered[-1].startswith("404")


def _query(prometheus: str, expression: str) -> list[dict]:
    url = urllib.parse.urlsplit(prometheus)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        connection.request("GET", "/api/v1/query?" + urllib.parse.urlencode({"query": expression}))
        answer = json.loads(connection.getresponse().read())
    finally:
        connection.close()
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


class Scrapes:
    """Counts Prometheus's scrapes of /metrics as Steward serves them, with a condition to wait on (no sleeping).

    A target's scrapes are sequential: once scrape N+1 has begun, scrape N is in Prometheus's storage."""

    def __init__(self, monkeypatch):
        self.count = 0
        self.changed = threading.Condition()
        real = metrics.exposition

        def exposition(engine=None):
            with self.changed:
                self.count += 1
                self.changed.notify_all()
            return real(engine)

        monkeypatch.setattr(metrics, "exposition", exposition)

    def settled(self, timeout: float = 30.0) -> None:
        """Wait until a scrape that began after now has been stored: two more scrapes have begun."""
        with self.changed:
            wanted = self.count + 2
            assert self.changed.wait_for(lambda: self.count >= wanted, timeout), f"{self.count} scrapes of {wanted}"


def test_a_real_prometheus_scrapes_metrics_and_sees_the_series_move(steward, tmp_path, monkeypatch):
    scrapes = Scrapes(monkeypatch)
    target = f"127.0.0.1:{steward.server.effective_port}"
    config = {"job_name": "steward", "metrics_path": "/metrics", "scrape_interval": "1s", "scrape_timeout": "1s",
              "static_configs": [{"targets": [target]}]}
    with prometheus_server(tmp_path, scrape_configs=[config]) as prometheus:
        scrapes.settled()
        up = _query(prometheus, 'up{job="steward"}')
        assert up and up[0]["value"][1] == "1", up
        opened = _query(prometheus, "steward_incidents_open")
        assert {series["metric"]["severity"] for series in opened} == {"sev1", "sev2", "sev3", "sev4"}

        steward.command("initiative create churn Churn predictor stage=operations")
        steward.command("incident declare churn sev1 Scores are all zero")
        scrapes.settled()
        moved = _query(prometheus, 'steward_incidents_open{severity="sev1",acknowledged="false"}')
        assert moved and moved[0]["value"][1] == "1", moved
        counted = _query(prometheus, 'steward_command_duration_seconds_count{command="incident declare"}')
        assert counted and float(counted[0]["value"][1]) >= 1, counted


def test_acknowledging_and_resolving_an_incident_are_timed_by_severity(steward):
    from freezegun import freeze_time

    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    _, _, before = scrape(steward)
    with freeze_time(t0):
        steward.command("initiative create churn Churn predictor stage=operations")
        steward.command("incident declare churn sev3 Slow answers")
    with freeze_time(t0 + timedelta(minutes=7)):
        steward.command("incident ack INC1")
    with freeze_time(t0 + timedelta(hours=3)):
        steward.command("incident resolve INC1 Restarted the scorer")
    _, _, after = scrape(steward)

    def moved(name: str, le: str) -> float:
        return (value(after, name, severity="sev3", le=le) - value(before, name, severity="sev3", le=le))

    acknowledge = "steward_incident_time_to_acknowledge_seconds_bucket"
    assert (moved(acknowledge, "300.0"), moved(acknowledge, "900.0")) == (0, 1)  # 7 minutes
    resolve = "steward_incident_time_to_resolve_seconds_bucket"
    assert (moved(resolve, "7200.0"), moved(resolve, "14400.0")) == (0, 1)  # 3 hours
    assert value(after, "steward_incidents_open", severity="sev3", acknowledged="true") == 0


def _readme_alert_rules() -> str:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = readme.split("<!-- steward-alert-rules -->", 1)[1].split("<!-- /steward-alert-rules -->", 1)[0]
    return block.strip().removeprefix("```yaml").removesuffix("```")


def test_the_readmes_alert_rules_load_and_fire_on_the_series_they_watch(tmp_path):
    """promtool checks the README's rules and runs them against series shaped like Steward's."""
    import shutil
    import subprocess

    promtool = shutil.which("promtool") or "/usr/bin/promtool"
    rules = tmp_path / "steward-rules.yml"
    rules.write_text(_readme_alert_rules())
    checked = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 3 rules found" in checked.stdout
    cases = {"rule_files": [str(rules)], "evaluation_interval": "1m", "tests": [{
        "interval": "1m",
        "input_series": [
            {"series": 'steward_outbox_oldest_age_seconds{kind="review.prompt"}', "values": "0 700+60x20"},
            {"series": 'steward_outbox_oldest_age_seconds{kind="incident.page"}', "values": "0x20"},
            {"series": 'steward_sweep_step_failures_total{step="cadence"}', "values": "0+1x40"},
            {"series": 'steward_sweep_step_failures_total{step="outbox"}', "values": "0x40"},
            {"series": 'steward_incident_oldest_unacknowledged_seconds{severity="sev1"}', "values": "0 2000+60x10"},
            {"series": 'steward_incident_oldest_unacknowledged_seconds{severity="sev4"}', "values": "0 9000+60x10"},
        ],
        "alert_rule_test": [
            {"eval_time": "3m", "alertname": "StewardOutboxStalled", "exp_alerts": []},
            {"eval_time": "10m", "alertname": "StewardOutboxStalled",
             "exp_alerts": [{"exp_labels": {"kind": "review.prompt", "urgency": "page"}, "exp_annotations": {
                 "summary": "Steward owes Slack review.prompt messages due more than 10 minutes ago",
                 "description": "Check /healthz and steward_slack_posts_failed_total by error (token, channel, "
                                "429s)."}}]},
            {"eval_time": "30m", "alertname": "StewardSweepFailing",
             "exp_alerts": [{"exp_labels": {"step": "cadence", "urgency": "ticket"}, "exp_annotations": {
                 "summary": "Sweep step cadence keeps failing",
                 "description": "The failing rows are listed in /healthz (sweep_failures) and in the log."}}]},
            {"eval_time": "5m", "alertname": "StewardPagesUnacknowledged",
             "exp_alerts": [{"exp_labels": {"severity": "sev1", "urgency": "page"}, "exp_annotations": {
                 "summary": "A sev1 incident has gone 30 minutes without acknowledgement",
                 "description": "The escalation ladder is paging; check who holds the roles and whether pages "
                                "reach them."}}]},
        ],
    }]}
    tests = tmp_path / "steward-rules-test.yml"
    tests.write_text(json.dumps(cases))
    ran = subprocess.run([promtool, "test", "rules", str(tests)], capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stdout + ran.stderr
