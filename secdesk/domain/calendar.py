"""Business calendars: when the desk's clocks (acknowledgement and response targets) run.

Business time accrues only inside the working hours of working days, in the
calendar's own time zone. A working day is one that is neither a weekend day nor
a public holiday of the configured country (and subdivision), as the
``holidays`` package knows them.

How time is measured, and the decisions behind it:

* Working hours are wall-clock times. Each day's window is built by combining
  the date with the opening/closing time in the calendar's zone and converting
  to UTC, and all arithmetic happens in UTC. That keeps daylight-saving changes
  harmless: a weekend clock change does not move Monday's 16:00, and a local
  time that does not exist (spring forward) or exists twice (fall back) still
  maps to one definite instant (``fold=0``: a skipped time is pushed forward
  by the gap, a repeated time means its first occurrence).
* Business time is real elapsed time inside those windows, so on the rare day
  whose clock changes *during* working hours the window is longer or shorter
  by the shift.
* When accrual ends exactly at closing time the due moment is that closing
  time (17:00), not the next opening (09:00): it is the same amount of
  business time and the earlier, more honest wall-clock answer.
* Adding zero business time returns the moment itself (converted to the
  calendar's zone); it does not jump to the next opening.
"""

from __future__ import annotations

import functools
import math
import re
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from secdesk.domain.errors import DomainError, ErrorList, FieldError, InvalidInput

__all__ = ["BusinessCalendar"]

#: Weekend when no country is configured.
DEFAULT_WEEKEND: Final = frozenset({5, 6})  # Saturday, Sunday

# Longest run of days without any working time we scan before concluding the
# calendar never opens; real calendars never come close (the longest holiday
# stretches are about two weeks).
_MAX_IDLE_DAYS: Final = 3 * 366

_ONE_DAY: Final = timedelta(days=1)
_ZERO: Final = timedelta(0)

_HOURS_PATTERN: Final = re.compile(r"\s*(\d{1,2}):(\d{2})\s*[-\u2013]\s*(\d{1,2}):(\d{2})\s*")

# Holiday objects fill in a year the first time a date of that year is looked
# up (``expand=True``): the year is marked as known *before* it is populated,
# so a concurrent lookup could see an empty year and miss a holiday. Every
# lookup therefore goes through this lock.
_HOLIDAYS_LOCK: Final = threading.Lock()


@functools.lru_cache(maxsize=64)
def _country_holidays(country: str, subdivision: str | None) -> holidays.HolidayBase:
    """Build (once per process) the holiday table of a country/subdivision.

    Building one is slow (hundreds of rule evaluations per year), and calendars
    are created per request, so the table is shared. No years are given: the
    table expands lazily to whatever year is looked up.
    """
    return holidays.country_holidays(country, subdiv=subdivision)


