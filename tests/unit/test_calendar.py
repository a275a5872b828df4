"""Business calendar: working days, business-time arithmetic, holidays, DST and validation.

Expected values come from three independent places: hand reasoning (the
examples from the product design, each with its arithmetic in a comment), the
``holidays`` package queried directly (to pin which dates are holidays), and
a brute-force reference that steps minute by minute through local wall-clock
time (compared against the implementation on random inputs).
"""

from __future__ import annotations

import functools
import math
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from secdesk.domain import calendar as calendar_module
from secdesk.domain.calendar import BusinessCalendar
from secdesk.domain.errors import DomainError, InvalidInput

# No example database (shared checkout); no deadline (holiday tables are built
# lazily on first use, which makes some first examples slow).
PROPERTY = settings(database=None, deadline=None, max_examples=150)
REFERENCE = settings(database=None, deadline=None, max_examples=60)

UTC_DESK = BusinessCalendar()
BAVARIA = BusinessCalendar(timezone="Europe/Berlin", country="DE", subdivision="BY")
US = BusinessCalendar(timezone="America/New_York", country="US")
TURKEY = BusinessCalendar(timezone="Europe/Istanbul", country="TR")
ENGLAND = BusinessCalendar(timezone="Europe/London", country="GB", subdivision="ENG")
ISRAEL = BusinessCalendar(timezone="Asia/Jerusalem", country="IL")
MORNINGS = BusinessCalendar(start=time(8, 30), end=time(12, 0))  # 3.5 h day
SHORT_DAY = BusinessCalendar(timezone="America/New_York", workday_hours=2)
LONG_DAY = BusinessCalendar(timezone="Europe/Berlin", country="DE", workday_hours=20)

#: Calendars with ordinary (daytime) working hours: every property holds.
CALENDARS = [UTC_DESK, BAVARIA, US, TURKEY, ENGLAND, ISRAEL, MORNINGS, SHORT_DAY, LONG_DAY]

#: Calendars whose working hours contain a DST change on some working day
#: (Sunday is a working day in IL; the zone's clocks change on Sundays).
NIGHT_SHIFTS = [
    BusinessCalendar(timezone="Europe/Berlin", country="IL", start=time(1, 30), end=time(4, 0)),
    BusinessCalendar(timezone="Asia/Jerusalem", country="IL", start=time(0, 30), end=time(3, 0)),
    BusinessCalendar(timezone="America/New_York", country="IL", start=time(1, 0), end=time(3, 0)),
]

ZONES = [ZoneInfo(name) for name in ("UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Asia/Kolkata")]


def local(calendar: BusinessCalendar, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A wall-clock time in the calendar's zone."""
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(calendar.timezone))


# -- the examples from the product design ----------------------------------------------
# 2026-06-01 is a Monday; the UTC desk has no holidays.


@pytest.mark.parametrize(
    ("submitted", "due"),
    [
        # 7 h on Monday (10-17) + 1 h on Tuesday.
        ((2026, 6, 1, 10), (2026, 6, 2, 10)),
        # 1 h on Friday + 7 h on Monday.
        ((2026, 6, 5, 16), (2026, 6, 8, 16)),
        # Saturday and Sunday accrue nothing; all 8 h on Monday.
        ((2026, 6, 6, 0), (2026, 6, 8, 17)),
        ((2026, 6, 6, 13, 45), (2026, 6, 8, 17)),
        ((2026, 6, 7, 23, 59), (2026, 6, 8, 17)),
        # Before opening: starts at 09:00, exactly a full day → closing time, not Tuesday 09:00.
        ((2026, 6, 1, 8), (2026, 6, 1, 17)),
        ((2026, 6, 1, 9), (2026, 6, 1, 17)),
        # After closing: all of Tuesday.
        ((2026, 6, 1, 17, 30), (2026, 6, 2, 17)),
        ((2026, 6, 1, 17), (2026, 6, 2, 17)),
        # 1 minute on Monday, 7 h 59 min on Tuesday.
        ((2026, 6, 1, 16, 59), (2026, 6, 2, 16, 59)),
        # Friday after closing → all of Monday.
        ((2026, 6, 5, 18), (2026, 6, 8, 17)),
    ],
)
def test_design_examples(submitted: tuple[int, ...], due: tuple[int, ...]) -> None:
    assert UTC_DESK.acknowledgement_due(local(UTC_DESK, *submitted)) == local(UTC_DESK, *due)


