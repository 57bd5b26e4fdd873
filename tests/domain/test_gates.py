"""Stage exit criteria as plain data: each stage's checklist from the facts, and when it lets an initiative go."""

from datetime import date

import pytest

from bot.domain.gates import (
    STAGE_EXIT_SIGNED,
    GateFacts,
    GovernanceRecord,
    LaunchFacts,
    exit_checklist,
    may_advance,
    next_stage,
    stage_target,
    unmet,
)
from bot.domain.vocabulary import Role
from states import Stage

READY = {d: True for d in ("data", "integration", "governance", "baseline", "organization")}
ALL_ROLES = {Role.BUSINESS_OWNER: "U1", Role.PRODUCT_MANAGER: "U2", Role.DATA_ENGINEER: "U3",
             Role.MLOPS_ENGINEER: "U4"}
COMPLETE = dict.fromkeys(("use-case", "owner", "thresholds", "escalation", "compliance", "audit-spec"), True)


# Issue 17 (H): the handoff's retrospectives and the pilot's artifacts, all on record.
HANDOFF_RECORDS = dict(retrospectives_completed=2,
                       pilot_artifacts=frozenset({"acceptance-criteria", "edge-cases", "failure-modes"}))


def facts(stage: Stage, **overrides) -> GateFacts:
    values = dict(stage=stage, days_in_stage=0, readiness={}, baseline_signed=False, governance_items={},
                  governance_signed=False, roles={}, launch_reviews_completed=0, checkpoint_90_due=False,
                  kpis_within=None, stage_exit_signed=False,
                  launch=LaunchFacts(fallback=True, share=100, full_signed=True))  # G: tested in test_rollout.py
    values.update(overrides)
    return GateFacts(**values)


def shown(checks):
    return {c.label: (c.holds, c.detail) for c in checks}


def test_readiness_needs_five_dimensions_a_signed_baseline_and_the_exit_signed():
    checks = exit_checklist(facts(Stage.READINESS, readiness={"data": False, "integration": True},
                                  governance_items={"owner": True, "escalation": True, "use-case": False}))
    table = shown(checks)
    assert table["Readiness: data reliability"] == (False, "not ready")
    assert table["Readiness: integration stability"] == (True, "ready")
    assert table["Readiness: organizational readiness"] == (False, "not assessed")
    assert table["Baseline thresholds signed by the business owner"] == (False, "")
    assert table["Governance record"] == (False, "2 of 6 items; its sign-off is needed before launch")
    assert not may_advance(checks)

    done = exit_checklist(facts(Stage.READINESS, readiness=READY, baseline_signed=True, stage_exit_signed=True))
    # The governance record is shown but does not hold readiness back.
    assert [c.label for c in done if not c.holds] == ["Governance record"]
    assert may_advance(done) and unmet(done) == []


def test_handoff_needs_the_four_roles_28_days_and_a_signed_governance_record():
    checks = exit_checklist(facts(Stage.HANDOFF, roles={Role.BUSINESS_OWNER: "U1"}, days_in_stage=27,
                                  governance_items={**COMPLETE, "compliance": False, "audit-spec": False}))
    table = shown(checks)
    assert table["The four production roles assigned"] == (
        False, "vacant: product manager, data engineer, MLOps engineer")
    assert table["At least 28 days of parallel operation"] == (False, "27 days so far")
    assert table["Governance record complete and signed"] == (False, "missing: compliance, audit-spec")
    assert [c.label for c in unmet(checks)][-1].startswith("Stage exit signed")

    unsigned = shown(exit_checklist(facts(Stage.HANDOFF, governance_items=COMPLETE)))
    assert unsigned["Governance record complete and signed"] == (False, "complete, not signed")
    ready = exit_checklist(facts(Stage.HANDOFF, roles=ALL_ROLES, days_in_stage=28, governance_items=COMPLETE,
                                 governance_signed=True, stage_exit_signed=True, parallel_reviews_completed=4,
                                 **HANDOFF_RECORDS))
    assert shown(ready)["The four production roles assigned"] == (True, "all held")
    assert may_advance(ready)


