"""Prometheus as a KPI source: a real Prometheus loaded with series answers the sweep's queries, errors included."""

import socket
import threading
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from sqlmodel import Session, select

from storage.models import AuditEvent, Incident, KpiMeasurement, KpiSource
from tests.harness import message_text, reply_text
from tests.monitoring import openmetrics_blocks, prometheus_server

OWNER, PM, DATA, OTHER = "UOWNER0001", "UPM0000001", "UDATA00001", "UOTHER0001"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
THRESHOLDS = {"task-completion": 90, "exception-rate": 8, "data-quality": 95, "adoption": 60, "latency": 2}


def _series() -> str:
    """OpenMetrics for the hours around NOW: one sample a minute, so every query at NOW + n hours finds one."""
    start = int((NOW - timedelta(minutes=30)).timestamp())
    body = {name: [] for name in ("churn_task_completion", "churn_requests", "churn_nan", "churn_adoption")}
    for minute in range(0, 4 * 60):
        at = start + minute * 60
        # 93% for the first 100 minutes (NOW and NOW+1h read 93), then 85%: NOW+2h breaches the threshold of 90.
        value = 93 if minute < 100 else 85
        body["churn_task_completion"].append(f'churn_task_completion{{model="churn"}} {value} {at}')
        body["churn_requests"].append(f'churn_requests{{pod="a"}} 1 {at}')
        body["churn_requests"].append(f'churn_requests{{pod="b"}} 2 {at}')
        body["churn_nan"].append(f"churn_nan NaN {at}")
        body["churn_adoption"].append(f"churn_adoption 140 {at}")
    text = []
    for name, samples in body.items():
        text.append(f"# TYPE {name} gauge")
        text.extend(samples)
    return "\n".join(text) + "\n# EOF\n"


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    """One real Prometheus for the module, its TSDB made from OpenMetrics by promtool."""
    home = tmp_path_factory.mktemp("prometheus")
    with prometheus_server(home, storage=openmetrics_blocks(home, _series())) as url:
        yield url


def type_(steward, text, user=PM, at=NOW):
    with freeze_time(at):
        return reply_text(steward.command(text, user=user, channel="C0OPS"))


@pytest.fixture
def live(steward, settings, prometheus):
    earlier = NOW - timedelta(days=1)
    type_(steward, "initiative create churn Churn predictor stage=operations since=2026-03-02", user="UADMIN0001",
          at=earlier)
    for alias, user in (("owner", OWNER), ("pm", PM), ("data", DATA)):
        type_(steward, f"role assign churn {alias} <@{user}>", user="UADMIN0001", at=earlier)
    for kpi, value in THRESHOLDS.items():
        type_(steward, f"kpi threshold churn {kpi} {value}", at=earlier)
    type_(steward, "signoff churn baseline approve", user=OWNER, at=earlier)
    steward.runtime.services.settings = settings.model_copy(update={"prometheus_url": prometheus})
    steward.drain(earlier)
    return steward


def measurements(steward):
    with Session(steward.engine) as session:
        return [(m.kpi, m.value, m.source, m.measured_at) for m in
                session.exec(select(KpiMeasurement).order_by(KpiMeasurement.id))]


def source(steward, kpi="task-completion"):
    with Session(steward.engine) as session:
        return session.exec(select(KpiSource).where(KpiSource.kpi == kpi)).first()


def test_a_promql_query_feeds_a_kpi_that_then_breaches_and_pages(live, slack):
    reply = type_(live, 'kpi source churn task-completion prometheus avg(churn_task_completion{model="churn"})')
    assert 'avg(churn_task_completion{model="churn"})' in reply and "every hour" in reply
    live.runtime.sweep(NOW)
    assert measurements(live) == [("task-completion", 93.0, "prometheus", NOW)]
    live.runtime.sweep(NOW + timedelta(minutes=30))  # not due yet: hourly
    live.runtime.sweep(NOW + timedelta(hours=1))
    assert [m[1] for m in measurements(live)] == [93.0, 93.0]
    live.runtime.sweep(NOW + timedelta(hours=2))
    assert [m[1] for m in measurements(live)] == [93.0, 93.0, 85.0]
    with Session(live.engine) as session:
        [incident] = session.exec(select(Incident)).all()
    assert incident.kpi == "task-completion" and incident.declared_by == "steward"
    posted = [message_text(m) for m in slack.posts("C0OPS")]
    assert any("INC1" in text and "85" in text for text in posted)  # the root in the channel
    assert any(f"<@{OWNER}>" in text or f"<@{PM}>" in text for text in posted[-3:])  # level 1 paged
    shown = type_(live, "initiative show churn", at=NOW + timedelta(hours=2))
    assert "Prometheus sources" in shown and "last read" in shown and "85" in shown