def test_due_moment_is_in_the_calendar_zone() -> None:
    due = BAVARIA.acknowledgement_due(datetime(2026, 6, 1, 8, 0, tzinfo=UTC))
    assert due.tzinfo == ZoneInfo("Europe/Berlin")


def test_moment_in_another_zone_is_converted_first() -> None:
    # 08:00 UTC is 10:00 in Berlin (CEST): 7 h Monday + 1 h Tuesday → Tue 10:00 CEST.
    due = BAVARIA.acknowledgement_due(datetime(2026, 6, 1, 8, 0, tzinfo=UTC))
    assert due == local(BAVARIA, 2026, 6, 2, 10)
    assert due.utcoffset() == timedelta(hours=2)
    # Sunday 23:30 in New York is already Monday 05:30 in Berlin: all of Monday.
    sunday_night = datetime(2026, 5, 31, 23, 30, tzinfo=ZoneInfo("America/New_York"))
    assert BAVARIA.acknowledgement_due(sunday_night) == local(BAVARIA, 2026, 6, 1, 17)
    # Monday 01:00 UTC is still Sunday 21:00 in New York: all of Monday there.
    assert US.acknowledgement_due(datetime(2026, 6, 1, 1, tzinfo=UTC)) == local(US, 2026, 6, 1, 17)


# -- holidays in several countries, 2026-2027 --------------------------------------------


def test_the_holiday_package_agrees_with_the_dates_we_rely_on() -> None:
    """Pin the facts the examples below build on, straight from ``holidays``."""
    by = holidays.country_holidays("DE", subdiv="BY", years=[2026, 2027])
    assert by[date(2026, 4, 3)] == "Karfreitag"
    assert by[date(2026, 4, 6)] == "Ostermontag"
    assert by[date(2027, 3, 26)] == "Karfreitag"
    assert by[date(2027, 3, 29)] == "Ostermontag"
    us = holidays.country_holidays("US", years=[2026, 2027])
    assert us[date(2026, 11, 26)] == "Thanksgiving Day"
    assert date(2026, 11, 27) not in us
    assert us[date(2027, 7, 5)] == "Independence Day (observed)"
    assert us[date(2027, 12, 24)] == "Christmas Day (observed)"
    gb = holidays.country_holidays("GB", subdiv="ENG", years=[2026, 2027])
    assert gb[date(2026, 12, 25)] == "Christmas Day"
    assert gb[date(2026, 12, 28)] == "Boxing Day (observed)"  # 26th is a Saturday
    assert gb[date(2027, 12, 27)] == "Christmas Day (observed)"
    assert gb[date(2027, 12, 28)] == "Boxing Day (observed)"
    tr = holidays.country_holidays("TR", years=[2026, 2027])
    assert tr[date(2026, 10, 29)] == "Cumhuriyet Bayram\u0131"  # Republic Day
    assert tr[date(2027, 10, 29)] == "Cumhuriyet Bayram\u0131"  # Republic Day
    assert {date(2026, 5, 27), date(2026, 5, 28), date(2026, 5, 29)} <= set(tr)
    # The afternoon before Republic Day is only a half-day holiday: not a public one.
    assert date(2026, 10, 28) not in tr
    assert holidays.country_holidays("IL").weekend == {4, 5}


