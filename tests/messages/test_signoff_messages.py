"""The words of sign-offs, stages and governance: each refusal reason said, typed text never markup."""

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from bot.domain.escalation import Severity
from bot.domain.gates import Check, GovernanceRecord
from bot.domain.signoff import Decision, Reason, Refusal, SignoffFacts, parse_subject
from bot.domain.vocabulary import Role
from messages import governance as governance_messages
from messages import signoffs as signoff_messages
from messages import stages as stage_messages
from messages.codec import SignoffButton, SignoffForm
from states import IncidentStatus, Stage


def facts(subject, **overrides):
    values = dict(subject=parse_subject(subject), decision=Decision.APPROVE, signer="U1", held=(),
                  stage=Stage.READINESS)
    values.update(overrides)
    return SignoffFacts(**values)


@pytest.mark.parametrize(("subject", "overrides", "refusal", "expected"), [
    ("retraining:R4", {"review_kind": "monthly-performance-review"}, Refusal(Reason.NOT_RETRAINING),
     "R4 is a monthly-performance-review, not a quarterly retraining assessment."),
    ("postmortem:INC2", {"incident_severity": Severity.SEV3}, Refusal(Reason.NO_POSTMORTEM),
     "INC2 is a sev3; only sev1 and sev2 have postmortems."),
    ("postmortem:INC2", {"incident_status": IncidentStatus.ACKNOWLEDGED}, Refusal(Reason.INCIDENT_NOT_RESOLVED),
     "INC2 is acknowledged; resolve it before its postmortem."),
    ("scope-expansion", {}, Refusal(Reason.NOT_A_SIGNER, roles=(Role.BUSINESS_OWNER, Role.EXECUTIVE_SPONSOR)),
     "Only the business owner (<@UOWNER>) or the executive sponsor (vacant) can sign `scope-expansion` for "
     "`triage`."),
    ("stage-exit", {"stage": Stage.RETIRED}, Refusal(Reason.RETIRED),
     "`triage` is retired; there is no stage to exit."),
    ("baseline", {}, Refusal(Reason.THRESHOLDS_MISSING, ("adoption", "latency")),
     "Propose all five thresholds before approving the baseline; missing: `adoption`, `latency`. "
     "`/steward kpi threshold triage <kpi> <value>`."),
    ("governance", {}, Refusal(Reason.GOVERNANCE_INCOMPLETE, ("use-case",)),
     "The governance record is incomplete; missing: `use-case`. `/steward governance triage` shows it."),
    ("scope-expansion", {"stage": Stage.OPERATIONS, "days_in_stage": 12}, Refusal(Reason.TOO_EARLY_FOR_SCOPE),
     "Scope expansion is considered only after 90 days of stable operations; `triage` is in operations for 12 days."),
    ("scope-expansion", {"stage": Stage.LAUNCH}, Refusal(Reason.TOO_EARLY_FOR_SCOPE),
     "Scope expansion is considered only after 90 days of stable operations; `triage` is in launch."),
    ("stage-exit", {}, Refusal(Reason.EXIT_CRITERIA_UNMET, ("Readiness: data reliability",)),
     "The stage exit can be approved only while every other exit criterion holds; not yet: Readiness: data "
     "reliability. `/steward initiative advance triage` shows the checklist."),
    ("scope-expansion", {}, Refusal(Reason.SAME_PERSON),
     "You approved scope expansion under your other role; the business owner and the executive sponsor must be "
     "two different people."),
])
def test_every_refusal_reason_is_said_with_the_real_key(subject, overrides, refusal, expected):
    text = signoff_messages.refused(refusal, facts(subject, **overrides), key="triage",
                                    holders={Role.BUSINESS_OWNER: "UOWNER"})
    assert text == expected


def test_every_reason_has_words():
    for reason in Reason:
        assert signoff_messages.refused(Refusal(reason), facts("scope-expansion"), key="k", holders={})


def test_what_a_signoff_unlocks_is_said_per_subject():
    approve, reject = Decision.APPROVE, Decision.REJECT
    assert signoff_messages.unlocked(parse_subject("review:R3"), approve) == "R3 is completed."
    assert signoff_messages.unlocked(parse_subject("review:R3"), reject) == ""
    assert signoff_messages.unlocked(parse_subject("retraining:R5"), reject) == \
        "Retraining rejected; R5 is completed."
    assert signoff_messages.unlocked(parse_subject("scope-expansion"), approve,
                                     still_needed=[Role.EXECUTIVE_SPONSOR]) == "Still needed: executive sponsor."
    assert signoff_messages.retraining_notes(approve, None) == "Retraining approved"


def test_the_signoff_form_carries_its_subject_through_the_codec():
    view = signoff_messages.form(SignoffButton("triage", parse_subject("postmortem:INC3")), channel_id="C0OPS")
    assert SignoffForm.decode(view["private_metadata"]) == SignoffForm("triage", parse_subject("postmortem:INC3"),
                                                                       "C0OPS")
    assert "Sign `postmortem:INC3` for `triage`." in view["blocks"][0]["text"]["text"]


def test_the_checklist_fills_in_the_command_to_sign_the_stage_exit():
    initiative = SimpleNamespace(key="triage", name="Invoice triage", stage=Stage.HANDOFF)
    checks = [Check("At least 28 days of parallel operation", False, "3 days so far"),
              Check("Stage exit signed by the business owner", False, name="stage-exit-signed")]
    text = stage_messages.checklist(initiative, checks, stage=Stage.HANDOFF).blocks[0]["text"]["text"]
    assert "cannot leave *Stage 2: ownership transfer* for launch yet" in text
    assert "— `/steward signoff triage stage-exit approve` while in handoff" in text
    assert stage_messages.cannot_advance(initiative, checks) == (
        "`triage` cannot leave Stage 2: ownership transfer yet; missing: At least 28 days of parallel operation, "
        "Stage exit signed by the business owner.")


def test_governance_text_people_typed_cannot_become_markup():
    record = GovernanceRecord(texts={"use-case": "<!channel> scope"}, owner="UOWNER", thresholds={"latency": 2.0},
                              escalation={})
    entries = governance_messages.record_entries(record)
    assert entries["owner"] == "<@UOWNER>" and entries["thresholds"] == "latency 2" and entries["compliance"] is None
    signed = SimpleNamespace(decision="approve", signer="UOWNER", signed_at=datetime(2026, 3, 2, 9, tzinfo=UTC))
    message = governance_messages.record(key="triage", timezone="UTC", entries=entries, signed=signed)
    text = message.blocks[0]["text"]["text"]
    assert "&lt;!channel&gt; scope" in text and "<!channel>" not in text
    assert ":x: *compliance* (compliance and data-privacy assessments): *missing*" in text
    assert message.blocks[1]["elements"][0]["text"] == "Signed (approve) by <@UOWNER> on Mon 02 Mar 2026 09:00 UTC"
    notice = governance_messages.deviation_notice(key="triage", actor="U1", text="<@U2> line one\nline two")
    assert "&lt;@U2&gt; line one\n>line two" in notice.blocks[0]["text"]["text"]
