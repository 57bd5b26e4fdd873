"""What Slack gets back from every listener: an answer even when a flow breaks, never a traceback or silence."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from sqlmodel import Session, select

from storage.models import AuditEvent
from tests.harness import ADMIN, message_text, reply_text
from tests.staffing import incident, root
from tests.tamper import tamper

OWNER, PM, MLOPS, OTHER = "UOWNER0001", "UPM0000001", "UMLOPS0001", "UOTHER0001"
T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
APOLOGY = re.compile(r"Something went wrong inside Steward and nothing was changed\. "
                     r"Tell your Steward admin the reference `([0-9a-f]{8})`\.")


@pytest.fixture
def declared(steward, slack):
    """An initiative in operations with an open sev2 incident whose root message is in Slack."""
    with freeze_time(T0 - timedelta(days=1)):
        steward.command("initiative create churn Churn predictor stage=operations since=2026-01-05", channel="C0OPS")
        for alias, user in (("owner", OWNER), ("pm", PM), ("mlops", MLOPS)):
            steward.command(f"role assign churn {alias} <@{user}>")
    with freeze_time(T0):
        steward.command("incident declare churn sev2 Drift alarm", user=PM, channel="C0OPS")
    steward.drain(T0)
    return steward


def resolve_values(text: str) -> dict:
    return {"resolution": {"text": {"type": "plain_text_input", "value": text}}}


def open_resolve_form(steward, slack) -> dict:
    steward.sender.click(action_id="incident_resolve", value="INC1", user=PM, channel="C0OPS", message=root(slack),
                         block_id="incident_actions")
    return slack.calls_to("views.open")[-1].args["view"]


def last_ephemeral(steward, slack) -> str:
    steward.drain()
    return message_text(slack.state.responses[-1])  # answered through the click's response_url


def test_a_command_whose_flow_breaks_gets_an_apology_with_a_reference(declared, caplog):
    tamper(declared.settings.database_url, "ALTER TABLE initiatives RENAME TO initiatives_gone")
    response = declared.command("initiative list", user=ADMIN)
    assert response.status == 200
    shown = reply_text(response)
    reference = APOLOGY.search(shown).group(1)
    assert "Traceback" not in shown
    assert any(reference in record.getMessage() for record in caplog.records)  # the admin can find it in the log


def test_a_button_whose_flow_breaks_gets_an_apology_privately(declared, slack):
    tamper(declared.settings.database_url, "ALTER TABLE incidents RENAME TO incidents_gone")
    response = declared.sender.click(action_id="incident_ack", value="INC1", user=MLOPS, channel="C0OPS",
                                     message=root(slack), block_id="incident_actions")
    assert response.status == 200
    assert APOLOGY.search(last_ephemeral(declared, slack))


def test_an_altered_button_value_is_refused_in_words(declared, slack):
    for action_id, value in (("incident_ack", "INC1; DROP TABLE"), ("incident_escalate", "INC1"),
                             ("review_done", "12"), ("signoff_open", "churn|nonsense")):
        response = declared.sender.click(action_id=action_id, value=value, user=MLOPS, channel="C0OPS",
                                         message=root(slack), block_id="incident_actions")
        assert response.status == 200
        assert "could not be read: it was altered or comes from an older version" in last_ephemeral(declared, slack)
    assert incident(declared).status == "open" and incident(declared).level_reached == 1
    assert slack.calls_to("views.open") == []


def test_an_exception_inside_a_form_submission_answers_under_the_field(declared, slack):
    with freeze_time(T0 + timedelta(minutes=5)):
        view = open_resolve_form(declared, slack)
        tamper(declared.settings.database_url, "ALTER TABLE incidents RENAME TO incidents_gone")
        response = declared.sender.submit_view(callback_id="incident_resolve", user=PM,
                                               private_metadata=view["private_metadata"],
                                               values=resolve_values("Retrained"))
    assert response.status == 200
    answer = response.json()
    assert answer["response_action"] == "errors"
    assert APOLOGY.search(answer["errors"]["resolution"])
    assert len(answer["errors"]["resolution"]) <= 150


def test_a_duplicate_form_submission_resolves_once(declared, slack):
    with freeze_time(T0 + timedelta(minutes=5)):
        view = open_resolve_form(declared, slack)
        first, second = (declared.sender.submit_view(callback_id="incident_resolve", user=PM,
                                                     private_metadata=view["private_metadata"],
                                                     values=resolve_values("Retrained on May data"))
                         for _ in range(2))
    assert first.status == 200 and first.body == b""
    # The same form with the same values again is a replay: acknowledged, and nothing is done twice.
    assert second.status == 200 and second.body == b""
    declared.drain(T0 + timedelta(minutes=5))
    resolved = [m for m in slack.thread("C0OPS", root(slack)["ts"]) if "Retrained on May data" in message_text(m)]
    assert len(resolved) == 1
    with Session(declared.engine) as session:
        events = [e.action for e in session.exec(select(AuditEvent)) if e.action == "incident.resolved"]
    assert len(events) == 1


def test_the_resolve_form_checks_length_as_the_command_does(declared, slack):
    with freeze_time(T0 + timedelta(minutes=5)):
        view = open_resolve_form(declared, slack)
        typed = reply_text(declared.command("incident resolve INC1 " + "x" * 2001, user=PM))
        submitted = declared.sender.submit_view(callback_id="incident_resolve", user=PM,
                                                private_metadata=view["private_metadata"],
                                                values=resolve_values("x" * 2001))
    said = "That resolution is 2001 characters long; at most 2000 are allowed."
    assert said in typed
    assert submitted.json() == {"response_action": "errors", "errors": {"resolution": said}}
    assert incident(declared).status == "open"


def test_altered_form_metadata_is_refused_under_the_field_and_changes_nothing(declared, slack):
    response = declared.sender.submit_view(callback_id="incident_resolve", user=PM, private_metadata="INC1|<!channel>",
                                           values=resolve_values("Retrained"))
    answer = response.json()
    assert answer["response_action"] == "errors"
    assert "resolve form could not be read" in answer["errors"]["resolution"]
    assert incident(declared).status == "open"


def test_a_refused_button_is_audited_once(declared, slack):
    declared.sender.click(action_id="incident_ack", value="INC1", user=OTHER, channel="C0OPS", message=root(slack),
                          block_id="incident_actions")
    assert "Only people holding a role on `churn`" in last_ephemeral(declared, slack)
    with Session(declared.engine) as session:
        refused = [e.action for e in session.exec(select(AuditEvent)) if e.action.endswith("_refused")]
    assert refused == ["incident.acknowledge_refused"]


def test_slack_is_answered_even_when_the_private_reply_cannot_be_queued(declared, slack, caplog):
    tamper(declared.settings.database_url, "ALTER TABLE outbox RENAME TO outbox_gone")
    clicked = declared.sender.click(action_id="incident_ack", value="INC1", user=MLOPS, channel="C0OPS",
                                    message=root(slack), block_id="incident_actions")
    assert clicked.status == 200
    assert any("listener failed outside its flow" in record.getMessage() for record in caplog.records)