@pytest.mark.parametrize(
    ("calendar", "submitted", "due"),
    [
        # DE-BY: Thu 7 h, Good Friday, weekend, Easter Monday, Tue 1 h.
        (BAVARIA, (2026, 4, 2, 10), (2026, 4, 7, 10)),
        # 2027: Easter weekend coincides with the spring-forward Sunday (28 March).
        (BAVARIA, (2027, 3, 25, 10), (2027, 3, 30, 10)),
        # Epiphany (Tue 2026-01-06) is a holiday in Bavaria: Mon 1 h + Wed 7 h.
        (BAVARIA, (2026, 1, 5, 16), (2026, 1, 7, 16)),
        # US Thanksgiving: Wed 2 h, Thu holiday, Fri 6 h.
        (US, (2026, 11, 25, 15), (2026, 11, 27, 15)),
        (US, (2027, 11, 24, 15), (2027, 11, 26, 15)),
        # Independence Day 2027 falls on Sunday, observed Monday: Fri 5 h, Tue 3 h.
        (US, (2027, 7, 2, 12), (2027, 7, 6, 12)),
        # Christmas 2027 observed Friday 24th: Thu 5 h, Mon 3 h.
        (US, (2027, 12, 23, 12), (2027, 12, 27, 12)),
        # TR Republic Day (Thu 2026-10-29): Wed 3 h (half-day eve still counts), Fri 5 h.
        (TURKEY, (2026, 10, 28, 14), (2026, 10, 30, 14)),
        # 2027 Republic Day is a Friday: Thu 2 h, Mon 6 h.
        (TURKEY, (2027, 10, 28, 15), (2027, 11, 1, 15)),
        # Kurban Bayrami (Feast of the Sacrifice) 2026 (Wed-Sat): Tue 7 h, Mon 1 h.
        (TURKEY, (2026, 5, 26, 10), (2026, 6, 1, 10)),
        # GB-ENG: Thu 24th 5 h; Fri Christmas; weekend; Mon 28th Boxing Day (observed); Tue 3 h.
        (ENGLAND, (2026, 12, 24, 12), (2026, 12, 29, 12)),
        # 2027: 25/26 on the weekend, observed Mon 27 and Tue 28: Fri 5 h, Wed 3 h.
        (ENGLAND, (2027, 12, 24, 12), (2027, 12, 29, 12)),
        # IL weekend is Friday/Saturday: Thu 5 h, Sun 3 h.
        (ISRAEL, (2026, 6, 4, 12), (2026, 6, 7, 12)),
        # Friday in Israel is like Saturday elsewhere: all of Sunday.
        (ISRAEL, (2026, 6, 5, 10), (2026, 6, 7, 17)),
        # Sunday is an ordinary working day in Israel.
        (ISRAEL, (2026, 6, 7, 10), (2026, 6, 8, 10)),
    ],
)
def test_holidays_and_weekends(calendar: BusinessCalendar, submitted: tuple[int, ...], due: tuple[int, ...]) -> None:
    assert calendar.acknowledgement_due(local(calendar, *submitted)) == local(calendar, *due)


@pytest.mark.parametrize(
    ("calendar", "day", "working"),
    [
        (UTC_DESK, date(2026, 12, 25), True),  # no country: no public holidays
        (UTC_DESK, date(2026, 12, 26), False),
        (BAVARIA, date(2026, 4, 3), False),
        (BAVARIA, date(2026, 1, 6), False),  # Epiphany: Bavaria only
        (BusinessCalendar(country="DE", subdivision="BE"), date(2026, 1, 6), True),
        (ENGLAND, date(2026, 12, 28), False),
        (ENGLAND, date(2026, 12, 29), True),
        (TURKEY, date(2026, 10, 29), False),
        (TURKEY, date(2026, 10, 28), True),
        (ISRAEL, date(2026, 6, 5), False),  # Friday
        (ISRAEL, date(2026, 6, 6), False),  # Saturday
        (ISRAEL, date(2026, 6, 7), True),  # Sunday
        (US, date(2026, 11, 26), False),
        # Later years expand lazily from the cached table.
        (ENGLAND, date(2035, 12, 25), False),
        (ENGLAND, date(2041, 12, 27), True),
        (US, date(2040, 7, 4), False),
        (BusinessCalendar(country="de"), date(2026, 10, 3), False),  # country code case-insensitive
    ],
)
def test_is_working_day(calendar: BusinessCalendar, day: date, working: bool) -> None:
    assert calendar.is_working_day(day) is working