def _zone(name: str) -> ZoneInfo:
    """Return the zone called ``name`` or raise InvalidInput for the ``timezone`` field."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        # ValueError: names that are not even well-formed paths ("", "../x").
        raise InvalidInput([FieldError("timezone", f"Unknown time zone {name!r}")]) from exc


def _require_aware(value: datetime, name: str) -> None:
    # A naive datetime has no defined instant; guessing a zone would silently
    # shift deadlines, so callers must say what they mean.
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")


@dataclass(frozen=True)
class BusinessCalendar:
    """Working days and hours of a desk, and arithmetic on business time.

    ``timezone`` is an IANA zone name. ``country`` is an ISO 3166 alpha-2 code
    understood by the ``holidays`` package (``None``: no public holidays and a
    Saturday/Sunday weekend) and ``subdivision`` one of its subdivisions.
    ``workday_hours`` is the length of "one working day" of business time,
    by default the length of the working hours.

    Construction does not check the configuration; call :meth:`validate` where
    it is entered. Methods that need an invalid part raise :class:`InvalidInput`.
    """

    timezone: str = "UTC"
    country: str | None = None
    subdivision: str | None = None
    start: time = time(9, 0)
    end: time = time(17, 0)
    workday_hours: float | None = None

    # -- configuration -----------------------------------------------------

    @classmethod
    def parse_hours(cls, text: str) -> tuple[time, time]:
        """Parse working hours written as ``"09:00-17:00"``.

        Raises InvalidInput (field ``hours``) when the text is malformed, a
        time is out of range, or the end is not after the start.
        """
        match = _HOURS_PATTERN.fullmatch(text)
        if match is None:
            raise InvalidInput([FieldError("hours", "Working hours must look like 09:00-17:00")])
        h1, m1, h2, m2 = (int(group) for group in match.groups())
        try:
            opens, closes = time(h1, m1), time(h2, m2)
        except ValueError as exc:
            raise InvalidInput([FieldError("hours", f"Invalid time in working hours {text.strip()!r}")]) from exc
        if closes <= opens:
            raise InvalidInput([FieldError("hours", "Working hours must end after they start")])
        return opens, closes

    def validate(self) -> None:
        """Check every part of the configuration, reporting all problems at once."""
        errors = ErrorList()
        try:
            _zone(self.timezone)
        except InvalidInput as exc:
            errors.errors.extend(exc.errors)

        if self.country is None:
            if self.subdivision is not None:
                errors.add("subdivision", "A subdivision needs a country")
        else:
            try:
                _country_holidays(self.country.upper(), None)
            except NotImplementedError:
                errors.add("country", f"Unknown country {self.country!r}")
            else:
                if self.subdivision is not None:
                    try:
                        _country_holidays(self.country.upper(), self.subdivision)
                    except NotImplementedError:
                        errors.add(
                            "subdivision",
                            f"Unknown subdivision {self.subdivision!r} of {self.country.upper()}",
                        )

        if self.end <= self.start:
            errors.add("hours", "Working hours must end after they start")
        if self.workday_hours is not None and not (math.isfinite(self.workday_hours) and self.workday_hours > 0):
            errors.add("hours", "The length of a working day must be a positive number of hours")
        errors.raise_if_any()

    @property
    def workday_length(self) -> timedelta:
        """Business time in one working day: ``workday_hours``, or the working hours' length."""
        if self.workday_hours is not None:
            return timedelta(hours=self.workday_hours)
        anchor = date(2000, 1, 1)  # any date: naive wall-clock difference of the hours
        return datetime.combine(anchor, self.end) - datetime.combine(anchor, self.start)

    @property
    def zone(self) -> ZoneInfo:
        """The calendar's time zone (InvalidInput if the name is unknown)."""
        return _zone(self.timezone)

    # -- days ----------------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        """Tell whether ``day`` is neither a weekend day nor a public holiday.

        The weekend is the country's (e.g. Friday/Saturday for IL). This uses
        ``holidays``' own working-day rule, which also honours weekends that
        changed over the years and weekend days officially worked in exchange
        for a bridge holiday.
        """
        if self.country is None:
            return day.weekday() not in DEFAULT_WEEKEND
        table = self._holidays()
        with _HOLIDAYS_LOCK:
            return bool(table.is_working_day(day))

    def _holidays(self) -> holidays.HolidayBase:
        if self.country is None:  # callers check first; this keeps the type narrow
            raise ValueError("calendar has no country")
        try:
            return _country_holidays(self.country.upper(), self.subdivision)
        except NotImplementedError as exc:
            # Either the country or the subdivision is unknown; validate() says
            # which (with field errors), the fallback only guards the impossible.
            self.validate()
            raise InvalidInput([FieldError("country", f"Unknown country {self.country!r}")]) from exc

    def _window(self, day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """Return the working hours of ``day`` as UTC instants (opening, closing).

        Each end is a wall-clock time made definite with ``fold=0`` and
        normalised through UTC. If a clock change squeezes the window to
        nothing (or inverts it), it is empty rather than negative.
        """
        opens = datetime.combine(day, self.start.replace(fold=0), tzinfo=zone).astimezone(UTC)
        closes = datetime.combine(day, self.end.replace(fold=0), tzinfo=zone).astimezone(UTC)
        return opens, max(opens, closes)

    # -- arithmetic ----------------------------------------------------------

    def add_business_time(self, moment: datetime, duration: timedelta) -> datetime:
        """Return the moment at which ``duration`` of business time has passed since ``moment``.

        ``moment`` must be timezone-aware (any zone); the result is in the
        calendar's zone. A moment outside working hours starts counting at the
        next opening. Raises DomainError if the calendar has no working time
        for three years after ``moment``.
        """
        _require_aware(moment, "moment")
        if duration < _ZERO:
            raise ValueError("duration must not be negative")
        zone = self.zone
        if duration == _ZERO:
            return moment.astimezone(zone)

        current = moment.astimezone(UTC)
        day = current.astimezone(zone).date()
        remaining = duration
        idle_days = 0
        while True:
            if self.is_working_day(day):
                opens, closes = self._window(day, zone)
                begin = max(current, opens)
                if begin < closes:
                    available = closes - begin
                    # "<=": accrual that ends exactly at closing time is due at
                    # closing time, not at the next opening.
                    if remaining <= available:
                        return (begin + remaining).astimezone(zone)
                    remaining -= available
                    idle_days = 0
                    day += _ONE_DAY
                    continue
            idle_days += 1
            if idle_days > _MAX_IDLE_DAYS:
                raise DomainError("The business calendar has no working time in the next three years")
            day += _ONE_DAY

    def business_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Return the business time from ``a`` to ``b`` (negative if ``b`` is before ``a``).

        Both must be timezone-aware. It is the inverse of
        :meth:`add_business_time`: ``business_time_between(x, add_business_time(x, d)) == d``.
        """
        _require_aware(a, "a")
        _require_aware(b, "b")
        if b < a:
            return -self.business_time_between(b, a)
        zone = self.zone
        lower, upper = a.astimezone(UTC), b.astimezone(UTC)
        day, last = lower.astimezone(zone).date(), upper.astimezone(zone).date()
        total = _ZERO
        while day <= last:
            if self.is_working_day(day):
                opens, closes = self._window(day, zone)
                overlap = min(upper, closes) - max(lower, opens)
                if overlap > _ZERO:
                    total += overlap
            day += _ONE_DAY
        return total

    def acknowledgement_due(self, submitted: datetime) -> datetime:
        """Return when a report submitted at ``submitted`` must be acknowledged: one working day later."""
        return self.add_business_time(submitted, self.workday_length)
