"""Reviews that record answers (issue 17 point 6): Mark done opens a form with the kind's questions; the answers
are stored with the review, posted in its thread, shown by `review show`, and exported with the audit chain."""

import io
import json
from datetime import UTC, datetime

import pytest
from freezegun import freeze_time
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session, select

from bot.audit_check import export_rows
from bot.localslack.requests import trigger_id
from storage import audit
from storage.models import AuditEvent, Review, ReviewAnswers
from tests.harness import Steward, make_settings, message_text, reply_text

OWNER, PM, DATA, MLOPS, SPONSOR = "UOWNER0001", "UPM0000001", "UDATA00001", "UMLOPS0001", "USPONSOR01"


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def staff(steward, key):
    for alias, user in (("owner", OWNER), ("pm", PM), ("data", DATA), ("mlops", MLOPS), ("sponsor", SPONSOR)):
        steward.command(f"role assign {key} {alias} <@{user}>")


def start_operations(steward):
    with freeze_time("2026-01-05 08:00:00"):
        steward.command("initiative create churn Churn predictor stage=operations since=2026-01-05", channel="C0OPS")
        staff(steward, "churn")
        steward.command("value churn Cut churn-handling time by 30% within 6 months", user=OWNER, channel="C0OPS")
    steward.drain(utc(2026, 1, 5, 8))
    steward.runtime.sweep(utc(2026, 2, 5, 11))  # R1: the first monthly performance review
    return steward


@pytest.fixture
def operations(steward):
    return start_operations(steward)


def prompt_of(slack, title="Monthly performance review"):
    return next(m for m in slack.posts("C0OPS") if "thread_ts" not in m and title in message_text(m)
                and any(b.get("block_id") == "review_actions" for b in m["blocks"]))


def click_done(steward, slack, user, number=1, title="Monthly performance review"):
    return steward.sender.click(action_id="review_done", value=f"R{number}", user=user, channel="C0OPS",
                                message=prompt_of(slack, title), block_id="review_actions")


def opened_form(slack):
    return slack.calls_to("views.open")[-1].args["view"]


def as_view(view):
    return json.loads(view) if isinstance(view, str) else view


def monthly_values(choice="yes", evidence="Handling time down 32% (dashboard link)", **texts):
    values = {"value-delivered": {"choice": {"type": "static_select",
                                             "selected_option": {"value": choice} if choice else None}},
              "value-delivered--evidence": {"text": {"type": "plain_text_input", "value": evidence}},
              "kpi-standing": {"text": {"type": "plain_text_input", "value": texts.get("kpi", "All five within")}},
              "incidents-deviations": {"text": {"type": "plain_text_input",
                                                "value": texts.get("incidents", "INC2 resolved; no deviations")}},
              "user-feedback": {"text": {"type": "plain_text_input", "value": texts.get("feedback",
                                                                                         "Wants bulk export")}},
              "notes": {"text": {"type": "plain_text_input", "value": texts.get("notes")}}}
    return values


def submit(steward, view, values, user=OWNER):
    return steward.sender.submit_view(callback_id="review_answers", values=values, user=user,
                                      private_metadata=view["private_metadata"])


def review(steward, number=1):
    with Session(steward.engine) as session:
        return session.exec(select(Review).where(Review.number == number)).one()


def answers_rows(steward):
    with Session(steward.engine) as session:
        return list(session.exec(select(ReviewAnswers)))


