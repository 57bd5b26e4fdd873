"""The sign-off policy as plain data: who may sign what, and every reason a sign-off is refused."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.escalation import Severity
from bot.domain.evidence import Break, BreakKind, Stability
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
NOW = datetime(2028, 4, 3, 10, 0, tzinfo=UTC)
STABLE = Stability(now=NOW, days=90, holds_from=NOW - timedelta(days=5), breaks=())


def facts(subject: str, decision=APPROVE, *, held=(Role.BUSINESS_OWNER,), signer=OWNER, **overrides):
    values = dict(subject=parse_subject(subject), decision=decision, signer=signer, held=tuple(held),
                  stage=Stage.READINESS)
    values.update(overrides)
    return SignoffFacts(**values)


def scope(decision=APPROVE, *, held=(Role.BUSINESS_OWNER,), signer=OWNER, **overrides):
    values = dict(stage=Stage.OPERATIONS, days_in_stage=120, standings=GOOD, stability=STABLE)
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


def test_scope_expansion_is_approved_only_after_a_stable_period_and_rejected_any_time():
    breach = Break(BreakKind.BREACH, NOW - timedelta(days=41), NOW - timedelta(days=41), kpi="adoption", value=30,
                   threshold=60)
    broken = Stability(now=NOW, days=90, holds_from=NOW + timedelta(days=49), breaks=(breach,))
    assert check(scope(stability=broken)) == Refusal(Reason.NOT_STABLE)
    assert check(scope(stability=None)) == Refusal(Reason.NOT_STABLE)  # no evidence gathered is no evidence
    assert check(scope(REJECT, stability=broken)) is Role.BUSINESS_OWNER


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


def test_one_person_acting_for_the_vacant_sponsor_cannot_give_the_second_approval():
    # An admin who approved as business owner, now acting for a vacant executive sponsor, signs under that role.
    approved_as_owner = (PriorSignoff(OWNER, Role.BUSINESS_OWNER, APPROVE, NOW - timedelta(days=1)),)
    refused = check(scope(held=(Role.EXECUTIVE_SPONSOR,), prior_scope=approved_as_owner))
    assert refused.reason is Reason.SAME_PERSON
    # Superseded by another person's approval as owner: then they may.
    by_other = (*approved_as_owner, PriorSignoff(PM, Role.BUSINESS_OWNER, APPROVE, NOW))
    assert check(scope(held=(Role.EXECUTIVE_SPONSOR,), prior_scope=by_other)) is Role.EXECUTIVE_SPONSOR


def outcome(signoffs, *, holds_from=NOW - timedelta(days=30), pairing=14):
    result = scope_expansion_outcome(signoffs, holds_from=holds_from, pairing=timedelta(days=pairing))
    return result.approved, list(result.still_needed)


def test_scope_expansion_needs_both_roles_from_two_people_and_the_latest_counts():
    owner = PriorSignoff(OWNER, Role.BUSINESS_OWNER, APPROVE, NOW - timedelta(days=2))
    sponsor = PriorSignoff(SPONSOR, Role.EXECUTIVE_SPONSOR, APPROVE, NOW - timedelta(days=1))
    assert outcome([owner]) == (False, ["executive_sponsor"])
    assert outcome([owner, sponsor]) == (True, [])
    withdrawn = PriorSignoff(SPONSOR, Role.EXECUTIVE_SPONSOR, REJECT, NOW)
    assert outcome([owner, sponsor, withdrawn]) == (False, ["executive_sponsor"])
    same_person = PriorSignoff(OWNER, Role.EXECUTIVE_SPONSOR, APPROVE, NOW)
    assert outcome([owner, same_person]) == (False, ["executive_sponsor"])
    assert outcome([]) == (False, ["business_owner", "executive_sponsor"])


def test_approvals_count_only_after_stability_held_and_within_the_pairing_window():
    sponsor_2027 = PriorSignoff(SPONSOR, Role.EXECUTIVE_SPONSOR, APPROVE, datetime(2027, 7, 1, tzinfo=UTC))
    owner_2028 = PriorSignoff(OWNER, Role.BUSINESS_OWNER, APPROVE, NOW)
    result = scope_expansion_outcome([sponsor_2027, owner_2028], holds_from=datetime(2027, 6, 1, tzinfo=UTC),
                                     pairing=timedelta(days=14))
    assert not result.approved and result.still_needed == ("executive_sponsor",)
    assert [(a.role, lapse.value) for a, lapse in result.lapsed] == [("executive_sponsor", "too-far-apart")]
    # A breach between the two (stability held again only after it) voids the first.
    owner = PriorSignoff(OWNER, Role.BUSINESS_OWNER, APPROVE, NOW - timedelta(days=3))
    sponsor = PriorSignoff(SPONSOR, Role.EXECUTIVE_SPONSOR, APPROVE, NOW)
    result = scope_expansion_outcome([owner, sponsor], holds_from=NOW - timedelta(days=1), pairing=timedelta(days=14))
    assert not result.approved and result.still_needed == ("business_owner",)
    assert [(a.role, lapse.value) for a, lapse in result.lapsed] == [("business_owner", "before-stable")]
    assert outcome([owner, sponsor], pairing=2) == (False, ["business_owner"])
    assert outcome([owner, sponsor], pairing=3) == (True, [])


def test_a_stage_exit_is_approved_only_while_every_other_criterion_holds():
    unmet = ("Readiness: data reliability", "Baseline thresholds signed by the business owner")
    assert check(facts("stage-exit", exit_unmet=unmet)) == Refusal(Reason.EXIT_CRITERIA_UNMET, unmet)
    assert check(facts("stage-exit", REJECT, exit_unmet=unmet)) is Role.BUSINESS_OWNER  # a rejection, any time
    assert check(facts("stage-exit")) is Role.BUSINESS_OWNER


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


def test_a_person_covering_the_other_signer_counts_as_them_in_the_outcome_too():
    owner = PriorSignoff(OWNER, Role.BUSINESS_OWNER, APPROVE, NOW - timedelta(days=1))
    covering_owner = PriorSignoff(PM, Role.EXECUTIVE_SPONSOR, APPROVE, NOW, counts_as=frozenset({OWNER}))
    assert outcome([owner, covering_owner]) == (False, ["executive_sponsor"])
