"""Building blocks of the dashboard's aggregate queries, the same SQL on SQLite and PostgreSQL.

* :func:`week_starts`: the ISO weeks of a period in the reader's timezone;
  :func:`week_index` puts a timestamp column into one of them with a few
  plain comparisons (no time-zone function in SQL, exact across DST);
* :class:`Hours`: the hours between two timestamp columns, in each
  database's own arithmetic (no Python function called per row);
* :data:`DELAY_BINS` / :func:`delay_bin`: a delay in hours as a narrow bin
  number, so that a ``GROUP BY`` returns a histogram fine enough to read
  percentiles from (:func:`percentile`) without sorting the rows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from django.db.models import Case, DateTimeField, Expression, F, FloatField, Func, IntegerField, Value, When
from django.db.models.functions import Greatest, Least

__all__ = [
    "DELAY_BINS",
    "Bin",
    "Hours",
    "Week",
    "delay_bin",
    "percentile",
    "week_index",
    "week_starts",
]


@dataclass(frozen=True)
class Week:
    """One ISO week in the reader's timezone: ``[start, end)``; ``partial`` for the current one."""

    index: int
    start: datetime
    end: datetime
    partial: bool

    @property
    def monday(self) -> date:
        return self.start.date()


def week_starts(now: datetime, zone: ZoneInfo, weeks: int) -> list[Week]:
    """The last ``weeks`` ISO weeks up to ``now``, oldest first, in ``zone`` (the current one is partial)."""
    local = now.astimezone(zone)
    monday = local.date() - timedelta(days=local.weekday())
    # ``weeks + 1`` Mondays at midnight, local time: the last one ends the current week.
    starts = [datetime.combine(monday - timedelta(weeks=k), time(0), tzinfo=zone) for k in range(weeks - 1, -2, -1)]
    return [Week(index=i, start=starts[i], end=starts[i + 1], partial=i == weeks - 1) for i in range(weeks)]


def week_index(column: str, weeks: Sequence[Week]) -> Expression:
    """The index of the week ``column`` falls in, for rows already limited to ``[weeks[0].start, weeks[-1].end)``."""
    return _WeekIndex(F(column), *(Value(week.start, output_field=DateTimeField()) for week in weeks))


class _WeekIndex(Func):
    """A binary search written as nested ``CASE``: about log2(weeks) comparisons of the column with a week's
    first instant (5 for 26 weeks, where a flat chain takes up to 26 — measured at a third of the whole query
    on SQLite, which compares timestamps as text).

    One expression holding the column and the weeks' starts, whose SQL is written here: the same search built
    from nested ``Case``/``When`` objects cost Django about 2 ms per statement to resolve and compile (each
    level copies the levels below it), more than the database took for the 12-week window's remediation query.
    """

    output_field = IntegerField()

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:  # type: ignore[override]  # a fixed template
        (column, column_params), *starts = (compiler.compile(e) for e in self.source_expressions)

        def search(low: int, high: int) -> tuple[str, list[Any]]:
            if high - low == 1:
                return str(low), []
            middle = (low + high) // 2
            start, start_params = starts[middle]
            above, above_params = search(middle, high)
            below, below_params = search(low, middle)
            sql = f"CASE WHEN {column} >= {start} THEN {above} ELSE {below} END"
            return sql, [*column_params, *start_params, *above_params, *below_params]

        return search(0, len(starts))


class Hours(Func):
    """``end - start`` in hours, as a float: ``julianday`` on SQLite (to the millisecond), ``date_part('epoch',
    ...)`` on PostgreSQL."""

    output_field = FloatField()

    def __init__(self, start: str, end: str) -> None:
        super().__init__(F(start), F(end))

    def _operands(self, compiler: Any) -> tuple[str, str, list[Any]]:
        (start, start_params), (end, end_params) = (compiler.compile(e) for e in self.source_expressions)
        return start, end, [*end_params, *start_params]

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:  # type: ignore[override]  # a fixed template
        start, end, params = self._operands(compiler)
        # date_part, not EXTRACT: EXTRACT gives a numeric (PostgreSQL 14+), several times slower to compute with.
        return f"(date_part('epoch', {end} - {start}) / 3600.0)", params

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:  # type: ignore[override]  # a fixed template
        start, end, params = self._operands(compiler)
        # Rounded to the millisecond: a day number is a double, so an hour would come out as 0.99999999...
        return f"(ROUND((julianday({end}) - julianday({start})) * 86400000.0) / 3600000.0)", params


