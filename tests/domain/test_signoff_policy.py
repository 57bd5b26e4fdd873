"""The sign-off policy as plain data: who may sign what, and every reason a sign-off is refused."""

import pytest

from bot.domain.escalation import Severity
from bot.domain.kpis import KPIS, KpiStanding
from bot.domain.signoff import (
    Decision,
    PriorSignoff,
    Reason,
    Refusal,
    SignoffFacts,
    Subject,
    SubjectKind,
    check,
    parse_subject,
    scope_expansion_outcome,
)
from bot.domain.vocabulary import Role
from states import IncidentStatus, Stage

OWNER, SPONSOR, PM = "UOWNER", "USPONSOR", "UPM"
APPROVE, REJECT = Decision.APPROVE, Decision.REJECT
ALL_PROPOSED = tuple(KPIS)
GOOD = tuple(KpiStanding(kpi, 1.0, 1.0 if kpi.direction == "max" else 99.0) for kpi in KPIS.values())


def facts(subject: str, decision=APPROVE, *, held=(Role.BUSINESS_OWNER,), signer=OWNER, **overrides):
    values = dict(subject=parse_subject(subject), decision=decision, signer=signer, held=tuple(held),
                  stage=Stage.READINESS)
    values.update(overrides)
    return SignoffFacts(**values)


def scope(decision=APPROVE, *, held=(Role.BUSINESS_OWNER,), signer=OWNER, **overrides):
    values = dict(stage=Stage.OPERATIONS, days_in_stage=120, standings=GOOD)
    values.update(overrides)
    return facts("scope-expansion", decision, held=held, signer=signer, **values)


@pytest.mark.parametrize("subject", ["stage-exit", "baseline", "governance"])
def test_the_business_owner_signs_the_gates_and_nobody_else(subject):
    assert check(facts(subject, proposed_thresholds=ALL_PROPOSED)) is Role.BUSINESS_OWNER
    refused = check(facts(subject, held=(Role.PRODUCT_MANAGER, Role.EXECUTIVE_SPONSOR), signer=PM))
    assert refused == Refusal(Reason.NOT_A_SIGNER, roles=(Role.BUSINESS_OWNER,))
    assert refused.reason.is_permission


def test_a_person_without_roles_may_sign_nothing():
    assert check(facts("baseline", held=())).reason is Reason.NOT_A_SIGNER


def test_a_review_is_signed_by_the_roles_that_complete_it():
    review = facts("review:R4", held=(Role.DATA_ENGINEER,), signer=PM, review_kind="monthly-performance-review",
                   completers=(Role.PRODUCT_MANAGER, Role.DATA_ENGINEER))
    assert check(review) is Role.DATA_ENGINEER
    assert check(facts("review:R4", review_kind="monthly-performance-review",
                       completers=(Role.PRODUCT_MANAGER,))) == Refusal(Reason.NOT_A_SIGNER,
                                                                       roles=(Role.PRODUCT_MANAGER,))


def test_retraining_names_a_quarterly_retraining_assessment_only():
    assert check(facts("retraining:R7", review_kind="quarterly-retraining-assessment")) is Role.BUSINESS_OWNER
    # The wrong kind is said first, even to someone who could not sign it anyway.
    refused = check(facts("retraining:R7", held=(), review_kind="monthly-performance-review"))
    assert refused.reason is Reason.NOT_RETRAINING and not refused.reason.is_permission


@pytest.mark.parametrize(("severity", "status", "reason"), [
    ("sev3", IncidentStatus.RESOLVED, Reason.NO_POSTMORTEM),
    ("sev4", IncidentStatus.RESOLVED, Reason.NO_POSTMORTEM),
    ("sev1", IncidentStatus.OPEN, Reason.INCIDENT_NOT_RESOLVED),
    ("sev2", IncidentStatus.ACKNOWLEDGED, Reason.INCIDENT_NOT_RESOLVED),
])
def test_a_postmortem_is_signed_for_a_resolved_sev1_or_sev2_only(severity, status, reason):
    refused = check(facts("postmortem:INC3", incident_severity=Severity(severity), incident_status=status))
    assert refused.reason is reason
    resolved = facts("postmortem:INC3", incident_severity=Severity.SEV1, incident_status=IncidentStatus.RESOLVED)
    assert check(resolved) is Role.BUSINESS_OWNER


def test_no_stage_exit_once_retired():
    assert check(facts("stage-exit", stage=Stage.RETIRED)).reason is Reason.RETIRED
    assert check(facts("stage-exit", stage=Stage.RETIRED, held=())).reason is Reason.NOT_A_SIGNER


def test_a_baseline_is_approved_with_all_five_thresholds_and_rejected_with_any():
    refused = check(facts("baseline", proposed_thresholds=("task-completion", "latency")))
    assert refused == Refusal(Reason.THRESHOLDS_MISSING, ("exception-rate", "data-quality", "adoption"))
    assert check(facts("baseline", REJECT)) is Role.BUSINESS_OWNER