def test_holiday_tables_are_cached_per_country_and_subdivision() -> None:
    by = calendar_module._country_holidays("DE", "BY")
    assert calendar_module._country_holidays("DE", "BY") is by
    assert calendar_module._country_holidays("DE", "BE") is not by
    BusinessCalendar(country="DE", subdivision="BY").is_working_day(date(2031, 1, 1))
    assert calendar_module._country_holidays("DE", "BY") is by
    assert 2031 in by.years


# -- other working hours -------------------------------------------------------------


@pytest.mark.parametrize(
    ("calendar", "submitted", "due"),
    [
        # 08:30-12:00, 3.5 h day: Mon 2 h + Tue 1.5 h.
        (MORNINGS, (2026, 6, 1, 10), (2026, 6, 2, 10)),
        # Afternoon counts nothing: all of Tuesday's 3.5 h.
        (MORNINGS, (2026, 6, 1, 12), (2026, 6, 2, 12)),
        (MORNINGS, (2026, 6, 1, 15), (2026, 6, 2, 12)),
        (MORNINGS, (2026, 6, 1, 7), (2026, 6, 1, 12)),
        (MORNINGS, (2026, 6, 1, 8, 30), (2026, 6, 1, 12)),
        # Fri 1 h + Mon 2.5 h.
        (MORNINGS, (2026, 6, 5, 11), (2026, 6, 8, 11)),
        # A "working day" of 2 h inside 09:00-17:00: Mon 16:00 → 1 h + Tue 1 h.
        (SHORT_DAY, (2026, 6, 1, 16), (2026, 6, 2, 10)),
        (SHORT_DAY, (2026, 6, 1, 15), (2026, 6, 1, 17)),
        (SHORT_DAY, (2026, 6, 6, 15), (2026, 6, 8, 11)),
        # 20 h = 8 + 8 + 4 spread over three days (DE: Mon 2026-06-01 is no holiday).
        (LONG_DAY, (2026, 6, 1, 9), (2026, 6, 3, 13)),
    ],
)
def test_other_working_hours(calendar: BusinessCalendar, submitted: tuple[int, ...], due: tuple[int, ...]) -> None:
    assert calendar.acknowledgement_due(local(calendar, *submitted)) == local(calendar, *due)


def test_workday_length() -> None:
    assert UTC_DESK.workday_length == timedelta(hours=8)
    assert MORNINGS.workday_length == timedelta(hours=3, minutes=30)
    assert SHORT_DAY.workday_length == timedelta(hours=2)
    assert BusinessCalendar(workday_hours=7.75).workday_length == timedelta(hours=7, minutes=45)


# -- daylight saving time --------------------------------------------------------------


def test_fall_back_weekend_keeps_wall_clock_times() -> None:
    # Clocks go back on Sunday 2026-10-25: Fri 16:00 CEST → Mon 16:00 CET.
    due = BAVARIA.acknowledgement_due(local(BAVARIA, 2026, 10, 23, 16))
    assert due == local(BAVARIA, 2026, 10, 26, 16)
    assert due.utcoffset() == timedelta(hours=1)
    assert due.isoformat() == "2026-10-26T16:00:00+01:00"


def test_spring_forward_weekend_keeps_wall_clock_times() -> None:
    # Clocks go forward on Sunday 2026-03-29: Fri 16:00 CET → Mon 16:00 CEST (71 real hours later).
    submitted = local(BAVARIA, 2026, 3, 27, 16)
    due = BAVARIA.acknowledgement_due(submitted)
    assert due.isoformat() == "2026-03-30T16:00:00+02:00"
    assert due.astimezone(UTC) - submitted.astimezone(UTC) == timedelta(hours=71)
    assert BAVARIA.business_time_between(submitted, due) == timedelta(hours=8)


