"""The cadence rules as pure functions: no clock, no database, no Slack."""

import dataclasses
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays

from bot.domain.cadence import (
    DEFAULT_CADENCE,
    Compliance,
    Schedule,
    add_months,
    before_import,
    compliance,
    due_between,
    is_overdue,
    next_due,
    occurrences,
    reminder_moment,
)
from bot.domain.vocabulary import Stage
from states import ReviewStatus

CADENCE = DEFAULT_CADENCE


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(moment: datetime, zone: str) -> datetime:
    return moment.astimezone(ZoneInfo(zone))


def schedule(stage, entered: date, zone="UTC", launch: date | None = None, **kw) -> Schedule:
    entered_at = datetime.combine(entered, datetime.min.time(), ZoneInfo(zone)).astimezone(UTC)
    return Schedule(stage=stage, stage_entered_at=entered_at, timezone=zone, launch_date=launch, **kw)


def kinds(found):
    return [o.kind for o in found]


def test_month_ends_clamp_without_drifting():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 1, 31), 2) == date(2026, 3, 31)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)


def test_monthly_review_anchored_on_the_31st_follows_month_ends_and_skips_weekends():
    plan = schedule(Stage.OPERATIONS, date(2026, 1, 31))
    rule = CADENCE.rule("monthly-performance-review")
    found = occurrences(rule, plan, CADENCE, after=utc(2026, 1, 31), until=utc(2026, 7, 1))
    assert [o.nominal for o in found] == [date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30),
                                         date(2026, 5, 31), date(2026, 6, 30)]
    # 28 February and 31 May 2026 are a Saturday and a Sunday: both post the following Monday.
    assert [o.due_at.date() for o in found] == [date(2026, 3, 2), date(2026, 3, 31), date(2026, 4, 30),
                                               date(2026, 6, 1), date(2026, 6, 30)]
    assert all(o.due_at.hour == 10 and o.due_at.weekday() < 5 for o in found)


def test_posts_at_ten_local_time_across_both_dst_changes_in_berlin():
    plan = schedule(Stage.READINESS, date(2026, 3, 16), "Europe/Berlin")  # a Monday
    rule = CADENCE.rule("readiness-checkin")
    found = occurrences(rule, plan, CADENCE, after=utc(2026, 3, 16), until=utc(2026, 11, 10))
    assert all(local(o.due_at, "Europe/Berlin").hour == 10 for o in found)
    by_day = {local(o.due_at, "Europe/Berlin").date(): o.due_at for o in found}
    assert by_day[date(2026, 3, 23)].hour == 9  # CET, UTC+1
    assert by_day[date(2026, 3, 30)].hour == 8  # CEST from 29 March, UTC+2
    assert by_day[date(2026, 10, 19)].hour == 8
    assert by_day[date(2026, 10, 26)].hour == 9  # back to CET on 25 October
    assert all(later - earlier in (timedelta(days=7), timedelta(days=7, hours=1), timedelta(days=7, hours=-1))
               for earlier, later in zip(list(by_day.values()), list(by_day.values())[1:], strict=False))


def test_posts_at_ten_local_time_across_both_dst_changes_in_new_york():
    plan = schedule(Stage.HANDOFF, date(2026, 3, 2), "America/New_York")
    rule = CADENCE.rule("parallel-ops-review")
    found = occurrences(rule, plan, CADENCE, after=utc(2026, 3, 2), until=utc(2026, 11, 20))
    by_day = {local(o.due_at, "America/New_York").date(): o.due_at for o in found}
    assert all(local(o.due_at, "America/New_York").hour == 10 for o in found)
    assert by_day[date(2026, 3, 2 + 7)].hour == 14  # EDT from 8 March: UTC-4
    assert by_day[date(2026, 10, 26)].hour == 14
    assert by_day[date(2026, 11, 2)].hour == 15  # EST from 1 November: UTC-5


def test_public_holidays_of_the_initiatives_country_move_to_the_next_working_day():
    us = holidays.country_holidays("US")

    def closed(day):
        return day.weekday() >= 5 or day in us

    # Weekly from Friday 4 December 2026: the 25 December check-in is Christmas, a Friday.
    plan = schedule(Stage.READINESS, date(2026, 12, 4), "America/New_York", non_working=closed)
    found = occurrences(CADENCE.rule("readiness-checkin"), plan, CADENCE, after=utc(2026, 12, 4), until=utc(2027, 1, 9))
    assert [local(o.due_at, "America/New_York").date() for o in found] == [
        date(2026, 12, 11), date(2026, 12, 18), date(2026, 12, 28), date(2027, 1, 4), date(2027, 1, 8)]
    # 1 January 2027 is New Year's Day (a Friday) and moves to Monday 4 January.


