"""Incidents end to end: declared by command, escalated by sweeps, acknowledged and resolved by people."""

import threading
from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlmodel import Session, select

from bot.runtime import build_runtime
from storage.db import make_engine
from storage.models import AuditEvent, Deviation, Incident
from tests.harness import message_text, reply_text
from tests.staffing import (
    ALL_ROLES,
    DATA,
    IT,
    MLOPS,
    OTHER,
    OWNER,
    PM,
    SPONSOR,
    T0,
    at,
    incident,
    root,
    staff,
    thread_texts,
)


@pytest.fixture
def staffed(steward):
    return staff(steward, ALL_ROLES)


def declare(steward, text="incident declare churn sev1 Scores are all zero", user=PM, minutes=0):
    with freeze_time(at(minutes)):
        response = steward.command(text, user=user)
    steward.drain(at(minutes))
    return response


def test_sev1_climbs_the_matrix_in_its_thread_each_level_once(staffed, slack):
    response = declare(staffed)
    assert "Declared *INC1* (sev1, performance) on `churn`" in reply_text(response)
    first = root(slack)
    assert "INC1 · SEV1 · Scores are all zero" in message_text(first)
    assert [b["action_id"] for b in first["blocks"][-1]["elements"]] == [
        "incident_ack", "incident_resolve", "incident_escalate"]
    assert len(thread_texts(slack)) == 1 and f"<@{MLOPS}> (MLOps engineer), please acknowledge INC1" in \
        thread_texts(slack)[0]

    for minutes in (16, 16.5, 31, 61, 61, 90):
        staffed.runtime.sweep(at(minutes))
    texts = thread_texts(slack)
    assert len(texts) == 4
    assert f"*Level 2* (+15 min): <@{DATA}> (data engineer), <@{PM}> (product manager)" in texts[1]
    assert f"*Level 3* (+30 min): <@{OWNER}> (business owner)" in texts[2]
    assert f"*Level 4* (+60 min): <@{SPONSOR}> (executive sponsor)" in texts[3]
    assert all(m["thread_ts"] == first["ts"] for m in slack.thread("C0OPS", first["ts"]))
    updated = slack.message("C0OPS", first["ts"])
    assert updated["edited"] and "escalation level 4 of 4 paged" in message_text(updated)
    assert "incident_escalate" not in str(updated["blocks"])  # nothing left to escalate to


def test_acknowledging_mid_ladder_stops_the_climb_and_updates_the_root(staffed, slack):
    declare(staffed)
    staffed.runtime.sweep(at(16))
    message = root(slack)
    with freeze_time(at(20)):
        clicked = staffed.sender.click(action_id="incident_ack", value="INC1", user=DATA, channel="C0OPS",
                                       message=message, block_id="incident_actions")
        assert clicked.status == 200
    staffed.drain(at(20))
    for minutes in (31, 61, 90):
        staffed.runtime.sweep(at(minutes))
    texts = thread_texts(slack)
    assert len(texts) == 5  # levels 1 and 2, the acknowledgement, status requests due at +50 and +80
    assert f"Acknowledged by <@{DATA}> after 20 min. Escalation stopped." in texts[2]
    assert "acknowledged for 41 min" in texts[3] and f"<@{DATA}>, please post a status update" in texts[3]
    assert "acknowledged for 1 h 10 min" in texts[4]  # one human form for durations (issue 14)
    assert not any("Level 3" in t for t in texts)
    updated = slack.message("C0OPS", message["ts"])
    assert "*Acknowledged* by" in message_text(updated)
    assert [b["action_id"] for b in updated["blocks"][-1]["elements"]] == ["incident_resolve"]
    [ephemeral] = slack.state.responses  # the click's response_url
    assert "You acknowledged INC1 after 20 min" in message_text(ephemeral)