@pytest.mark.parametrize(("query", "fragment"), [
    ("rate(churn_requests[5m]", "Prometheus refused the query (bad_data)"),
    ("churn_does_not_exist", "no series"),
    ("churn_requests", "2 series: the query must return exactly one"),
    ("churn_nan", "the sample is NaN"),
    ("churn_adoption", "user adoption rate cannot be above 100 %"),
    ("churn_requests[5m]", "the query returned a matrix result"),
])
def test_an_error_is_recorded_once_per_change_shown_with_the_query_and_never_crashes(live, query, fragment):
    kpi = "adoption"
    type_(live, f"kpi source churn {kpi} prometheus {query}")
    for hours in (0, 1, 2):
        report = live.runtime.sweep(NOW + timedelta(hours=hours))
        assert not report.failures
    assert measurements(live) == []
    row = source(live, kpi)
    assert fragment in row.last_error and row.last_error_at == NOW
    with Session(live.engine) as session:
        failed = session.exec(select(AuditEvent).where(AuditEvent.action == "kpi_source.failed")).all()
    assert len(failed) == 1  # once per change of error, not at every evaluation
    shown = type_(live, "initiative show churn", at=NOW + timedelta(hours=2))
    assert "failing since" in shown and fragment.split(" (")[0][:20] in shown
    assert query.replace("<", "&lt;")[:20] in shown


def test_unreachable_and_slow_prometheus_are_errors_not_crashes(live, settings):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    live.runtime.services.settings = settings.model_copy(update={"prometheus_url": f"http://127.0.0.1:{port}"})
    type_(live, "kpi source churn latency prometheus avg(churn_latency)")
    assert not live.runtime.sweep(NOW).failures
    assert "unreachable at http://127.0.0.1:" in source(live, "latency").last_error

    # A server that accepts and never answers: the timeout ends the wait.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(5)
    stop = threading.Event()
    accepted = []

    def hold():
        silent.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(silent.accept()[0])
            except OSError:
                continue

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    try:
        live.runtime.services.settings = settings.model_copy(update={
            "prometheus_url": f"http://127.0.0.1:{silent.getsockname()[1]}", "prometheus_timeout_seconds": 0.5})
        assert not live.runtime.sweep(NOW + timedelta(hours=1)).failures
    finally:
        stop.set()
        holder.join(5)
        for connection in accepted:
            connection.close()
        silent.close()
    row = source(live, "latency")
    assert "did not answer within 0.5 s" in row.last_error and row.last_error_at == NOW + timedelta(hours=1)


def test_a_source_that_keeps_failing_goes_silent_like_any_other(live, slack):
    type_(live, "kpi source churn latency prometheus churn_does_not_exist")
    for day in range(0, 8):
        live.runtime.sweep(NOW + timedelta(days=day))
    assert any("decision latency" in message_text(m) and "Silence is a signal" in message_text(m)
               for m in slack.posts("C0OPS"))


def test_setting_a_source_is_for_role_holders_and_bad_forms_say_why(live):
    assert "Only people holding a role on `churn` (or Steward admins) can set KPI sources" in type_(
        live, "kpi source churn latency prometheus up", user=OTHER)
    assert source(live, "latency") is None
    assert "`accuracy` is not a KPI" in type_(live, "kpi source churn accuracy prometheus up")
    assert "The PromQL query is missing" in type_(live, "kpi source churn latency prometheus")
    assert "`prometheus <PromQL query>` or `none`" in type_(live, "kpi source churn latency graphite up")
    assert "no Prometheus source" in type_(live, "kpi source churn latency none")
    type_(live, "kpi source churn latency prometheus up")
    assert "no longer read from Prometheus" in type_(live, "kpi source churn latency none")
    assert source(live, "latency") is None
    long = "x" * 2001
    assert "at most 2000" in type_(live, f"kpi source churn latency prometheus {long}")


def test_sources_from_steward_config(live, settings, tmp_path):
    from bot.services.prometheus_sources import _configured

    config = tmp_path / "steward.yml"
    config.write_text("prometheus:\n  sources:\n    churn:\n      task-completion:\n"
                      "        query: avg(churn_task_completion)\n        every_minutes: 30\n")
    live.runtime.services.settings = live.runtime.services.settings.model_copy(update={"steward_config": config})
    _configured.cache_clear()
    live.runtime.sweep(NOW)
    live.runtime.sweep(NOW + timedelta(minutes=30))
    assert [m[1] for m in measurements(live)] == [93.0, 93.0]
    assert source(live).created_by == "config" and source(live).interval_minutes == 30
