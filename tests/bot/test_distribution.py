"""Issue 17 point 3: the readiness `data` dimension needs a data distribution comparison on record; Steward computes
one from two CSV samples sent to its API, posts a table and a chart, and keeps it as the dimension's evidence."""

import http.client
import json
from datetime import UTC, datetime

import numpy as np
import pytest
from freezegun import freeze_time
from sqlmodel import Session, select

from storage import tokens
from storage.db import session_scope
from storage.models import AuditEvent, DistributionComparison, Initiative, OutboxMessage, ReadinessAssessment
from tests.harness import ADMIN, Steward, make_settings, message_text, reply_text, status_for_declared_length

OWNER, PM = "UOWNER0001", "UPM0000001"
NOW = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
BOUNDARY = "steward-test-boundary"


def type_(steward, text, user=PM):
    with freeze_time(NOW):
        return reply_text(steward.command(text, user=user, channel="C0OPS"))


def ready_to_assess(steward, key="triage"):
    type_(steward, f"initiative create {key} Invoice triage", user=ADMIN)
    type_(steward, f"role assign {key} owner <@{OWNER}>", user=ADMIN)
    type_(steward, f"role assign {key} pm <@{PM}>", user=ADMIN)
    with session_scope(steward.engine) as session:
        initiative = session.exec(select(Initiative).where(Initiative.key == key)).one()
        token, _ = tokens.create(session=session, initiative=initiative, created_by="test", at=NOW)
    return token


@pytest.fixture
def token(steward):
    return ready_to_assess(steward)


def samples(shift=12.0, rows=500, seed=5):
    rng = np.random.default_rng(seed)
    def sample(offset):
        lines = ["amount,pages,vendor"]
        lines += [f"{a:.2f},{p},v{p % 3}" for a, p in zip(rng.normal(100 + offset, 10, rows),
                                                          rng.integers(1, 9, rows), strict=True)]
        return "\n".join(lines) + "\n"
    return sample(0.0), sample(shift)


def form(pilot: str, production: str) -> bytes:
    parts = []
    for name, text in (("pilot", pilot), ("production", production)):
        parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; filename="{name}.csv"\r\n'
                     f"Content-Type: text/csv\r\n\r\n{text}\r\n")
    return ("".join(parts) + f"--{BOUNDARY}--\r\n").encode()


def post(steward, body: bytes, *, token=None, key="triage", content_type=f"multipart/form-data; boundary={BOUNDARY}",
         method="POST"):
    connection = http.client.HTTPConnection("127.0.0.1", steward.server.effective_port, timeout=20)
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    with freeze_time(NOW):
        connection.request(method, f"/api/v1/initiatives/{key}/distribution", body=body, headers=headers)
        response = connection.getresponse()
        raw = response.read()
        try:
            data = json.loads(raw or b"{}")
        except ValueError:  # the HTTP server's own refusal (waitress' 413 beyond its body limit) is plain text
            data = {"text": raw.decode()}
    connection.close()
    return response.status, data


def stored(steward, model):
    with Session(steward.engine) as session:
        return list(session.exec(select(model)))


def checklist(steward):
    return type_(steward, "initiative advance triage", user=OWNER)


def test_data_cannot_be_marked_ready_without_a_comparison_and_nothing_is_recorded(steward, token):
    """Issue 17, seen: the data dimension was marked ready with no distribution comparison at all."""
    shown = type_(steward, "readiness triage data ready")
    assert "can be marked ready only with a data distribution comparison on record" in shown
    assert "`POST /api/v1/initiatives/triage/distribution`" in shown
    assert [r for r in stored(steward, ReadinessAssessment) if r.dimension == "data"] == []
    shown = checklist(steward)
    assert "Readiness: data reliability — not assessed — `/steward readiness triage data ready <evidence>` with the " \
           "distribution comparison as the evidence" in shown
    # other dimensions, and marking data not ready, are unchanged
    assert "Recorded *integration stability* as *ready*" in type_(steward, "readiness triage integration ready")
    assert "as *not ready*" in type_(steward, "readiness triage data not-ready")


def test_a_comparison_given_as_evidence_counts(steward, token):
    shown = type_(steward, "readiness triage data ready <https://wiki.example/dist-2026-03|comparison>")
    assert "Recorded *data reliability* as *ready*" in shown
    [row] = [r for r in stored(steward, ReadinessAssessment) if r.dimension == "data"]
    assert row.evidence == "https://wiki.example/dist-2026-03"
    assert ":white_check_mark: Readiness: data reliability — ready; distribution comparison given as evidence on " \
           "2026-03-02" in checklist(steward)