def test_status_requests_every_30_minutes_for_sev1_and_never_for_sev3(staffed, slack):
    declare(staffed)
    with freeze_time(at(5)):
        staffed.command("incident ack INC1", user=MLOPS)
    for minutes in range(6, 100, 5):
        staffed.runtime.sweep(at(minutes))
    requests = [t for t in thread_texts(slack) if "status update" in t]
    assert len(requests) == 3  # at +35, +65, +95

    declare(staffed, "incident declare churn sev3 Slow answers", minutes=100)
    with freeze_time(at(101)):
        staffed.command("incident ack INC2", user=MLOPS)
    for minutes in range(102, 1000, 60):
        staffed.runtime.sweep(at(minutes))
    inc2 = next(m for m in slack.posts("C0OPS") if "thread_ts" not in m and "INC2" in m["text"])
    assert not any("status update" in message_text(m) for m in slack.thread("C0OPS", inc2["ts"]))


def test_an_acknowledgement_cancels_pages_already_queued(staffed, slack):
    declare(staffed)
    slack.fail("chat.postMessage", status=500, times=1)
    staffed.runtime.sweep(at(16))  # level 2 is queued, but Slack failed to take it
    with freeze_time(at(17)):
        staffed.command("incident ack INC1", user=MLOPS)
    staffed.drain(at(18))
    texts = thread_texts(slack)
    assert not any("Level 2" in t for t in texts)
    assert any("Acknowledged by" in t for t in texts)


def test_resolving_a_sev1_logs_a_deviation_and_asks_the_owner_for_a_postmortem(staffed, slack):
    declare(staffed)
    with freeze_time(at(42)):
        response = staffed.command("incident resolve INC1 Rolled back the feature store &amp; reran", user=MLOPS)
    assert "You resolved INC1 after 42 min" in reply_text(response)
    staffed.drain(at(42))
    texts = thread_texts(slack)
    assert "Resolved by <@UMLOPS0001> after 42 min." in texts[-1]
    assert "Rolled back the feature store & reran" in texts[-1]
    assert f"<@{OWNER}>: a sev1 needs a postmortem sign-off: `/steward signoff churn postmortem:INC1" in texts[-1]
    updated = slack.message("C0OPS", root(slack)["ts"])
    assert "*Resolved* by" in message_text(updated) and not any(b["type"] == "actions" for b in updated["blocks"])
    with Session(staffed.engine) as session:
        [deviation] = session.exec(select(Deviation))
    assert deviation.incident_id == incident(staffed).id and "SEV1 INC1" in deviation.text
    for minutes in (61, 200):
        staffed.runtime.sweep(at(minutes))
    assert len(thread_texts(slack)) == len(texts)  # nothing after resolution

    declare(staffed, "incident declare churn sev3 Typo in a label", minutes=300)
    with freeze_time(at(301)):
        staffed.command("incident resolve INC2 fixed", user=MLOPS)
    with Session(staffed.engine) as session:
        assert len(list(session.exec(select(Deviation)))) == 1  # no postmortem for a sev3


def test_resolve_button_opens_a_modal_whose_submission_resolves(staffed, slack):
    declare(staffed, "incident declare churn sev2 Drift alarm")
    with freeze_time(at(10)):
        staffed.sender.click(action_id="incident_resolve", value="INC1", user=PM, channel="C0OPS",
                             message=root(slack), block_id="incident_actions")
        [opened] = slack.calls_to("views.open")
        view = opened.args["view"]
        assert view["callback_id"] == "incident_resolve" and opened.args["trigger_id"].startswith("trigger-")
        empty = staffed.sender.submit_view(callback_id="incident_resolve", user=PM,
                                           private_metadata=view["private_metadata"],
                                           values={"resolution": {"text": {"type": "plain_text_input", "value": " "}}})
        assert empty.json() == {"response_action": "errors",
                                "errors": {"resolution": "A resolution is needed: say what was wrong and what "
                                                         "fixed it."}}
        assert incident(staffed).status == "open"
        done = staffed.sender.submit_view(
            callback_id="incident_resolve", user=PM, private_metadata=view["private_metadata"],
            values={"resolution": {"text": {"type": "plain_text_input", "value": "Retrained on May data"}}})
        assert done.status == 200 and done.body == b""
    assert incident(staffed).resolution == "Retrained on May data"
    staffed.drain(at(10))
    assert "Retrained on May data" in thread_texts(slack)[-1]


