"""Slack's request rules: signatures, stale timestamps, and what /healthz says."""

import time

from sqlmodel import Session, select

from storage.models import Initiative
from tests.harness import status_for_declared_length


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


# -- requests that are not Slack's: 401/413 in one log line, nothing parsed, nothing changed -------------------

def raw_post(steward, body: bytes, headers: dict[str, str], path: str = "/slack/events") -> tuple[int, bytes]:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", steward.server.effective_port, timeout=10)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_junk_that_is_not_slacks_gets_401_with_one_log_line_and_no_traceback(steward, caplog):
    import logging

    now = str(int(time.time()))
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    cases = [
        (b"payload=%7Bnot-json", form),  # unsigned, and the payload does not parse
        (b"payload=%7Bnot-json", {**form, "X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=ab"}),
        (b"command=/steward&text=help", {**form, "X-Slack-Request-Timestamp": "1e9", "X-Slack-Signature": "v0=ab"}),
        (b"command=/steward&text=help", {**form, "X-Slack-Request-Timestamp": now, "X-Slack-Signature": "v0=ab"}),
        (b"\xff\xfe{{{", {"Content-Type": "application/json", "X-Slack-Request-Timestamp": now,
                          "X-Slack-Signature": "v0=" + "0" * 64}),
    ]
    with caplog.at_level(logging.DEBUG):
        for body, headers in cases:
            status, _ = raw_post(steward, body, headers)
            assert status == 401, (body, headers)
    refusals = [r for r in caplog.records if "refused a request" in r.getMessage()]
    assert len(refusals) == len(cases)
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert count(steward) == 0


def test_a_signed_request_whose_body_does_not_parse_is_400_without_traceback(steward, caplog):
    import logging

    from bot.localslack.requests import signed_headers
    from tests.harness import SIGNING_SECRET

    body = "payload=%7Bnot-json"
    headers = signed_headers(SIGNING_SECRET, body, content_type="application/x-www-form-urlencoded")
    with caplog.at_level(logging.DEBUG):
        status, _ = raw_post(steward, body.encode(), headers)
    assert status in (400, 401)
    assert not [r for r in caplog.records if r.exc_info]


def test_bodies_larger_than_slack_ever_sends_are_refused_before_they_are_read(steward):
    # Only the headers go out: the server answers 413 without waiting for (or buffering) the body.
    for length in (100_000_000, 1_000_001):
        answer = status_for_declared_length(steward.server.effective_port, "/slack/events", length,
                                            {"Content-Type": "application/json"})
        assert answer.startswith(b"HTTP/1.1 413"), length
    # Just under 1 MB, sent in full, it is judged by its signature instead.
    status, _ = raw_post(steward, b"x" * 999_000, {"Content-Type": "application/json"})
    assert status == 401


def test_200_idle_connections_do_not_keep_healthz_from_answering(steward):
    import socket

    idle = []
    try:
        for _ in range(200):
            idle.append(socket.create_connection(("127.0.0.1", steward.server.effective_port), timeout=5))
        for connection in idle[:100]:  # half of them even started a request and went quiet
            connection.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        assert steward.get("/healthz")[0] == 200
        assert time.monotonic() - started < 2
    finally:
        for connection in idle:
            connection.close()


def test_slack_requests_still_pass_the_gate(steward):
    response = steward.command("help", channel="C0OPS")
    assert response.status == 200 and "/steward" in response.text + response.body.decode()