def test_us_clock_changes() -> None:
    # US clocks change on 2026-03-08 and 2026-11-01 (Sundays).
    assert US.acknowledgement_due(local(US, 2026, 3, 6, 13)).isoformat() == "2026-03-09T13:00:00-04:00"
    assert US.acknowledgement_due(local(US, 2026, 10, 30, 13)).isoformat() == "2026-11-02T13:00:00-05:00"


def test_working_hours_starting_in_a_skipped_hour() -> None:
    # Berlin skips 02:00-03:00 on Sunday 2026-03-29 (a working day under IL rules).
    calendar = BusinessCalendar(timezone="Europe/Berlin", country="IL", start=time(2, 30), end=time(4, 0))
    zone = ZoneInfo("Europe/Berlin")
    # 02:30 does not exist; it is read as 03:30 CEST, so the window is 03:30-04:00.
    saturday = datetime(2026, 3, 28, 12, tzinfo=zone)
    monday = datetime(2026, 3, 30, 0, tzinfo=zone)
    assert calendar.business_time_between(saturday, monday) == timedelta(minutes=30)
    due = calendar.add_business_time(saturday, timedelta(minutes=10))
    assert due.isoformat() == "2026-03-29T03:40:00+02:00"
    # 1.5 h needs the 30 min of Sunday and 1 h of Monday (02:30-03:30 CEST).
    assert calendar.acknowledgement_due(saturday).isoformat() == "2026-03-30T03:30:00+02:00"
    # A submission at the skipped wall time itself is fine too.
    # (02:45 reads as 03:45 CEST: 10 minutes later is 03:55, 20 minutes spill into Monday.)
    skipped = datetime(2026, 3, 29, 2, 45, tzinfo=zone)
    assert calendar.add_business_time(skipped, timedelta(minutes=10)).isoformat() == "2026-03-29T03:55:00+02:00"
    assert calendar.add_business_time(skipped, timedelta(minutes=20)).isoformat() == "2026-03-30T02:35:00+02:00"


def test_working_hours_swallowed_by_a_skipped_hour_are_empty() -> None:
    calendar = BusinessCalendar(timezone="Europe/Berlin", country="IL", start=time(2, 0), end=time(3, 0))
    zone = ZoneInfo("Europe/Berlin")
    sunday = datetime(2026, 3, 29, 0, tzinfo=zone)
    assert calendar.business_time_between(sunday, sunday + timedelta(hours=12)) == timedelta(0)
    # Nothing accrues on Sunday; Monday's 02:00-03:00 is the next working hour.
    assert calendar.acknowledgement_due(sunday).isoformat() == "2026-03-30T03:00:00+02:00"


def test_working_hours_across_a_repeated_hour() -> None:
    # Jerusalem repeats 01:00-02:00 on Sunday 2026-10-25 (a working day in Israel).
    calendar = BusinessCalendar(timezone="Asia/Jerusalem", country="IL", start=time(1, 0), end=time(3, 0))
    zone = ZoneInfo("Asia/Jerusalem")
    midnight = datetime(2026, 10, 25, 0, tzinfo=zone)
    # 01:00 (first occurrence, +03:00) to 03:00 (+02:00) is three real hours.
    assert calendar.business_time_between(midnight, midnight + timedelta(days=1)) == timedelta(hours=3)
    assert calendar.add_business_time(midnight, timedelta(hours=2, minutes=30)).isoformat() == (
        "2026-10-25T02:30:00+02:00"
    )
    # The repeated 01:30: its second occurrence is one real hour after the first.
    first = datetime(2026, 10, 25, 1, 30, tzinfo=zone, fold=0)
    second = datetime(2026, 10, 25, 1, 30, tzinfo=zone, fold=1)
    closing = datetime(2026, 10, 25, 3, 0, tzinfo=zone)
    assert calendar.business_time_between(first, closing) == timedelta(hours=2, minutes=30)
    assert calendar.business_time_between(second, closing) == timedelta(hours=1, minutes=30)
    assert calendar.add_business_time(first, timedelta(minutes=30)).isoformat() == "2026-10-25T01:00:00+02:00"


# -- other contracts ---------------------------------------------------------------------