class _FloorInt(Func):
    """The integer at or below a non-negative number: ``CAST`` truncates on SQLite; PostgreSQL's would round."""

    output_field = IntegerField()

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:  # type: ignore[override]  # a fixed template
        inner, params = compiler.compile(self.source_expressions[0])
        return f"CAST(FLOOR({inner}) AS integer)", params

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:  # type: ignore[override]  # a fixed template
        inner, params = compiler.compile(self.source_expressions[0])
        return f"CAST({inner} AS integer)", params


@dataclass(frozen=True)
class Bin:
    """Delays in ``[low, high)`` hours; ``high`` ``None`` for the last, open-ended bin."""

    low: float
    high: float | None


# Quarter hours up to three days (every acknowledgement due, wall-clock, falls within: Friday 17:00 -> Monday
# 17:00 is 72 h), then six hours up to a week, then one bin for anything longer.
_FINE_HOURS: Final = 72
_FINE_WIDTH: Final = 0.25
_COARSE_HOURS: Final = 168
_COARSE_WIDTH: Final = 6
_FINE_BINS: Final = int(_FINE_HOURS / _FINE_WIDTH)
_COARSE_BINS: Final = int((_COARSE_HOURS - _FINE_HOURS) / _COARSE_WIDTH)
#: Every bin, by number.
DELAY_BINS: Final = (
    *(Bin(i * _FINE_WIDTH, (i + 1) * _FINE_WIDTH) for i in range(_FINE_BINS)),
    *(Bin(_FINE_HOURS + i * _COARSE_WIDTH, _FINE_HOURS + (i + 1) * _COARSE_WIDTH) for i in range(_COARSE_BINS)),
    Bin(_COARSE_HOURS, None),
)


def delay_bin(start: str, end: str) -> Case:
    """The :data:`DELAY_BINS` number of the delay from column ``start`` to column ``end``; NULL while ``end`` is.

    ``LEAST(quarter hours, 288 + six hours past 72, 304)`` picks the right bin in each range (below 72 h the
    first is the smallest, below a week the second, then the cap), and reads the delay twice where a
    ``CASE`` per range would compute it four times per row (the databases do not share the work).
    """
    hours = Hours(start, end)
    past_fine = Greatest(hours - Value(float(_FINE_HOURS)), Value(0.0))
    return Case(
        When(**{f"{end}__isnull": True}, then=Value(None)),
        default=Least(
            _FloorInt(hours / Value(_FINE_WIDTH)),
            Value(_FINE_BINS) + _FloorInt(past_fine / Value(_COARSE_WIDTH)),
            Value(len(DELAY_BINS) - 1),
        ),
        output_field=IntegerField(),
    )


def percentile(counts: Mapping[int, int], fraction: float) -> float | None:
    """The ``fraction`` percentile (nearest rank, ⌈fraction·n⌉-th smallest) of delays counted per bin.

    Within its bin the value is placed as if the bin's delays were evenly
    spread, so the estimate is off by at most the bin's width: 15 minutes
    below 72 hours, 6 hours below a week. In the last bin it is the bin's
    lower edge (a week: "at least"). ``None`` without any delay.
    """
    total = sum(counts.values())
    if total == 0:
        return None
    rank = max(1, math.ceil(fraction * total))
    seen = 0
    for number in sorted(counts):
        found = counts[number]
        if seen + found >= rank:
            low, high = DELAY_BINS[number].low, DELAY_BINS[number].high
            if high is None:
                return low
            return low + (high - low) * (rank - seen - 0.5) / found
        seen += found
    return None  # unreachable: the ranks add up to the total