def test_governance_is_approved_only_when_complete():
    refused = check(facts("governance", governance_missing=("use-case", "audit-spec")))
    assert refused == Refusal(Reason.GOVERNANCE_INCOMPLETE, ("use-case", "audit-spec"))
    assert check(facts("governance", REJECT, governance_missing=("use-case",))) is Role.BUSINESS_OWNER
    assert check(facts("governance")) is Role.BUSINESS_OWNER


@pytest.mark.parametrize(("stage", "days"), [(Stage.LAUNCH, 400), (Stage.OPERATIONS, 89)])
def test_scope_expansion_waits_for_ninety_days_of_operations(stage, days):
    assert check(scope(stage=stage, days_in_stage=days)).reason is Reason.TOO_EARLY_FOR_SCOPE
    assert check(scope(REJECT, stage=stage, days_in_stage=days)).reason is Reason.TOO_EARLY_FOR_SCOPE
    assert check(scope(days_in_stage=90)) is Role.BUSINESS_OWNER


def test_scope_expansion_is_approved_only_with_every_kpi_within_its_threshold():
    outside = (*GOOD[:1], KpiStanding(KPIS["exception-rate"], 8, 12), KpiStanding(KPIS["latency"], 2, None))
    refused = check(scope(standings=outside))
    assert refused == Refusal(Reason.KPIS_NOT_WITHIN, ("exception-rate", "latency"))
    assert check(scope(REJECT, standings=outside)) is Role.BUSINESS_OWNER


def test_scope_expansion_is_signed_by_the_owner_or_the_sponsor():
    assert check(scope(held=(Role.EXECUTIVE_SPONSOR,), signer=SPONSOR)) is Role.EXECUTIVE_SPONSOR
    refused = check(scope(held=(Role.PRODUCT_MANAGER,), signer=PM))
    assert refused == Refusal(Reason.NOT_A_SIGNER, roles=(Role.BUSINESS_OWNER, Role.EXECUTIVE_SPONSOR))


def test_one_person_cannot_approve_scope_expansion_under_both_roles():
    both = (Role.BUSINESS_OWNER, Role.EXECUTIVE_SPONSOR)
    approved_as_owner = (PriorSignoff(OWNER, Role.BUSINESS_OWNER, APPROVE),)
    # Holding both roles, the person signs under the first that may: the business owner, again.
    assert check(scope(held=both, prior_scope=approved_as_owner)) is Role.BUSINESS_OWNER
    approved_as_sponsor = (PriorSignoff(OWNER, Role.EXECUTIVE_SPONSOR, APPROVE),)
    refused = check(scope(held=both, prior_scope=approved_as_sponsor))
    assert refused.reason is Reason.SAME_PERSON and refused.reason.is_permission
    # A rejection under the other role does not bind.
    assert check(scope(held=both, prior_scope=(PriorSignoff(OWNER, Role.EXECUTIVE_SPONSOR, REJECT),))) \
        is Role.BUSINESS_OWNER


def test_scope_expansion_needs_both_roles_from_two_people_and_the_latest_counts():
    owner = PriorSignoff(OWNER, Role.BUSINESS_OWNER, APPROVE)
    sponsor = PriorSignoff(SPONSOR, Role.EXECUTIVE_SPONSOR, APPROVE)
    assert scope_expansion_outcome([owner]) == (False, [Role.EXECUTIVE_SPONSOR])
    assert scope_expansion_outcome([owner, sponsor]) == (True, [])
    withdrawn = PriorSignoff(SPONSOR, Role.EXECUTIVE_SPONSOR, REJECT)
    assert scope_expansion_outcome([owner, sponsor, withdrawn]) == (False, [Role.EXECUTIVE_SPONSOR])
    same_person = PriorSignoff(OWNER, Role.EXECUTIVE_SPONSOR, APPROVE)
    assert scope_expansion_outcome([owner, same_person]) == (False, [Role.EXECUTIVE_SPONSOR])
    assert scope_expansion_outcome([]) == (False, [Role.BUSINESS_OWNER, Role.EXECUTIVE_SPONSOR])


@pytest.mark.parametrize(("text", "expected"), [
    ("stage-exit", Subject(SubjectKind.STAGE_EXIT)),
    ("Review:r12", Subject(SubjectKind.REVIEW, 12)),
    ("retraining:R3", Subject(SubjectKind.RETRAINING, 3)),
    ("postmortem:inc9", Subject(SubjectKind.POSTMORTEM, 9)),
    ("launch", None),
    ("review:", None),
    ("postmortem:INC1234567890", None),
    ("", None),
])
def test_subjects_parse_or_are_refused(text, expected):
    assert parse_subject(text) == expected