def test_zero_duration_is_the_moment_itself() -> None:
    saturday = datetime(2026, 6, 6, 12, tzinfo=UTC)
    assert UTC_DESK.add_business_time(saturday, timedelta(0)) == saturday
    assert BAVARIA.add_business_time(saturday, timedelta(0)).tzinfo == ZoneInfo("Europe/Berlin")


def test_naive_moments_and_negative_durations_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        UTC_DESK.acknowledgement_due(datetime(2026, 6, 1, 10))
    with pytest.raises(ValueError, match="timezone-aware"):
        UTC_DESK.business_time_between(datetime(2026, 6, 1, 10), datetime(2026, 6, 1, 11, tzinfo=UTC))
    with pytest.raises(ValueError, match="negative"):
        UTC_DESK.add_business_time(datetime(2026, 6, 1, 10, tzinfo=UTC), timedelta(seconds=-1))


def test_business_time_between() -> None:
    monday = local(UTC_DESK, 2026, 6, 1, 10)
    assert UTC_DESK.business_time_between(monday, local(UTC_DESK, 2026, 6, 1, 12)) == timedelta(hours=2)
    assert UTC_DESK.business_time_between(monday, monday) == timedelta(0)
    # Mon 7 h + Tue..Fri 32 h + weekend 0 + Mon 1 h.
    assert UTC_DESK.business_time_between(monday, local(UTC_DESK, 2026, 6, 8, 10)) == timedelta(hours=40)
    # Reversed order gives the negative.
    assert UTC_DESK.business_time_between(local(UTC_DESK, 2026, 6, 2, 10), monday) == -timedelta(hours=8)
    # Entirely outside working hours.
    saturday = local(UTC_DESK, 2026, 6, 6, 0)
    assert UTC_DESK.business_time_between(saturday, saturday + timedelta(days=2)) == timedelta(0)
    # A whole (non-leap) year of the UTC desk: 261 weekdays in 2026.
    year = UTC_DESK.business_time_between(local(UTC_DESK, 2026, 1, 1), local(UTC_DESK, 2027, 1, 1))
    assert year == timedelta(hours=8 * 261)


def test_a_calendar_without_working_time_is_refused_not_looped_on() -> None:
    never_open = BusinessCalendar(start=time(9), end=time(9), workday_hours=1)
    with pytest.raises(DomainError, match="no working time"):
        never_open.acknowledgement_due(datetime(2026, 6, 1, tzinfo=UTC))


# -- parsing and validation ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "hours"),
    [
        ("09:00-17:00", (time(9), time(17))),
        ("9:00-17:30", (time(9), time(17, 30))),
        (" 08:30 - 12:00 ", (time(8, 30), time(12))),
        ("08:30\u201312:00", (time(8, 30), time(12))),  # en dash
        ("00:00-23:59", (time(0), time(23, 59))),
    ],
)
def test_parse_hours(text: str, hours: tuple[time, time]) -> None:
    assert BusinessCalendar.parse_hours(text) == hours