def test_people_without_a_role_are_refused_and_nothing_changes(staffed, slack):
    declare(staffed)
    for text in ("incident ack INC1", "incident resolve INC1 not mine"):
        shown = reply_text(staffed.command(text, user=OTHER))
        assert "Only people holding a role on `churn` can" in shown
    with freeze_time(at(1)):
        staffed.sender.click(action_id="incident_escalate", value="INC1:1", user=OTHER, channel="C0OPS",
                             message=root(slack), block_id="incident_actions")
    staffed.drain(at(1))
    assert incident(staffed).status == "open" and incident(staffed).level_reached == 1
    with Session(staffed.engine) as session:
        refused = [e.action for e in session.exec(select(AuditEvent)) if e.action.endswith("_refused")]
    assert refused == ["incident.acknowledge_refused", "incident.resolve_refused", "incident.escalate_refused"]


def test_double_clicks_and_slack_retries_record_one_acknowledgement(staffed, slack):
    declare(staffed)
    with freeze_time(at(3)):
        for _ in range(3):
            staffed.sender.click(action_id="incident_ack", value="INC1", user=MLOPS, channel="C0OPS",
                                 message=root(slack), block_id="incident_actions")
    staffed.drain(at(3))
    with Session(staffed.engine) as session:
        acks = [e for e in session.exec(select(AuditEvent)) if e.action == "incident.acknowledged"]
    assert len(acks) == 1
    assert sum("Acknowledged by" in t for t in thread_texts(slack)) == 1
    assert "already acknowledged by" in message_text(slack.state.responses[-1])


def test_escalate_now_pages_the_next_level_once_and_a_stale_click_does_nothing(staffed, slack):
    declare(staffed)
    stale_message = root(slack)
    with freeze_time(at(4)):
        staffed.sender.click(action_id="incident_escalate", value="INC1:1", user=MLOPS, channel="C0OPS",
                             message=stale_message, block_id="incident_actions")
        staffed.sender.click(action_id="incident_escalate", value="INC1:1", user=PM, channel="C0OPS",
                             message=stale_message, block_id="incident_actions")
    staffed.drain(at(4))
    texts = thread_texts(slack)
    assert len(texts) == 2 and "*Level 2*" in texts[1] and "Escalated by hand by <@UMLOPS0001>" in texts[1]
    assert "already at level 2; nothing more was paged" in message_text(slack.state.responses[-1])
    staffed.runtime.sweep(at(16))  # level 2's own time: already paged, not again
    assert len(thread_texts(slack)) == 2
    staffed.runtime.sweep(at(31))
    assert "*Level 3*" in thread_texts(slack)[-1]


def test_a_vacant_level_is_named_and_the_next_is_paged_at_once(staffed, slack):
    with freeze_time(T0 - timedelta(minutes=1)):
        staffed.command("role unassign churn data")
        staffed.command("role unassign churn pm")
    declare(staffed, user=MLOPS)
    staffed.runtime.sweep(at(15))
    texts = thread_texts(slack)
    assert "*Level 2* has nobody to page: data engineer, product manager are vacant. Moving to the next level" \
        in texts[1]
    assert f"*Level 3* (+30 min): <@{OWNER}>" in texts[2]


def test_infrastructure_incidents_page_the_it_owner_first(staffed, slack):
    declare(staffed, "incident declare churn sev2 GPU node down kind=infrastructure")
    assert f"<@{IT}> (IT owner), please acknowledge INC1" in thread_texts(slack)[0]
    staffed.runtime.sweep(at(30))
    assert f"<@{MLOPS}> (MLOps engineer), <@{PM}> (product manager)" in thread_texts(slack)[1]


def test_the_matrix_is_frozen_at_declaration(staffed, slack, tmp_path):
    declare(staffed, "incident declare churn sev2 Drift")
    config = tmp_path / "steward.yaml"
    config.write_text("escalation:\n  sev2:\n    - {after_minutes: 0, roles: [mlops]}\n"
                      "    - {after_minutes: 5, roles: [owner]}\n")
    later = build_runtime(staffed.settings.model_copy(update={"steward_config": config}),
                          engine=make_engine(staffed.settings.database_url), migrate=False, with_app=False)
    later.sweep(at(6))
    assert len(thread_texts(slack)) == 1  # still the ladder it was declared with: +30 for level 2
    later.sweep(at(30))
    assert f"<@{PM}> (product manager)" in thread_texts(slack)[1]
    later.stop()


