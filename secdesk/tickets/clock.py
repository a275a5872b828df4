"""The desk's business calendar, built once from settings."""

from __future__ import annotations

from functools import cache

from django.conf import settings

from secdesk.domain.calendar import BusinessCalendar


@cache
def _calendar(timezone: str, country: str | None, subdivision: str | None, hours: str) -> BusinessCalendar:
    start, end = BusinessCalendar.parse_hours(hours)
    calendar = BusinessCalendar(timezone=timezone, country=country, subdivision=subdivision, start=start, end=end)
    calendar.validate()
    return calendar


def desk_calendar() -> BusinessCalendar:
    conf = settings.CALENDAR
    return _calendar(conf["timezone"], conf["country"], conf["subdivision"], conf["hours"])
