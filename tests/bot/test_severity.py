"""Severity changes (issue 15 point 5): `/steward incident severity INC3 <sev1..sev4> [reason]` re-plans the
ladder from now with the new severity's matrix, frozen again, says so in the thread and on the root; raising
pages the level now due at once, lowering pages no one."""

import json

import pytest
from freezegun import freeze_time
from sqlmodel import Session, select

from storage.models import AuditEvent
from tests.harness import message_text, reply_text
from tests.staffing import CORE_ROLES, DATA, MLOPS, OTHER, OWNER, PM, at, incident, root, staff, thread_texts


@pytest.fixture
def staffed(steward):
    return staff(steward, CORE_ROLES)


def run(steward, text, minutes, user=PM):
    with freeze_time(at(minutes)):
        response = steward.command(text, user=user)
    steward.drain(at(minutes))
    return reply_text(response)


def test_raising_pages_the_level_now_due_at_once_and_re_plans_the_rest(staffed, slack):
    run(staffed, "incident declare churn sev3 Scores drift", 0)
    reply = run(staffed, "incident severity INC1 sev1 customers are affected", 40)
    assert "INC1 changed from sev3 to sev1" in reply
    texts = thread_texts(slack)
    assert f"<@{PM}> changed INC1 from sev3 to sev1" in texts[1] and "level 2 is paged at once" in texts[1]
    assert "level 3 follows in 15 min" in texts[1] and "Reason: customers are affected" in texts[1]
    assert f"*Level 2* (+15 min): <@{DATA}> (data engineer), <@{PM}> (product manager)" in texts[2]
    assert "INC1 · SEV1 · Scores drift" in message_text(root(slack))  # the root says so too
    assert "D" + DATA[1:] in slack.state.messages  # a sev1 page reaches people directly
    frozen = incident(staffed)
    assert frozen.severity == "sev1" and [lv["level"] for lv in json.loads(frozen.levels)] == [1, 2, 3, 4]
    staffed.runtime.sweep(at(54))
    assert len(thread_texts(slack)) == 3
    staffed.runtime.sweep(at(55))
    assert f"*Level 3* (+30 min): <@{OWNER}> (business owner)" in thread_texts(slack)[3]
    with Session(staffed.engine) as session:
        [event] = session.exec(select(AuditEvent).where(AuditEvent.action == "incident.severity_changed"))
    payload = json.loads(event.payload)
    assert (payload["from"], payload["to"], payload["reason"]) == ("sev3", "sev1", "customers are affected")


def test_lowering_pages_no_one_and_the_next_level_keeps_its_distance(staffed, slack):
    run(staffed, "incident declare churn sev1 Scores are all zero", 0)
    run(staffed, "incident severity INC1 sev3", 5, user=MLOPS)
    texts = thread_texts(slack)
    assert "changed INC1 from sev1 to sev3" in texts[1] and "nobody is paged now" in texts[1]
    assert "level 2 follows in 4 h" in texts[1]
    for minutes in (15, 31, 61, 244):
        staffed.runtime.sweep(at(minutes))
    assert len(thread_texts(slack)) == 2  # sev1's level 2 (+15) never came
    staffed.runtime.sweep(at(245))
    assert f"*Level 2* (+240 min): <@{PM}> (product manager)" in thread_texts(slack)[2]


def test_an_acknowledged_incident_changes_severity_without_paging(staffed, slack):
    run(staffed, "incident declare churn sev3 Scores drift", 0)
    run(staffed, "incident ack INC1", 2, user=MLOPS)
    run(staffed, "incident severity INC1 sev1", 10, user=MLOPS)
    texts = thread_texts(slack)
    assert "the incident is acknowledged, so nobody is paged" in texts[-1]
    assert not any("*Level 2*" in t for t in texts)
    staffed.runtime.sweep(at(32))  # a sev1 asks for a status update every 30 min from the acknowledgement
    assert "please post a status update" in thread_texts(slack)[-1]


@pytest.mark.parametrize("text, user, error", [
    ("incident severity INC1 sev1", OTHER, "Only people holding a role on `churn`"),
    ("incident severity INC1 sev3", PM, "INC1 is already sev3; nothing changed."),
    ("incident severity INC1 sev9", PM, "`sev9` is not a severity"),
    ("incident severity INC1", PM, "The new severity is missing."),
    ("incident severity banana sev1", PM, "`banana` is not an incident id"),
    ("incident severity INC7 sev1", PM, "There is no incident INC7"),
])
def test_bad_severity_changes_are_refused_and_change_nothing(staffed, slack, text, user, error):
    run(staffed, "incident declare churn sev3 Scores drift", 0)
    before = incident(staffed)
    assert error in run(staffed, text, 3, user=user)
    after = incident(staffed)
    assert (after.severity, after.levels, after.version) == (before.severity, before.levels, before.version)
    assert len(thread_texts(slack)) == 1


def test_a_resolved_incident_keeps_its_severity(staffed, slack):
    run(staffed, "incident declare churn sev3 Scores drift", 0)
    run(staffed, "incident resolve INC1 fixed", 1, user=MLOPS)
    assert "INC1 is resolved; its severity can no longer change." in run(staffed, "incident severity INC1 sev1", 2)
    assert incident(staffed).severity == "sev3"