def test_two_sweeps_at_once_page_each_level_once(staffed, slack):
    declare(staffed)
    other = build_runtime(staffed.settings, engine=make_engine(staffed.settings.database_url), migrate=False,
                          with_app=False)
    barrier = threading.Barrier(2)

    def run(runtime):
        for minutes in (15, 16, 30, 31, 60, 61):
            barrier.wait()
            runtime.sweep(at(minutes))

    threads = [threading.Thread(target=run, args=(r,)) for r in (staffed.runtime, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    other.stop()
    texts = thread_texts(slack)
    assert [t.split("*")[1] for t in texts] == ["Level 1", "Level 2", "Level 3", "Level 4"]


def test_initiative_show_has_times_to_acknowledge_and_resolve(staffed):
    declare(staffed, "incident declare churn sev3 A")
    with freeze_time(at(4)):
        staffed.command("incident ack INC1", user=MLOPS)
    with freeze_time(at(64)):
        staffed.command("incident resolve INC1 done", user=MLOPS)
    declare(staffed, "incident declare churn sev3 B", minutes=100)
    with freeze_time(at(110)):
        staffed.command("incident ack INC2", user=MLOPS)
        shown = reply_text(staffed.command("initiative show churn"))
    assert "*Incidents*: 2 declared, 1 not resolved · median time to acknowledge 7 min · median time to resolve " \
           "1 h 4 min" in shown
    assert "• INC2 sev3 acknowledged: B" in shown


def test_bad_incident_commands_explain_and_change_nothing(staffed):
    cases = {
        "incident": "`incident` needs a verb.",
        "incident declare": "The initiative key is missing.",
        "incident declare nosuch sev1 Broken": "There is no initiative `nosuch`",
        "incident declare churn": "The severity is missing.",
        "incident declare churn sev9 Broken": "`sev9` is not a severity",
        "incident declare churn sev1": "The title is missing",
        "incident declare churn sev1 Broken kind=network": "`network` is not an incident kind",
        "incident declare churn sev1 " + "x" * 151: "at most 150 are allowed",
        "incident ack": "The incident id is missing.",
        "incident ack BUG7": "`BUG7` is not an incident id",
        "incident ack INC99": "There is no incident INC99",
        "incident resolve INC99 done": "There is no incident INC99",
        "incident resolve INC1": "A resolution is needed",
    }
    for text, expected in cases.items():
        shown = reply_text(staffed.command(text, user=MLOPS))
        assert expected in shown, (text, shown)
    with Session(staffed.engine) as session:
        assert list(session.exec(select(Incident))) == []


def test_another_workspace_cannot_see_or_touch_an_incident(staffed, slack):
    declare(staffed)
    for text in ("incident ack INC1", "incident resolve INC1 not yours", "review done R1", "audit churn",
                 "signoff churn postmortem:INC1 approve"):
        with freeze_time(at(2)):
            shown = reply_text(staffed.command(text, user=MLOPS, team_id="T0OTHER"))
        assert "There is no" in shown, (text, shown)
    assert incident(staffed).status == "open"


def test_an_incident_whose_row_cannot_be_read_does_not_stop_the_others_climbing(staffed, slack):
    from sqlalchemy import text

    from bot.services import incidents as incident_flows

    declare(staffed)
    declare(staffed, "incident declare churn sev1 Drift everywhere")
    with staffed.engine.begin() as connection:
        connection.execute(text("UPDATE incidents SET levels = 'not a ladder' WHERE number = 1"))
    result = incident_flows.escalate_due(staffed.runtime.services, now=at(16))
    assert result.name == "escalations" and result.done == 1
    [failure] = result.failures
    assert failure.row.endswith("(INC1)") and "JSONDecodeError" in failure.error
    staffed.drain(at(16))
    inc2 = next(m for m in slack.posts("C0OPS") if "thread_ts" not in m and "INC2" in m["text"])
    assert any("*Level 2*" in message_text(m) for m in slack.thread("C0OPS", inc2["ts"]))
    assert not any("*Level 2*" in t for t in thread_texts(slack))  # INC1 stays due, unmoved
    with Session(staffed.engine) as session:
        stuck = session.exec(select(Incident).where(Incident.number == 1)).one()
    assert stuck.level_reached == 1 and stuck.next_escalation_at == at(15)