def test_mark_done_opens_the_monthly_form_and_the_answers_are_recorded_posted_shown_and_exported(operations, slack):
    steward = operations
    prompt = prompt_of(slack)
    with freeze_time("2026-02-05 15:00:00"):
        assert click_done(steward, slack, OWNER).status == 200
        view = as_view(opened_form(slack))
        assert view["callback_id"] == "review_answers" and view["type"] == "modal"
        labels = [b["label"]["text"] for b in view["blocks"] if b["type"] == "input"]
        assert labels[0] == "Are we getting the business value we committed to delivering?"
        assert labels[1:] == ["Evidence for that answer", "KPI standing against the Stage 1 baseline",
                              "Incidents and deviations since the last review", "User feedback for the backlog",
                              "Other notes"]
        assert "Cut churn-handling time by 30% within 6 months" in view["blocks"][0]["text"]["text"]
        choices = [o["value"] for o in view["blocks"][1]["element"]["options"]]
        assert choices == ["yes", "partly", "no"]
        assert review(steward).status == "posted"  # opening the form changes nothing

        response = submit(steward, view, monthly_values("partly", "Handling time down 18%, target 30%"))
        assert response.status == 200 and response.body in (b"", b"{}")  # the form closes
        steward.drain()

    done = review(steward)
    assert (done.status, done.completed_by) == ("completed", OWNER)
    [row] = answers_rows(steward)
    assert row.delivery == "partly"
    stored = json.loads(row.answers)
    assert stored[0] == {"question": "value-delivered", "label": "Are we getting the business value we committed "
                         "to delivering?", "text": "Handling time down 18%, target 30%", "choice": "partly"}
    assert "recorded as completed by you, with your answers" in message_text(slack.state.responses[-1])

    [summary] = [m for m in slack.thread("C0OPS", prompt["ts"]) if "answered by" in message_text(m)]
    text = message_text(summary)
    assert "*partly* — Handling time down 18%, target 30%" in text
    assert "Wants bulk export" in text and "INC2 resolved; no deviations" in text
    assert "Answers recorded" in message_text(slack.message("C0OPS", prompt["ts"]))  # the closed prompt

    shown = reply_text(steward.command("review show R1", user=PM))
    assert "Are we getting the business value we committed to delivering?" in shown
    assert "*partly* — Handling time down 18%, target 30%" in shown and "Wants bulk export" in shown

    out = io.StringIO()
    export_rows(steward.engine, out, format="jsonl")
    [completed] = [json.loads(line) for line in out.getvalue().splitlines()
                   if json.loads(line)["action"] == "review.completed"]
    assert completed["payload"]["answers"][0]["choice"] == "partly"
    assert completed["payload"]["answers"][3]["text"] == "Wants bulk export"
    with Session(steward.engine) as session:
        checked, problems = audit.verify_bindings(session=session, team_id="T0LOCAL")
        assert problems == [] and checked >= 2
        # An answer edited behind Steward's back is named by the audit check.
        session.exec(select(ReviewAnswers)).one().answers = "[]"
        session.commit()
        _, problems = audit.verify_bindings(session=session, team_id="T0LOCAL")
        assert any("answers" in str(problem) for problem in problems)


def test_a_form_with_a_missing_or_bad_answer_stays_open_with_the_reason_under_it_and_changes_nothing(operations,
                                                                                                    slack):
    steward = operations
    with freeze_time("2026-02-05 15:00:00"):
        click_done(steward, slack, OWNER)
        view = as_view(opened_form(slack))
        cases = [
            (monthly_values(choice=None), "value-delivered", "Choose one of: yes, partly, no."),
            (monthly_values(choice="maybe"), "value-delivered", "Choose one of: yes, partly, no."),
            (monthly_values(choice="no", evidence="  "), "value-delivered--evidence", "rests on (evidence)"),
            (monthly_values(feedback=""), "user-feedback", "This question needs an answer."),
            (monthly_values(kpi="k" * 3001), "kpi-standing", "At most 3000 characters"),
        ]
        for values, block, words in cases:
            answer = submit(steward, view, values).json()
            assert answer["response_action"] == "errors" and list(answer["errors"]) == [block], (block, answer)
            assert words in answer["errors"][block]
        # Altered metadata is refused in words under the notes.
        answer = submit(steward, {"private_metadata": "R1; DROP"}, monthly_values()).json()
        assert "could not be read" in answer["errors"]["notes"]
        # Someone who does not complete monthly reviews is refused at submission too.
        answer = submit(steward, view, monthly_values(), user=MLOPS).json()
        assert "Only the business owner" in answer["errors"]["notes"]
    assert review(steward).status == "posted" and answers_rows(steward) == []
    with Session(steward.engine) as session:
        assert "review.completed" not in [e.action for e in session.exec(select(AuditEvent))]


def test_mark_done_refuses_in_words_without_a_form_for_someone_who_cannot_complete_it(operations, slack):
    steward = operations
    with freeze_time("2026-02-05 15:00:00"):
        click_done(steward, slack, MLOPS)
        steward.drain()
    assert slack.calls_to("views.open") == []
    assert f"Only the business owner (<@{OWNER}>) can complete R1" in message_text(slack.state.responses[-1])


def test_a_form_slack_will_not_open_fails_fast_with_a_clear_message(operations, slack):
    steward = operations
    slack.trigger_ttl = -1  # the click's trigger_id has expired by the time the bot exchanges it
    with freeze_time("2026-02-05 15:00:00"):
        click_done(steward, slack, OWNER)
        steward.drain()
    assert len(slack.calls_to("views.open")) == 1
    assert slack.state.views == []
    said = message_text(slack.state.responses[-1])
    assert "Slack did not open the form (`expired_trigger_id`); nothing was changed" in said
    assert review(steward).status == "posted"


def test_quick_notes_by_command_still_complete_a_review(operations, slack):
    steward = operations
    with freeze_time("2026-02-05 15:00:00"):
        assert "recorded as completed" in reply_text(steward.command("review done R1 KPIs fine", user=OWNER))
    shown = reply_text(steward.command("review show R1"))
    assert "without its form" in shown and "KPIs fine" in shown
    assert answers_rows(steward) == []
    assert "There is no review R99" in reply_text(steward.command("review show R99"))
    assert "`X1` is not a review id" in reply_text(steward.command("review show X1"))
    assert "takes one review id" in reply_text(steward.command("review show R1 R2"))