def test_the_api_computes_posts_a_table_and_a_chart_and_the_comparison_becomes_the_evidence(steward, slack, token):
    pilot, production = samples()
    status, answer = post(steward, form(pilot, production), token=token)
    assert status == 201, answer
    assert answer["shifted"] == ["amount"] and answer["threshold"] == 0.2
    assert answer["skipped"] == ["vendor"]
    columns = {c["column"]: c for c in answer["columns"]}
    assert columns["amount"]["psi"] > 0.5 and columns["amount"]["ks"] > 0.3 and columns["amount"]["shifted"]
    assert columns["pages"]["psi"] < 0.1 and not columns["pages"]["shifted"]
    steward.drain(NOW)
    [table] = [m for m in slack.posts("C0OPS") if "Data distribution comparison" in message_text(m)]
    text = message_text(table)
    assert ":warning: *Data distribution comparison" in text and "shifted (PSI above 0.2): amount" in text
    assert "amount" in text and "shifted" in text and "pilot 500 rows, production 500 rows" in text
    assert "not compared (not numeric in both, or too few values): vendor" in text
    [chart] = [m for m in slack.thread("C0OPS", table["ts"]) if m.get("files")]
    [png] = [f for f in slack.state.files.values() if f["id"] in chart["files"]]
    assert png["content"].startswith(b"\x89PNG") and png["title"] == "Data distribution of triage"
    # kept, audited and bound
    [row] = stored(steward, DistributionComparison)
    assert json.loads(row.shifted) == ["amount"] and row.created_by.startswith("token ")
    assert [e.action for e in stored(steward, AuditEvent) if e.action == "distribution.compared"]
    # the checklist shows it; marking data ready without typed evidence now cites it
    assert "distribution comparison of 2026-03-02: 2 columns, shifted: amount" in checklist(steward)
    assert "2026-03-02: 2 columns, shifted: amount" in type_(steward, "initiative show triage")
    assert "as *ready*" in type_(steward, "readiness triage data ready")
    [ready] = [r for r in stored(steward, ReadinessAssessment) if r.dimension == "data"]
    assert ready.evidence.startswith(f"distribution comparison {row.id} of ") and "shifted: amount" in ready.evidence


def test_json_samples_and_no_shift(steward, slack, token):
    pilot, production = samples(shift=0.0)
    status, answer = post(steward, json.dumps({"pilot": pilot, "production": production}).encode(), token=token,
                          content_type="application/json")
    assert status == 201 and answer["shifted"] == []
    assert "none shifted (PSI at most 0.2)" in answer["summary"]


def test_the_psi_threshold_is_configurable(database_url, slack, tmp_path):
    config = tmp_path / "steward.yaml"
    config.write_text("distribution:\n  psi_threshold: 0.01\n")
    bot = Steward(slack=slack, settings=make_settings(database_url=database_url, slack=slack, steward_config=config))
    try:
        token = ready_to_assess(bot)
        pilot, production = samples(shift=1.5)
        status, answer = post(bot, form(pilot, production), token=token)
        assert status == 201 and answer["threshold"] == 0.01 and "amount" in answer["shifted"]
    finally:
        bot.stop()


@pytest.mark.parametrize(("pilot", "production", "field", "problem"), [
    ("", "a\n1\n", "pilot", "the pilot sample is empty"),
    ("a,b\n1,2\n3\n", "a\n1\n", "pilot", "the pilot sample's line 3 has 1 fields; the header has 2"),
    ("a\n" + "1\n" * 20, "b\n" + "1\n" * 20, "columns", "the two samples share no numeric column"),
    ("a\n" + "1\n" * 20, "a\n1\n", "columns", "no numeric column shared by both samples has at least 10 values"),
    ("a\n1\n", "a,a\n1,1\n", "production", "the production sample names column 'a' twice"),
])
def test_a_bad_csv_gets_a_422_naming_the_problem_and_nothing_changes(steward, slack, token, pilot, production, field,
                                                                      problem):
    status, answer = post(steward, form(pilot, production), token=token)
    assert status == 422 and answer["field"] == field and answer["error"].startswith(problem), answer
    steward.drain(NOW)
    assert stored(steward, DistributionComparison) == []
    assert not [m for m in slack.posts("C0OPS") if "Data distribution" in message_text(m)]


def test_tokens_methods_sizes_and_forms_are_checked_before_anything_is_stored(steward, token):
    pilot, production = samples()
    body = form(pilot, production)
    assert post(steward, body)[0] == 401
    assert post(steward, body, token="stw_not-a-token")[0] == 401
    ready_to_assess(steward, key="fraud")
    assert post(steward, body, token=token, key="fraud") == (403, {"error": "this token is not for initiative "
                                                                            "'fraud'"})
    assert post(steward, b"", token=token, method="GET")[0] == 405
    answer = status_for_declared_length(steward.server.effective_port, "/api/v1/initiatives/triage/distribution",
                                        1_000_001, {"Authorization": f"Bearer {token}",
                                                    "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    assert answer.startswith(b"HTTP/1.1 413")
    status, answer = post(steward, b"a,b\n1,2\n", token=token, content_type="text/csv")
    assert status == 422 and answer["field"] == "content-type" and "multipart/form-data" in answer["error"]
    status, answer = post(steward, json.dumps({"pilot": "a\n1\n"}).encode(), token=token,
                          content_type="application/json")
    assert (status, answer["error"]) == (422, "the production sample is missing")
    assert stored(steward, DistributionComparison) == []
    with session_scope(steward.engine) as session:
        assert session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "distribution.chart")).all() == []