@pytest.mark.parametrize(
    "text",
    ["", "9-17", "09:00", "09:00-", "09:00-17", "0900-1700", "09.00-17.00", "09:00-17:00-18:00", "nine-five",
     "25:00-26:00", "09:60-17:00", "09:00-24:00", "17:00-09:00", "09:00-09:00"],
)  # fmt: skip
def test_parse_hours_refuses(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        BusinessCalendar.parse_hours(text)
    assert [error.field for error in caught.value.errors] == ["hours"]


@pytest.mark.parametrize(
    "calendar", [UTC_DESK, BAVARIA, US, TURKEY, ENGLAND, ISRAEL, MORNINGS, BusinessCalendar(country="de")]
)
def test_validate_accepts(calendar: BusinessCalendar) -> None:
    calendar.validate()


@pytest.mark.parametrize(
    ("calendar", "fields"),
    [
        (BusinessCalendar(timezone="Mars/Olympus_Mons"), ["timezone"]),
        (BusinessCalendar(timezone=""), ["timezone"]),
        (BusinessCalendar(timezone="../etc/passwd"), ["timezone"]),
        (BusinessCalendar(country="XX"), ["country"]),
        (BusinessCalendar(country="XX", subdivision="YY"), ["country"]),
        (BusinessCalendar(country="DE", subdivision="ZZ"), ["subdivision"]),
        (BusinessCalendar(subdivision="BY"), ["subdivision"]),
        (BusinessCalendar(start=time(17), end=time(9)), ["hours"]),
        (BusinessCalendar(start=time(9), end=time(9)), ["hours"]),
        (BusinessCalendar(workday_hours=0), ["hours"]),
        (BusinessCalendar(workday_hours=-1), ["hours"]),
        (BusinessCalendar(workday_hours=math.nan), ["hours"]),
        (BusinessCalendar(workday_hours=math.inf), ["hours"]),
        (
            BusinessCalendar(timezone="Nowhere", country="DE", subdivision="ZZ", start=time(18)),
            ["timezone", "subdivision", "hours"],
        ),
    ],
)
def test_validate_reports_each_field(calendar: BusinessCalendar, fields: list[str]) -> None:
    with pytest.raises(InvalidInput) as caught:
        calendar.validate()
    assert [error.field for error in caught.value.errors] == fields
    assert all(error.message for error in caught.value.errors)


def test_using_an_invalid_calendar_raises_invalid_input() -> None:
    monday = datetime(2026, 6, 1, 10, tzinfo=UTC)
    with pytest.raises(InvalidInput) as caught:
        BusinessCalendar(timezone="Nowhere").acknowledgement_due(monday)
    assert caught.value.errors[0].field == "timezone"
    with pytest.raises(InvalidInput) as caught:
        BusinessCalendar(country="XX").acknowledgement_due(monday)
    assert caught.value.errors[0].field == "country"
    with pytest.raises(InvalidInput) as caught:
        BusinessCalendar(country="DE", subdivision="ZZ").is_working_day(date(2026, 6, 1))
    assert caught.value.errors[0].field == "subdivision"


# -- properties -----------------------------------------------------------------------------

moments = st.datetimes(
    min_value=datetime(2025, 12, 1), max_value=datetime(2027, 12, 31), timezones=st.sampled_from(ZONES)
)


def local_wall(calendar: BusinessCalendar, moment: datetime) -> datetime:
    return moment.astimezone(ZoneInfo(calendar.timezone))


@PROPERTY
@given(st.sampled_from(CALENDARS), moments)
def test_due_is_later_by_exactly_one_working_day_inside_working_hours(
    calendar: BusinessCalendar, submitted: datetime
) -> None:
    due = calendar.acknowledgement_due(submitted)
    assert due > submitted
    assert calendar.business_time_between(submitted, due) == calendar.workday_length
    wall = local_wall(calendar, due)
    assert due.tzinfo == ZoneInfo(calendar.timezone)
    assert calendar.is_working_day(wall.date())
    # Strictly after opening (some time accrued that day), at the latest at closing time.
    assert calendar.start < wall.time() <= calendar.end


@PROPERTY
@given(st.sampled_from(CALENDARS + NIGHT_SHIFTS), moments, moments)
def test_due_is_monotonic(calendar: BusinessCalendar, x: datetime, y: datetime) -> None:
    x, y = sorted([x, y])
    assert calendar.acknowledgement_due(x) <= calendar.acknowledgement_due(y)


@PROPERTY
@given(
    st.sampled_from(CALENDARS + NIGHT_SHIFTS),
    moments,
    st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(hours=30)),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=30)),
)
def test_adding_is_consistent_with_measuring(
    calendar: BusinessCalendar, x: datetime, first: timedelta, second: timedelta
) -> None:
    after_first = calendar.add_business_time(x, first)
    assert after_first > x
    assert calendar.business_time_between(x, after_first) == first
    # Adding in two steps is adding the sum.
    both = calendar.add_business_time(after_first, second)
    assert both == calendar.add_business_time(x, first + second)
    assert calendar.business_time_between(x, both) == first + second


