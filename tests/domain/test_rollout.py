"""The rules of the controlled rollout and the launch communication plan (issue 17 points 1 and 2)."""

from datetime import date

import pytest

from bot.domain import gates
from bot.domain.gates import GateFacts, LaunchFacts, exit_checklist, may_advance
from bot.domain.rollout import (
    CommsDone,
    FallbackSet,
    RolloutSet,
    due_on,
    needs_signoff,
    on_time,
    parse_comms,
    parse_fallback,
    parse_rollout,
    rolling_out,
    support_closes_on,
)
from bot.domain.signoff import Subject, SubjectKind, parse_subject
from bot.domain.vocabulary import Stage
from bot.errors import UsageError

LAUNCH = date(2026, 3, 2)


@pytest.mark.parametrize(("current", "percent", "needed"), [
    (None, 10, False), (None, 20, False), (None, 21, True), (None, 100, True),
    (10, 25, True), (25, 10, False), (50, 51, True), (100, 60, False),
])
def test_a_first_share_above_20_and_every_increase_need_a_signoff(current, percent, needed):
    assert needs_signoff(current, percent) is needed


def test_rolling_out_means_a_share_short_of_the_full_scope():
    assert rolling_out(10) and rolling_out(99)
    assert not rolling_out(100) and not rolling_out(None)


def test_the_commands_parse_and_refuse_bad_input():
    assert parse_rollout(["triage", "15%", "two", "desks"], "u") == RolloutSet("triage", 15, "two desks")
    assert parse_fallback(["triage", "by", "hand"], "u") == FallbackSet("triage", "by hand")
    assert parse_comms(["triage", "Training", "done", "wiki/t"], "u") == CommsDone("triage", "training", "wiki/t")
    assert parse_comms(["triage", "support-channel", "done", "<#C0HELP|help>", "faq"], "u").channel_id == "C0HELP"
    for tokens in (["triage"], ["triage", "0"], ["triage", "101"], ["triage", "1.5"], ["triage", "-5"], ["Bad", "5"],
                   ["triage", "10", "x" * 1001]):
        with pytest.raises(UsageError):
            parse_rollout(tokens, "u")
    for tokens in (["triage"], [], ["triage", " "]):
        with pytest.raises(UsageError):
            parse_fallback(tokens, "u")
    for tokens in (["triage"], ["triage", "party", "done", "x"], ["triage", "training", "x"],
                   ["triage", "training", "done"], ["triage", "support-channel", "done", "#help"]):
        with pytest.raises(UsageError):
            parse_comms(tokens, "u")


def test_the_rollout_subject_names_a_percent():
    assert parse_subject("rollout:30") == Subject(SubjectKind.ROLLOUT, 30)
    assert str(parse_subject("ROLLOUT:100%")) == "rollout:100"
    assert parse_subject("rollout:0") is None and parse_subject("rollout:101") is None
    assert parse_subject("rollout:") is None


def test_due_dates_count_from_the_launch_and_on_time_means_by_the_due_day():
    assert due_on("orientation", LAUNCH) == LAUNCH
    assert due_on("training", LAUNCH) == date(2026, 3, 9)
    assert due_on("training", None) is None
    assert on_time("orientation", None, date(2026, 2, 20)) is True  # before the launch date is known
    assert on_time("training", LAUNCH, date(2026, 3, 9)) is True
    assert on_time("training", LAUNCH, date(2026, 3, 10)) is False
    assert on_time("training", LAUNCH, None) is None
    assert support_closes_on(LAUNCH) == date(2026, 4, 1)


def facts(stage: Stage, launch: LaunchFacts) -> GateFacts:
    return GateFacts(stage=stage, days_in_stage=50, readiness={}, baseline_signed=True, governance_items={},
                     governance_signed=True, roles={}, launch_reviews_completed=6, checkpoint_90_due=True,
                     kpis_within=True, stage_exit_signed=True, launch=launch)


def names(checks, *, holding: bool) -> set[str]:
    return {c.name for c in checks if c.holds is holding and c.name in gates.LAUNCH_CHECK_NAMES}


def test_entering_launch_needs_a_fallback_and_a_first_share_and_advises_the_orientation():
    checks = exit_checklist(facts(Stage.HANDOFF, LaunchFacts()))
    assert names(checks, holding=False) == {gates.FALLBACK_RECORDED, gates.FIRST_SHARE_RECORDED,
                                            gates.ORIENTATION_HELD}
    orientation = next(c for c in checks if c.name == gates.ORIENTATION_HELD)
    assert orientation.informational
    checks = exit_checklist(facts(Stage.HANDOFF, LaunchFacts(fallback=True, share=10)))
    assert names(checks, holding=False) == {gates.ORIENTATION_HELD}


def test_leaving_launch_needs_the_full_share_signed():
    checks = exit_checklist(facts(Stage.LAUNCH, LaunchFacts(fallback=True, share=60)))
    assert not may_advance(checks) and names(checks, holding=False) == {gates.FULL_SHARE_SIGNED}
    checks = exit_checklist(facts(Stage.LAUNCH, LaunchFacts(fallback=True, share=100, full_signed=True)))
    assert may_advance(checks)


def test_other_stages_have_no_rollout_checks():
    for stage in (Stage.READINESS, Stage.OPERATIONS):
        assert not {c.name for c in exit_checklist(facts(stage, LaunchFacts()))} & set(gates.LAUNCH_CHECK_NAMES)
