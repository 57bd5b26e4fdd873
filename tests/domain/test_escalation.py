"""The escalation matrix and state machine as pure functions."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.escalation import (
    DEFAULT_MATRIX,
    IncidentEvent,
    IncidentKind,
    IncidentState,
    IncidentStatus,
    InvalidTransition,
    PageFallback,
    PageLevel,
    RequestStatusUpdate,
    Severity,
    fallback_targets,
    is_raise,
    levels_for,
    median,
    next_action_at,
    plan,
    replan_from,
    transition,
)
from bot.domain.vocabulary import Role

T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
EVERYONE = {Role.MLOPS_ENGINEER: "UML", Role.DATA_ENGINEER: "UDE", Role.PRODUCT_MANAGER: "UPM",
            Role.BUSINESS_OWNER: "UBO", Role.EXECUTIVE_SPONSOR: "USP", Role.IT_OWNER: "UIT"}


def state(severity=Severity.SEV1, kind=IncidentKind.PERFORMANCE, **kw):
    return IncidentState(severity=severity, status=kw.pop("status", IncidentStatus.OPEN), declared_at=T0,
                         levels=levels_for(DEFAULT_MATRIX, severity, kind), **kw)


def climb(incident, holders, minutes):
    """Run the plan at each minute mark, carrying its result forward as the flow would."""
    paged = []
    for minute in minutes:
        result = plan(incident, holders, T0 + timedelta(minutes=minute))
        paged.append([(e.level.number, [u for _, u in e.holders]) for e in result.effects])
        incident = IncidentState(**{**incident.__dict__, "level_reached": result.level_reached})
    return paged


def test_sev1_climbs_the_whole_ladder_once_each():
    assert climb(state(), EVERYONE, [0, 14, 16, 20, 31, 59, 61, 500]) == [
        [(1, ["UML"])], [], [(2, ["UDE", "UPM"])], [], [(3, ["UBO"])], [], [(4, ["USP"])], []]


@pytest.mark.parametrize(("severity", "minutes", "expected"), [
    (Severity.SEV2, [0, 29, 30, 119, 120, 999], [[(1, ["UML"])], [], [(2, ["UPM"])], [], [(3, ["UBO"])], []]),
    (Severity.SEV3, [0, 239, 240, 999], [[(1, ["UML"])], [], [(2, ["UPM"])], []]),
    (Severity.SEV4, [0, 999], [[(1, ["UML"])], []]),
])
def test_each_severity_has_its_ladder(severity, minutes, expected):
    assert climb(state(severity), EVERYONE, minutes) == expected


def test_infrastructure_pages_the_it_owner_first_and_mlops_at_level_two():
    levels = levels_for(DEFAULT_MATRIX, Severity.SEV1, IncidentKind.INFRASTRUCTURE)
    assert [lv.roles for lv in levels[:2]] == [(Role.IT_OWNER,),
                                              (Role.MLOPS_ENGINEER, Role.DATA_ENGINEER, Role.PRODUCT_MANAGER)]
    sev4 = levels_for(DEFAULT_MATRIX, Severity.SEV4, IncidentKind.INFRASTRUCTURE)
    assert [(lv.after_minutes, lv.roles) for lv in sev4] == [(0, (Role.IT_OWNER,)), (60, (Role.MLOPS_ENGINEER,))]


def test_a_vacant_level_is_announced_and_the_next_level_is_paged_at_once():
    holders = {Role.MLOPS_ENGINEER: "UML", Role.BUSINESS_OWNER: "UBO"}  # data and PM vacant
    result = plan(state(level_reached=1), holders, T0 + timedelta(minutes=15))
    vacant, owner = result.effects
    assert (vacant.level.number, vacant.holders, vacant.vacant) == (2, (), (Role.DATA_ENGINEER, Role.PRODUCT_MANAGER))
    assert (owner.level.number, owner.holders, owner.early) == (3, ((Role.BUSINESS_OWNER, "UBO"),), True)
    assert result.level_reached == 3
    assert result.next_at == T0 + timedelta(minutes=60)


def test_a_partly_vacant_level_pages_who_is_there():
    result = plan(state(level_reached=1), {Role.PRODUCT_MANAGER: "UPM"}, T0 + timedelta(minutes=15))
    [page] = result.effects
    assert page.holders == ((Role.PRODUCT_MANAGER, "UPM"),) and page.vacant == (Role.DATA_ENGINEER,)
    assert result.level_reached == 2


def test_escalate_now_pages_the_next_level_early():
    result = plan(state(level_reached=1), EVERYONE, T0 + timedelta(minutes=3), force_next=True)
    [page] = result.effects
    assert page.level.number == 2 and page.early
    assert result.next_at == T0 + timedelta(minutes=30)


def test_acknowledged_sev1_asks_for_status_every_30_minutes_and_one_request_covers_downtime():
    acked = state(status=IncidentStatus.ACKNOWLEDGED, acknowledged_at=T0 + timedelta(minutes=5), level_reached=1)
    assert plan(acked, EVERYONE, T0 + timedelta(minutes=34)).effects == ()
    result = plan(acked, EVERYONE, T0 + timedelta(minutes=35))
    assert result.effects == (RequestStatusUpdate(1),)
    assert result.next_at == T0 + timedelta(minutes=65)
    late = plan(acked, EVERYONE, T0 + timedelta(minutes=200))
    assert late.effects == (RequestStatusUpdate(6),) and late.status_requests == 6


def test_sev2_every_two_hours_and_sev3_never():
    sev2 = state(Severity.SEV2, status=IncidentStatus.ACKNOWLEDGED, acknowledged_at=T0)
    assert plan(sev2, EVERYONE, T0 + timedelta(minutes=119)).effects == ()
    assert plan(sev2, EVERYONE, T0 + timedelta(minutes=120)).effects == (RequestStatusUpdate(1),)
    sev3 = state(Severity.SEV3, status=IncidentStatus.ACKNOWLEDGED, acknowledged_at=T0)
    result = plan(sev3, EVERYONE, T0 + timedelta(days=3))
    assert result.effects == () and result.next_at is None


def test_an_acknowledged_incident_never_pages():
    acked = state(status=IncidentStatus.ACKNOWLEDGED, acknowledged_at=T0 + timedelta(minutes=1), level_reached=1)
    assert not any(isinstance(e, PageLevel) for e in plan(acked, EVERYONE, T0 + timedelta(hours=5)).effects)


def test_transitions_are_data():
    assert transition(IncidentStatus.OPEN, IncidentEvent.ACKNOWLEDGE) is IncidentStatus.ACKNOWLEDGED
    assert transition(IncidentStatus.OPEN, IncidentEvent.RESOLVE) is IncidentStatus.RESOLVED
    assert transition(IncidentStatus.ACKNOWLEDGED, IncidentEvent.RESOLVE) is IncidentStatus.RESOLVED
    for status, event in [(IncidentStatus.ACKNOWLEDGED, IncidentEvent.ACKNOWLEDGE),
                          (IncidentStatus.RESOLVED, IncidentEvent.ACKNOWLEDGE),
                          (IncidentStatus.RESOLVED, IncidentEvent.RESOLVE)]:
        with pytest.raises(InvalidTransition):
            transition(status, event)


def test_median():
    minutes = [timedelta(minutes=m) for m in (9, 1, 4)]
    assert median(minutes) == timedelta(minutes=4)
    assert median([*minutes, timedelta(minutes=6)]) == timedelta(minutes=5)
    assert median([]) is None


# Issue 15: nobody is ever left unpaged; severity changes re-plan the ladder.

def _repeating(severity=Severity.SEV1, **kw):
    minutes = {Severity.SEV1: 30, Severity.SEV2: 60, Severity.SEV3: 240, Severity.SEV4: None}[severity]
    return state(severity, repeat_minutes=minutes, **kw)


def test_vacant_upper_levels_page_the_fallback_at_once():
    only_mlops = {Role.MLOPS_ENGINEER: "UML"}
    first = plan(_repeating(), only_mlops, T0)
    assert [type(e) for e in first.effects] == [PageLevel]
    assert first.exhausted_at is None
    later = plan(_repeating(level_reached=1), only_mlops, T0 + timedelta(minutes=15))
    # Levels 2, 3 and 4 are vacant: all announced, then the fallback, in one step.
    assert [e.level.number for e in later.effects if isinstance(e, PageLevel)] == [2, 3, 4]
    assert later.effects[-1] == PageFallback(0, None)
    assert later.exhausted_at == T0 + timedelta(minutes=15)
    assert later.next_at == T0 + timedelta(minutes=45)  # the first repeat


def test_an_exhausted_ladder_repeats_its_last_level_with_people_until_acknowledged():
    only_mlops = {Role.MLOPS_ENGINEER: "UML"}
    exhausted = T0 + timedelta(minutes=15)
    s = _repeating(level_reached=4, exhausted_at=exhausted)
    assert plan(s, only_mlops, exhausted + timedelta(minutes=29)).effects == ()
    repeat = plan(s, only_mlops, exhausted + timedelta(minutes=30))
    assert len(repeat.effects) == 1 and repeat.effects[0].number == 1
    assert repeat.effects[0].repeat_level.number == 1  # the MLOps engineer, the last level anyone holds
    assert repeat.repeats == 1 and repeat.next_at == exhausted + timedelta(minutes=60)
    # After downtime one repeat stands for the missed ones; acknowledging stops them.
    late = plan(_repeating(level_reached=4, exhausted_at=exhausted, repeats=1), only_mlops,
                exhausted + timedelta(minutes=125))
    assert [e.number for e in late.effects] == [4]
    acked = _repeating(level_reached=4, exhausted_at=exhausted, status=IncidentStatus.ACKNOWLEDGED,
                       acknowledged_at=exhausted)
    assert not any(isinstance(e, PageFallback) for e in plan(acked, only_mlops, exhausted + timedelta(hours=5)).effects)


def test_a_full_ladder_reaches_the_fallback_at_its_first_repeat_and_sev4_never_repeats():
    s = _repeating(level_reached=4)
    at_end = plan(s, EVERYONE, T0 + timedelta(minutes=61))
    assert at_end.effects == () and at_end.exhausted_at == T0 + timedelta(minutes=61)
    sev4 = _repeating(Severity.SEV4)
    declared = plan(sev4, EVERYONE, T0)
    assert [type(e) for e in declared.effects] == [PageLevel] and declared.next_at is None
    vacant = plan(sev4, {}, T0)
    assert vacant.effects[-1] == PageFallback(0, None) and vacant.next_at is None  # once, never repeated


def test_the_fallback_is_the_configured_targets_or_else_the_admins():
    assert fallback_targets((), frozenset({"UADM2", "UADM1"})) == ((), ("UADM1", "UADM2"))
    assert fallback_targets(("CESCALATE", "UONCALL"), frozenset({"UADM1"})) == (("CESCALATE",), ("UONCALL",))


def test_raising_makes_the_next_level_due_now_and_lowering_pages_no_one():
    now = T0 + timedelta(minutes=40)
    sev1 = levels_for(DEFAULT_MATRIX, Severity.SEV1, IncidentKind.PERFORMANCE)
    ladder_from, reached = replan_from(sev1, 2, now, raising=True)  # a sev3 at level 2 raised to sev1
    assert reached == 2 and ladder_from == now - timedelta(minutes=30)
    raised = plan(state(Severity.SEV1, level_reached=2, ladder_from=ladder_from), EVERYONE, now)
    assert [e.level.number for e in raised.effects] == [3]
    assert raised.next_at == now + timedelta(minutes=30)  # level 4 keeps its distance from level 3
    sev3 = levels_for(DEFAULT_MATRIX, Severity.SEV3, IncidentKind.PERFORMANCE)
    ladder_from, reached = replan_from(sev3, 1, now, raising=False)  # a sev1 at level 1 lowered to sev3
    lowered = plan(state(Severity.SEV3, level_reached=reached, ladder_from=ladder_from), EVERYONE, now)
    assert lowered.effects == () and lowered.next_at == now + timedelta(minutes=240)
    assert is_raise(Severity.SEV3, Severity.SEV1) and not is_raise(Severity.SEV1, Severity.SEV2)
    assert next_action_at(state(Severity.SEV3, level_reached=2, ladder_from=ladder_from), 2, 0) is None