def test_launch_reviews_stop_after_six_weeks_and_kpi_checkpoints_count_from_launch():
    launch = date(2026, 5, 4)
    plan = schedule(Stage.LAUNCH, launch, launch=launch)
    found = due_between(plan, CADENCE, after=utc(2026, 5, 4), until=utc(2026, 12, 31))
    reviews = [o for o in found if o.kind == "launch-review"]
    assert [o.nominal for o in reviews] == [launch + timedelta(days=7 * k) for k in range(1, 7)]
    checkpoints = [o.nominal for o in found if o.kind == "kpi-checkpoint"]
    assert checkpoints == [date(2026, 6, 3), date(2026, 7, 3), date(2026, 8, 2)]


def test_a_stage_only_has_its_own_reviews():
    entered = date(2026, 1, 5)
    assert set(kinds(due_between(schedule(Stage.READINESS, entered), CADENCE, after=utc(2026, 1, 5),
                                 until=utc(2027, 2, 1)))) == {"readiness-checkin"}
    operations = set(kinds(due_between(schedule(Stage.OPERATIONS, entered), CADENCE, after=utc(2026, 1, 5),
                                       until=utc(2027, 2, 1))))
    assert operations == {"monthly-performance-review", "quarterly-retraining-assessment",
                          "biannual-governance-review", "annual-scope-planning"}
    assert due_between(schedule(Stage.RETIRED, entered), CADENCE, after=utc(2026, 1, 5), until=utc(2030, 1, 1)) == []


def test_a_year_of_operations_has_twelve_monthly_four_quarterly_two_biannual_one_annual():
    found = due_between(schedule(Stage.OPERATIONS, date(2026, 1, 5), "Europe/Berlin"), CADENCE,
                        after=utc(2026, 1, 5), until=utc(2027, 1, 6))
    counts = {kind: kinds(found).count(kind) for kind in set(kinds(found))}
    assert counts == {"monthly-performance-review": 12, "quarterly-retraining-assessment": 4,
                      "biannual-governance-review": 2, "annual-scope-planning": 1}


def test_windows_are_exclusive_at_the_start_and_inclusive_at_the_end():
    plan = schedule(Stage.READINESS, date(2026, 1, 5))
    rule = CADENCE.rule("readiness-checkin")
    due = utc(2026, 1, 12, 10)
    assert kinds(occurrences(rule, plan, CADENCE, after=due - timedelta(seconds=1), until=due)) == ["readiness-checkin"]
    assert occurrences(rule, plan, CADENCE, after=due, until=due + timedelta(days=6)) == []


def test_next_due_looks_ahead_cheaply_even_after_years():
    plan = schedule(Stage.OPERATIONS, date(2016, 1, 5))
    rule = CADENCE.rule("annual-scope-planning")
    assert next_due(rule, plan, CADENCE, after=utc(2026, 2, 1)) == utc(2027, 1, 5, 10)
    launch_plan = schedule(Stage.LAUNCH, date(2026, 1, 5), launch=date(2026, 1, 5))
    assert next_due(CADENCE.rule("launch-review"), launch_plan, CADENCE, after=utc(2026, 3, 1)) is None


def test_reminders_land_on_working_days():
    plan = schedule(Stage.OPERATIONS, date(2026, 1, 5))
    thursday = utc(2026, 2, 5, 10)
    assert reminder_moment(thursday, 3, plan, CADENCE) == utc(2026, 2, 9, 10)  # Sunday -> Monday
    assert reminder_moment(thursday, 7, plan, CADENCE) == utc(2026, 2, 12, 10)


def test_a_disabled_rule_produces_nothing():
    cadence = dataclasses.replace(CADENCE, rules=tuple(dataclasses.replace(r, enabled=False) for r in CADENCE.rules))
    assert due_between(schedule(Stage.OPERATIONS, date(2026, 1, 5)), cadence, after=utc(2026, 1, 5),
                       until=utc(2027, 1, 1)) == []