@PROPERTY
@given(st.sampled_from(CALENDARS + NIGHT_SHIFTS), moments, moments, moments)
def test_measuring_is_additive_and_antisymmetric(
    calendar: BusinessCalendar, a: datetime, b: datetime, c: datetime
) -> None:
    ab = calendar.business_time_between(a, b)
    assert calendar.business_time_between(b, a) == -ab
    assert ab + calendar.business_time_between(b, c) == calendar.business_time_between(a, c)
    # Never more business time than real time.
    assert abs(ab) <= abs(b.astimezone(UTC) - a.astimezone(UTC))


# -- brute-force reference ------------------------------------------------------------------

MINUTE = timedelta(minutes=1)


@functools.cache
def reference_working_day(country: str | None, subdivision: str | None, day: date) -> bool:
    """The design's definition, straight from ``holidays`` (a fresh table, not the cached one)."""
    if country is None:
        return day.weekday() < 5
    table = _reference_table(country, subdivision)
    return day.weekday() not in table.weekend and day not in table


@functools.cache
def _reference_table(country: str, subdivision: str | None) -> holidays.HolidayBase:
    return holidays.country_holidays(country, subdiv=subdivision, years=range(2025, 2029))


def reference_working_minute(calendar: BusinessCalendar, instant: datetime) -> bool:
    """Does the minute starting at ``instant`` (UTC) lie in working time, by local wall clock?"""
    wall = instant.astimezone(ZoneInfo(calendar.timezone))
    return (
        reference_working_day(calendar.country, calendar.subdivision, wall.date())
        and calendar.start <= wall.time() < calendar.end
    )


def reference_add(calendar: BusinessCalendar, moment: datetime, minutes: int) -> datetime:
    """Step minute by minute until ``minutes`` working minutes have passed."""
    instant, counted = moment.astimezone(UTC), 0
    while True:
        if reference_working_minute(calendar, instant):
            counted += 1
            if counted == minutes:
                return instant + MINUTE
        instant += MINUTE


def reference_between(calendar: BusinessCalendar, a: datetime, b: datetime) -> timedelta:
    instant, end, counted = a.astimezone(UTC), b.astimezone(UTC), 0
    while instant < end:
        counted += reference_working_minute(calendar, instant)
        instant += MINUTE
    return counted * MINUTE


# Minute-aligned instants, biased towards the holiday seasons of the examples.
reference_moments = st.one_of(
    st.integers(0, 2 * 366 * 24 * 60).map(lambda m: datetime(2026, 1, 1, tzinfo=UTC) + m * MINUTE),
    st.sampled_from([date(2026, 4, 1), date(2026, 10, 22), date(2026, 11, 24), date(2026, 12, 22),
                     date(2027, 3, 24), date(2026, 5, 25), date(2026, 3, 26)]).flatmap(
        lambda day: st.integers(0, 4 * 24 * 60).map(
            lambda m: datetime.combine(day, time(0), tzinfo=UTC) + m * MINUTE
        )
    ),
)  # fmt: skip


@REFERENCE
@given(st.sampled_from(CALENDARS), reference_moments)
def test_acknowledgement_due_matches_the_reference(calendar: BusinessCalendar, submitted: datetime) -> None:
    minutes = calendar.workday_length // MINUTE
    assert calendar.acknowledgement_due(submitted) == reference_add(calendar, submitted, minutes)


@REFERENCE
@given(st.sampled_from(CALENDARS), reference_moments, st.integers(1, 3 * 8 * 60))
def test_add_business_time_matches_the_reference(calendar: BusinessCalendar, submitted: datetime, minutes: int) -> None:
    assert calendar.add_business_time(submitted, minutes * MINUTE) == reference_add(calendar, submitted, minutes)


@REFERENCE
@given(st.sampled_from(CALENDARS), reference_moments, st.integers(0, 6 * 24 * 60))
def test_business_time_between_matches_the_reference(calendar: BusinessCalendar, a: datetime, span: int) -> None:
    b = a + span * MINUTE
    assert calendar.business_time_between(a, b) == reference_between(calendar, a, b)