def test_each_kind_asks_its_own_questions(operations, slack):
    steward = operations
    steward.runtime.sweep(utc(2026, 4, 6, 11))  # a monthly review and the first quarterly retraining assessment
    with freeze_time("2026-04-06 15:00:00"):
        steward.drain()
        quarterly = next(r for r in (review(steward, n) for n in range(1, 6))
                         if r.kind == "quarterly-retraining-assessment")
        click_done(steward, slack, OWNER, quarterly.number, "Quarterly retraining assessment")
        labels = [b["label"]["text"] for b in as_view(opened_form(slack))["blocks"] if b["type"] == "input"]
    assert labels == ["Drift or data changes observed this quarter", "The retraining decision and why", "Other notes"]


def test_questions_come_from_steward_config(database_url, slack, tmp_path):
    config = tmp_path / "steward.yaml"
    config.write_text("review_questions:\n  monthly-performance-review:\n"
                      "    - id: value-delivered\n      label: \"Is the value delivered?\"\n"
                      "      choices: [yes, partly, no]\n"  # YAML's booleans yes/no are read as the words
                      "    - {id: backlog, label: Top backlog item, required: false}\n")
    steward = Steward(slack=slack, settings=make_settings(database_url=database_url, slack=slack,
                                                          steward_config=str(config)))
    try:
        start_operations(steward)
        with freeze_time("2026-02-05 15:00:00"):
            click_done(steward, slack, OWNER)
            view = as_view(opened_form(slack))
            labels = [b["label"]["text"] for b in view["blocks"] if b["type"] == "input"]
            assert labels == ["Is the value delivered?", "Evidence for that answer", "Top backlog item", "Other notes"]
            values = {"value-delivered": {"choice": {"selected_option": {"value": "yes"}}},
                      "value-delivered--evidence": {"text": {"value": "Survey: 4.6/5"}},
                      "backlog": {"text": {"value": None}}}
            assert submit(steward, view, values).status == 200
        assert review(steward).status == "completed"
    finally:
        steward.stop()


def test_a_bad_question_in_steward_config_stops_the_start_with_one_line(tmp_path):
    from bot.errors import ConfigError
    from bot.org_config import load_review_questions

    config = tmp_path / "steward.yaml"
    for body, words in (("review_questions:\n  nosuch-review: []\n", "'nosuch-review' is not a review kind"),
                        ("review_questions:\n  launch-review:\n    - {id: Bad Id, label: x}\n", "must be 1 to 40"),
                        ("review_questions:\n  launch-review:\n    - {id: a, label: x}\n    - {id: a, label: y}\n",
                         "question ids repeat")):
        config.write_text(body)
        with pytest.raises(ConfigError) as refused:
            load_review_questions(config)
        assert words in str(refused.value)


# --- The local Slack treats views.open as Slack does ------------------------------------------------------

MODAL = {"type": "modal", "title": {"type": "plain_text", "text": "A form"}, "blocks": []}


def test_local_slack_exchanges_a_trigger_once_within_three_seconds_and_validates_the_view(slack):
    client = WebClient(token=slack.token, base_url=slack.api_url)

    def error(**args):
        with pytest.raises(SlackApiError) as refused:
            client.views_open(**args)
        return refused.value.response["error"], refused.value.response.data.get("response_metadata")

    assert error(trigger_id="12345.98765.abcd", view=MODAL)[0] == "invalid_trigger_id"
    fresh = trigger_id()
    assert client.views_open(trigger_id=fresh, view=MODAL)["ok"]
    assert error(trigger_id=fresh, view=MODAL)[0] == "exchanged_trigger_id"
    slack.trigger_ttl = -1
    assert error(trigger_id=trigger_id(), view=MODAL)[0] == "expired_trigger_id"
    slack.trigger_ttl = 3.0
    too_long = {**MODAL, "title": {"type": "plain_text", "text": "t" * 25}}
    code, metadata = error(trigger_id=trigger_id(), view=too_long)
    assert code == "invalid_arguments" and "/view/title/text" in metadata["messages"][0]
    no_submit = {**MODAL, "blocks": [{"type": "input", "block_id": "a", "label": {"type": "plain_text", "text": "A"},
                                      "element": {"type": "plain_text_input", "action_id": "text"}}]}
    assert "submit" in error(trigger_id=trigger_id(), view=no_submit)[1]["messages"][0]
    crowded = {**MODAL, "blocks": [{"type": "divider"}] * 101}
    assert "100" in error(trigger_id=trigger_id(), view=crowded)[1]["messages"][0]
    assert "private_metadata" in error(trigger_id=trigger_id(),
                                       view={**MODAL, "private_metadata": "m" * 3001})[1]["messages"][0]
    assert len(slack.state.views) == 1  # only the first, valid exchange opened a modal