def test_a_prompt_names_the_rules_roles_and_a_kpi_checkpoint_names_everyone_assigned_plus_required_vacancies():
    from bot.domain.cadence import mentioned_roles
    from bot.domain.vocabulary import REQUIRED_ROLES, Role

    monthly = CADENCE.rule("monthly-performance-review")
    assert mentioned_roles(monthly, {}) == [Role.BUSINESS_OWNER, Role.PRODUCT_MANAGER, Role.MLOPS_ENGINEER]
    checkpoint = CADENCE.rule("kpi-checkpoint")
    assert mentioned_roles(checkpoint, {}) == list(REQUIRED_ROLES)
    assert Role.EXECUTIVE_SPONSOR in mentioned_roles(checkpoint, {"executive_sponsor": "U1"})


def test_only_the_last_reminder_also_names_the_business_owner():
    from bot.domain.cadence import reminded_roles
    from bot.domain.vocabulary import Role

    handoff = CADENCE.rule("parallel-ops-review")  # names the owner already: never twice
    assert reminded_roles(handoff, {}, reminder=2, reminders=2).count(Role.BUSINESS_OWNER) == 1
    readiness = dataclasses.replace(CADENCE.rule("readiness-checkin"), mention=(Role.PILOT_LEAD,))
    assert reminded_roles(readiness, {}, reminder=1, reminders=2) == [Role.PILOT_LEAD]
    assert reminded_roles(readiness, {}, reminder=2, reminders=2) == [Role.PILOT_LEAD, Role.BUSINESS_OWNER]
    assert reminded_roles(readiness, {}, reminder=1, reminders=1) == [Role.PILOT_LEAD, Role.BUSINESS_OWNER]


def test_a_reminder_of_a_review_whose_rule_was_removed_from_the_cadence_still_reaches_the_owner_at_last():
    from bot.domain.cadence import reminded_roles
    from bot.domain.vocabulary import Role

    assert reminded_roles(None, {"business_owner": "U1"}, reminder=1, reminders=2) == []
    assert reminded_roles(None, {"business_owner": "U1"}, reminder=2, reminders=2) == [Role.BUSINESS_OWNER]


def test_an_import_five_weeks_into_launch_finds_the_launch_reviews_that_fell_due_before_it():
    launch = date(2026, 1, 5)  # a Monday
    found = before_import(schedule(Stage.LAUNCH, launch, launch=launch), CADENCE,
                          imported_at=utc(2026, 2, 10, 12))  # 5 weeks and a day later
    assert [o.nominal for o in found if o.kind == "launch-review"] == [
        launch + timedelta(days=7 * week) for week in range(1, 6)]
    assert [o.nominal for o in found if o.kind == "kpi-checkpoint"] == [launch + timedelta(days=30)]
    # An import on the day the stage began has nothing before it.
    assert before_import(schedule(Stage.LAUNCH, launch, launch=launch), CADENCE, imported_at=utc(2026, 1, 5, 9)) == []


def test_an_old_operations_import_keeps_at_most_a_year_of_each_kind():
    found = before_import(schedule(Stage.OPERATIONS, date(2020, 1, 6)), CADENCE, imported_at=utc(2026, 1, 5, 12))
    assert kinds(found).count("monthly-performance-review") == 52
    assert kinds(found).count("annual-scope-planning") == 5


def test_a_review_is_overdue_fourteen_days_after_it_fell_due():
    due = utc(2026, 3, 2, 9)
    assert not is_overdue(due, now=due + timedelta(days=13, hours=23))
    assert is_overdue(due, now=due + timedelta(days=14))


def test_compliance_counts_on_time_out_of_owed_over_ninety_days():
    now = utc(2026, 6, 1, 12)
    day = timedelta(days=1)
    rows = [
        (now - 100 * day, ReviewStatus.COMPLETED, now - 99 * day),  # outside the window
        (now - 80 * day, ReviewStatus.COMPLETED, now - 79 * day),  # on time
        (now - 60 * day, ReviewStatus.COMPLETED, now - 50 * day),  # late
        (now - 40 * day, ReviewStatus.SKIPPED, now - 10 * day),  # superseded after its grace: owed, missed
        (now - 30 * day, ReviewStatus.SKIPPED, now - 29 * day),  # its stage ended within its grace: not owed
        (now - 20 * day, ReviewStatus.POSTED, None),  # open past its grace: owed
        (now - 2 * day, ReviewStatus.POSTED, None),  # open within its grace: not owed yet
    ]
    assert compliance(rows, now=now) == Compliance(on_time=1, due=4)
    assert Compliance(1, 4).percent == 25 and Compliance(0, 0).percent is None
