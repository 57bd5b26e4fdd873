"""Issue 17 point 4: during handoff a structured retrospective is prompted every two weeks to the pilot lead and the
production team; the handoff exit needs at least two held."""

import json
from datetime import UTC, datetime, timedelta

from freezegun import freeze_time
from sqlmodel import Session, select

from storage.models import Review, ReviewAnswers
from tests.harness import ADMIN, message_text, reply_text

OWNER, PM, DATA, MLOPS, SPONSOR, PILOT, OTHER = ("UOWNER0001", "UPM0000001", "UDATA00001", "UMLOPS0001",
                                                 "USPONSOR01", "UPILOT0001", "UOTHER0001")
START = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)  # a Monday, after the 10:00 prompts
TITLE = "Handoff retrospective"


def type_(steward, text, user=OWNER, at=START):
    with freeze_time(at):
        return reply_text(steward.command(text, user=user, channel="C0OPS"))


def in_handoff(steward, stage="handoff"):
    type_(steward, f"initiative create triage Invoice triage stage={stage}", user=ADMIN)
    for alias, user in (("owner", OWNER), ("pm", PM), ("data", DATA), ("mlops", MLOPS), ("sponsor", SPONSOR),
                        ("pilot", PILOT)):
        type_(steward, f"role assign triage {alias} <@{user}>", user=ADMIN)


def retrospectives(steward):
    with Session(steward.engine) as session:
        return list(session.exec(select(Review).where(Review.kind == "handoff-retrospective")
                                 .order_by(Review.number)))


def prompts(slack):
    return [m for m in slack.posts("C0OPS") if "thread_ts" not in m and TITLE in message_text(m)]


def sweep_days(steward, days):
    for day in range(1, days + 1):
        steward.runtime.sweep(START + timedelta(days=day))


def test_a_retrospective_is_prompted_every_two_weeks_to_the_pilot_lead_and_the_production_team(steward, slack):
    in_handoff(steward)
    sweep_days(steward, 13)
    assert retrospectives(steward) == [] and prompts(slack) == []
    sweep_days(steward, 14)
    [prompt] = prompts(slack)
    text = message_text(prompt)
    assert "Document all tacit knowledge through structured retrospectives" in text
    for user in (PILOT, PM, DATA, MLOPS):
        assert f"<@{user}>" in text
    assert f"<@{OWNER}>" not in text and f"<@{SPONSOR}>" not in text
    steward.runtime.sweep(START + timedelta(days=28))
    assert len(prompts(slack)) == 2
    assert [r.due_at.date().isoformat() for r in retrospectives(steward)] == ["2026-03-16", "2026-03-30"]


def test_no_retrospective_outside_handoff(steward, slack):
    in_handoff(steward, stage="readiness")
    sweep_days(steward, 28)
    assert retrospectives(steward) == [] and prompts(slack) == []


def test_mark_done_asks_the_structured_questions_and_records_the_answers(steward, slack):
    in_handoff(steward)
    steward.runtime.sweep(START + timedelta(days=14))
    [prompt] = prompts(slack)
    [retro] = retrospectives(steward)
    at = START + timedelta(days=14, hours=5)
    with freeze_time(at):
        assert steward.sender.click(action_id="review_done", value=f"R{retro.number}", user=PILOT, channel="C0OPS",
                                    message=prompt, block_id="review_actions").status == 200
        view = slack.calls_to("views.open")[-1].args["view"]
        view = json.loads(view) if isinstance(view, str) else view
        labels = [b["label"]["text"] for b in view["blocks"] if b["type"] == "input"]
        assert labels[:4] == ["Judgment calls the pilot team made since the last retrospective, and why",
                              "Edge cases and failure modes met (add them to the inventories)",
                              "What the production team cannot yet handle without the pilot team",
                              "Actions before the next retrospective, with owners"]
        # a missing answer keeps the form open and records nothing
        def text(value):
            return {"text": {"type": "plain_text_input", "value": value}}

        values = {"judgment-calls": text("Vendors on hold are routed by hand"),
                  "edge-cases-failures": text("Credit notes with negative totals"),
                  "not-yet-alone": text(""),
                  "actions": text("PM adds the hold rule to the runbook")}
        refused = steward.sender.submit_view(callback_id="review_answers", values=values, user=PILOT,
                                             private_metadata=view["private_metadata"])
        assert b"not-yet-alone" in refused.body and retrospectives(steward)[0].status == "posted"
        values["not-yet-alone"] = text("Month-end reconciliation")
        done = steward.sender.submit_view(callback_id="review_answers", values=values, user=PILOT,
                                          private_metadata=view["private_metadata"])
        assert done.status == 200
    [held] = retrospectives(steward)
    assert (held.status, held.completed_by) == ("completed", PILOT)
    with Session(steward.engine) as session:
        [row] = session.exec(select(ReviewAnswers)).all()
    assert "Month-end reconciliation" in row.answers


def test_the_handoff_exit_needs_two_retrospectives_held(steward, slack):
    in_handoff(steward)
    shown = type_(steward, "initiative advance triage")
    assert ":x: At least 2 handoff retrospectives held — 0 held — complete the next retrospective (every two " \
           "weeks)" in shown
    steward.runtime.sweep(START + timedelta(days=14))
    [first] = retrospectives(steward)
    shown = type_(steward, "initiative advance triage", at=START + timedelta(days=14, hours=1))
    assert f":x: At least 2 handoff retrospectives held — 0 held — `/steward review done R{first.number}`" in shown
    # only the pilot lead and the production team complete it
    refused = type_(steward, f"review done R{first.number} notes", user=OTHER, at=START + timedelta(days=14, hours=1))
    assert "recorded as completed" not in refused and retrospectives(steward)[0].status == "posted"
    assert "recorded as completed" in type_(steward, f"review done R{first.number} judgment calls: see thread",
                                            user=PM, at=START + timedelta(days=14, hours=2))
    steward.runtime.sweep(START + timedelta(days=28))
    second = retrospectives(steward)[1]
    assert "recorded as completed" in type_(steward, f"review done R{second.number} month-end handled alone",
                                            user=PILOT, at=START + timedelta(days=28, hours=2))
    shown = type_(steward, "initiative advance triage", at=START + timedelta(days=28, hours=3))
    assert ":white_check_mark: At least 2 handoff retrospectives held — 2 held" in shown