def test_handoff_needs_four_parallel_operation_reviews_as_well_as_28_days():
    checks = exit_checklist(facts(Stage.HANDOFF, roles=ALL_ROLES, days_in_stage=40, governance_items=COMPLETE,
                                  governance_signed=True, stage_exit_signed=True, parallel_reviews_completed=3,
                                  **HANDOFF_RECORDS))
    assert shown(checks)["At least 4 weekly parallel-operation reviews completed"] == (False, "3 completed")
    assert [c.label for c in unmet(checks)] == ["At least 4 weekly parallel-operation reviews completed"]
    assert not may_advance(checks)


def test_stage_targets_follow_the_framework_timeline():
    entered = date(2026, 11, 2)
    assert stage_target(Stage.READINESS, entered) == date(2026, 11, 30)  # weeks 1 to 4
    assert stage_target(Stage.HANDOFF, entered) == date(2026, 12, 14)  # weeks 3 to 8
    assert stage_target(Stage.LAUNCH, entered) == date(2026, 12, 21)  # weeks 6 to 12
    assert stage_target(Stage.OPERATIONS, entered) is None and stage_target(Stage.RETIRED, entered) is None


@pytest.mark.parametrize(("due", "within", "detail"), [
    (False, True, "the 90-day checkpoint is not due yet"),
    (True, False, "some KPIs are outside their thresholds, stale or not recorded"),
    (True, None, "some KPIs are outside their thresholds, stale or not recorded"),
])
def test_launch_waits_for_the_90_day_checkpoint_within_thresholds(due, within, detail):
    checks = exit_checklist(facts(Stage.LAUNCH, launch_reviews_completed=6, checkpoint_90_due=due,
                                  kpis_within=within, stage_exit_signed=True))
    assert shown(checks)["90-day KPI checkpoint within thresholds"] == (False, detail)
    assert not may_advance(checks)


def test_launch_needs_six_weekly_reviews():
    checks = exit_checklist(facts(Stage.LAUNCH, launch_reviews_completed=5, checkpoint_90_due=True,
                                  kpis_within=True, stage_exit_signed=True))
    assert shown(checks)["6 weekly launch reviews completed"] == (False, "5 completed")
    assert [c.label for c in unmet(checks)] == ["6 weekly launch reviews completed"]


def test_every_stage_ends_with_the_stage_exit_sign_off_and_no_command_syntax():
    for stage in (Stage.READINESS, Stage.HANDOFF, Stage.LAUNCH, Stage.OPERATIONS):
        last = exit_checklist(facts(stage))[-1]
        assert last.name == STAGE_EXIT_SIGNED and not last.holds
        assert all("/steward" not in c.detail for c in exit_checklist(facts(stage)))


def test_stages_follow_the_framework_and_end_at_retired():
    assert [next_stage(s) for s in Stage] == [Stage.HANDOFF, Stage.LAUNCH, Stage.OPERATIONS, Stage.RETIRED, None]


def test_the_governance_record_counts_the_escalation_matrix_as_always_in_force():
    empty = GovernanceRecord(texts={}, owner=None, thresholds={}, escalation={})
    assert empty.missing() == ("use-case", "owner", "thresholds", "compliance", "audit-spec")
    full = GovernanceRecord(texts={"use-case": "x", "compliance": "y", "audit-spec": "z"}, owner="U1",
                            thresholds={"latency": 2.0}, escalation={})
    assert full.missing() == () and all(full.present().values())


@pytest.mark.parametrize("stage", [Stage.READINESS, Stage.HANDOFF, Stage.LAUNCH, Stage.OPERATIONS])
def test_every_unmet_check_of_every_stage_names_its_way_forward_with_the_real_key(stage):
    from messages.stages import detail

    nothing = facts(stage, stage_entered_on=date(2026, 3, 2), launch_date=date(2026, 3, 2),
                    governance_items={**COMPLETE, "use-case": False, "owner": False})
    for check in exit_checklist(nothing):
        if check.holds:
            continue
        shown = detail(check, key="triage", stage=stage)
        assert ("`/steward " in shown or "holds on" in shown or "next weekly prompt" in shown
                or "next retrospective" in shown), (check.label, shown)
        assert "<key>" not in shown and ("`/steward " not in shown or "triage" in shown), shown
