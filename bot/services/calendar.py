"""Working days per initiative: weekends, plus the public holidays of its country (the holidays package)."""

from __future__ import annotations

from datetime import date
from functools import cache

from bot.domain.cadence import NonWorkingDay, Schedule, weekend
from storage.models import Initiative


@cache
def non_working_days(country: str | None) -> NonWorkingDay:
    """Return the rule for days a prompt does not post on: weekends, and the country's public holidays."""
    if not country:
        return weekend
    import holidays

    calendar = holidays.country_holidays(country)  # expands year by year as dates are asked about

    def closed(day: date) -> bool:
        return day.weekday() >= 5 or day in calendar

    return closed


def schedule_for(initiative: Initiative) -> Schedule:
    """The cadence's view of an initiative."""
    return Schedule(stage=initiative.stage, stage_entered_at=initiative.stage_entered_at,
                    timezone=initiative.timezone, launch_date=initiative.launch_date,
                    non_working=non_working_days(initiative.holiday_country))
