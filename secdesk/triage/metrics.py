"""Figures for the responders' dashboard: how fast the desk acknowledges, whether it keeps its clocks,
what is open and how old it is, which offers are under action.

Read-only and for marketplace staff (whoever holds ``queue:read``: responders,
leads, auditors); anyone else is refused with ``PermissionDenied``. Every
figure is computed by the database with ``GROUP BY`` over a bounded window
(the last 4, 12 or 26 weeks): five queries and at most a few thousand result
rows (mostly the delay histogram) whatever the number of tickets; no ticket
row is loaded into Python.

What the figures mean:

* **Weeks** start on Monday 00:00 in the reader's timezone (ISO weeks); the
  last one is the current, partial week. Their boundaries are computed here
  (DST included) and compared in SQL as plain timestamps, so the same query
  runs on SQLite and PostgreSQL without time-zone functions.
* **Time to acknowledge** is wall-clock time from ``submitted_at`` to
  ``acknowledged_at``, in hours (not business hours: that is what the
  publisher waited; whether the desk kept its promise is the SLA figure,
  whose due moment already follows the business calendar). Tickets count in
  the week they were *submitted*; a ticket still waiting is not in the
  percentiles (it is counted as waiting or late). Median and 90th
  percentile are nearest-rank percentiles read from a histogram of 15-minute
  bins (``aggregates.percentile``): within 15 minutes of the exact value up
  to 72 hours, within 6 hours up to a week.
* **Acknowledgement SLA**: a ticket submitted in the week is *on time* when
  acknowledged by its ``acknowledgement_due``, *late* when acknowledged
  after it, breached by the sweep, or still waiting past it, *waiting* while
  its clock runs. A ticket closed before anyone acknowledged it (withdrawn)
  counts in none. Compliance is on time ÷ (on time + late).
* **Remediation targets** count in the week the target fell due
  (``remediation_due``, up to now): *breached* when the sweep marked it
  (``remediation_breached_at``, written in the same transaction as the
  ``Breach`` record), *met* when the ticket was resolved (or closed as
  resolved) without a breach, *open* when the ticket is still being worked
  (its clock paused while waiting on the publisher, or not swept yet);
  tickets closed for another reason (duplicate, withdrawn...) needed no
  remediation and count in none. Compliance is met ÷ (met + breached).
* **Open tickets** (``OPEN_STATUSES``) by severity (``""`` when not set yet)
  and age since submission: under 1 day, 1-7 days, 7-30 days, 30 days or more.
* **Offers under action**: offers whose status is modification requested,
  suspended or delisted, with the latest enforcement (suspend/delist) or
  modification request behind it (``secdesk.triage.offers_under_action``).

Indexes (migration ``tickets.0005``): each ticket query reads its rows
from one index alone, every column it needs in the index (``bench/pages.py``
measures the page at 100k tickets):

* ``dashboard_ack`` ``(submitted_at, acknowledged_at, acknowledgement_due,
  ack_breached_at, status) WHERE submitted_at IS NOT NULL`` — the window's
  tickets in one index range;
* ``dashboard_remediation`` ``(remediation_due, remediation_breached_at,
  status, close_reason) WHERE remediation_due IS NOT NULL`` — the same for
  remediation targets;
* ``dashboard_open_age`` ``(status, severity, submitted_at)`` — open tickets
  by severity and age (not partial: SQLite uses a partial index only when
  the query spells the predicate with literals, which ``status__in`` does not).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone

from secdesk.domain.errors import ErrorList, PermissionDenied
from secdesk.domain.lifecycle import OPEN_STATUSES, CloseReason, Status
from secdesk.domain.policy import Actor, Permission, can
from secdesk.tickets.models import Ticket
from secdesk.tickets.selectors import tickets_visible_to
from secdesk.triage.aggregates import DELAY_BINS, Week, delay_bin, percentile, week_index, week_starts
from secdesk.triage.offers_under_action import OFFER_LIST_LIMIT, UNDER_ACTION, OfferUnderAction, offers_under_action

__all__ = [
    "ACK_BUCKETS",
    "AGE_BANDS",
    "DEFAULT_WEEKS",
    "OFFER_LIST_LIMIT",
    "SEVERITY_ROWS",
    "UNDER_ACTION",
    "WEEK_CHOICES",
    "AckWeek",
    "Bucket",
    "Dashboard",
    "OfferUnderAction",
    "OpenBySeverity",
    "RemediationWeek",
    "Week",
    "dashboard",
    "week_starts",
]

#: The periods offered, in weeks.
WEEK_CHOICES: Final = (4, 12, 26)
DEFAULT_WEEKS: Final = 12


@dataclass(frozen=True)
class Bucket:
    """A range ``[low, high)`` (``high`` ``None``: no upper end), in hours or days."""

    key: str
    low: float
    high: float | None


#: Time to acknowledge, in wall-clock hours.
ACK_BUCKETS: Final = (
    Bucket("lt_1h", 0, 1),
    Bucket("1_4h", 1, 4),
    Bucket("4_8h", 4, 8),
    Bucket("8_24h", 8, 24),
    Bucket("24_48h", 24, 48),
    Bucket("48_72h", 48, 72),
    Bucket("ge_72h", 72, None),
)
#: Age of an open ticket since submission, in days.
AGE_BANDS: Final = (
    Bucket("lt_1d", 0, 1),
    Bucket("1_7d", 1, 7),
    Bucket("7_30d", 7, 30),
    Bucket("ge_30d", 30, None),
)
#: Rows of the open-tickets figure, most severe first; ``""``: not set yet (awaiting acknowledgement).
SEVERITY_ROWS: Final = ("critical", "high", "medium", "low", "none", "")

_OPEN: Final = sorted(s.value for s in OPEN_STATUSES)
_DONE_REMEDIATION: Final = Q(status=Status.RESOLVED.value) | Q(
    status=Status.CLOSED.value, close_reason=CloseReason.RESOLVED.value
)
# Counted rows: ``COUNT(*)``, or ``COUNT(1) FILTER (...)`` (Django refuses a star with a filter). Never a
# column: an index holding every column a query reads answers it alone (no table access).
_ROW: Final = Value(1)
# Outcomes of a remediation target (small integers group faster than strings).
_MET, _BREACHED, _STILL_OPEN = 1, 2, 3


@dataclass
class AckWeek:
    """Tickets submitted in one week: how they were acknowledged."""

    week: Week
    on_time: int = 0
    late: int = 0
    waiting: int = 0
    acknowledged: int = 0
    median_hours: float | None = None
    p90_hours: float | None = None

    @property
    def compliance(self) -> float | None:
        """Share acknowledged in time among those whose clock ended (0..1), ``None`` without any."""
        decided = self.on_time + self.late
        return self.on_time / decided if decided else None


@dataclass
class RemediationWeek:
    """Remediation targets that fell due in one week."""

    week: Week
    met: int = 0
    breached: int = 0
    open: int = 0

    @property
    def compliance(self) -> float | None:
        decided = self.met + self.breached
        return self.met / decided if decided else None


@dataclass
class OpenBySeverity:
    """Open tickets of one severity, per age band (in :data:`AGE_BANDS` order)."""

    severity: str
    counts: list[int]

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass
class Dashboard:
    """Everything the dashboard shows, for ``weeks`` weeks up to ``now``."""

    now: datetime
    zone: ZoneInfo
    weeks: list[Week]
    ack_weeks: list[AckWeek]
    ack_histogram: list[tuple[Bucket, int]]
    ack_median_hours: float | None
    ack_p90_hours: float | None
    remediation_weeks: list[RemediationWeek]
    open_by_severity: list[OpenBySeverity]
    offers_by_status: dict[str, int]
    offers: list[OfferUnderAction] = field(default_factory=list)

    @property
    def acknowledged(self) -> int:
        return sum(week.acknowledged for week in self.ack_weeks)

    @property
    def ack_compliance(self) -> float | None:
        on_time = sum(week.on_time for week in self.ack_weeks)
        decided = on_time + sum(week.late for week in self.ack_weeks)
        return on_time / decided if decided else None

    @property
    def remediation_compliance(self) -> float | None:
        met = sum(week.met for week in self.remediation_weeks)
        decided = met + sum(week.breached for week in self.remediation_weeks)
        return met / decided if decided else None

    @property
    def open_total(self) -> int:
        return sum(row.total for row in self.open_by_severity)

    @property
    def offers_total(self) -> int:
        return sum(self.offers_by_status.values())


def dashboard(actor: Actor, *, weeks: int = DEFAULT_WEEKS, zone: ZoneInfo, now: datetime | None = None) -> Dashboard:
    """The dashboard's figures for the last ``weeks`` weeks (one of :data:`WEEK_CHOICES`), weeks in ``zone``.

    Five queries: acknowledgements (with what their percentiles are read
    from), open tickets, remediation targets, offers under action by status,
    the offers listed; on PostgreSQL inside a transaction that gives their
    sorts more memory (:func:`_memory_for_aggregates`).
    Raises ``PermissionDenied`` for anyone not holding ``queue:read`` and
    ``InvalidInput`` (field ``weeks``) for a period not offered.
    """
    if not can(actor, Permission.QUEUE_READ):
        raise PermissionDenied("the dashboard is for marketplace staff")
    errors = ErrorList()
    if weeks not in WEEK_CHOICES:
        errors.add("weeks", f"must be one of {', '.join(map(str, WEEK_CHOICES))}", code="invalid_choice")
    errors.raise_if_any()
    now = now or timezone.now()
    calendar = week_starts(now, zone, weeks)
    visible = tickets_visible_to(actor)
    with _memory_for_aggregates():
        ack_weeks, histogram, delays = _acknowledgements(visible, calendar, now)
        open_rows = _open_by_severity(visible, now)
        remediation_weeks = _remediation(visible, calendar, now)
        by_status, offers = offers_under_action(actor, zone)
    return Dashboard(
        now=now,
        zone=zone,
        weeks=calendar,
        ack_weeks=ack_weeks,
        ack_histogram=histogram,
        ack_median_hours=percentile(delays, 0.5),
        ack_p90_hours=percentile(delays, 0.9),
        remediation_weeks=remediation_weeks,
        open_by_severity=open_rows,
        offers_by_status=by_status,
        offers=offers,
    )


@contextmanager
def _memory_for_aggregates() -> Iterator[None]:
    """PostgreSQL: let the enclosed ``GROUP BY`` queries sort or hash in memory (16 MB rather than the default
    4 MB), in a transaction of their own so that the setting ends with them. The 26-week window's ~49,000 rows
    spilled to disk: the acknowledgement query measured 44 -> 28 ms at 100k tickets. SQLite sorts in its own
    page cache: nothing to set, no transaction."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '16MB'")
        yield


def _acknowledgements(
    visible: QuerySet[Ticket], calendar: list[Week], now: datetime
) -> tuple[list[AckWeek], list[tuple[Bucket, int]], dict[int, int]]:
    """One ``GROUP BY`` (week, delay bin) over the tickets submitted in the window, with the outcomes counted
    per group: the weeks (with their median and 90th percentile read from the bins), the histogram, and the
    period's delays per bin.

    Percentiles from bins rather than exact ones (``ROW_NUMBER()`` over each week, which both databases
    have): those sort every row of the window, which about tripled the query on SQLite at 100k tickets; the
    bins are 15 minutes wide (see ``aggregates.percentile``).
    """
    on_time = Q(acknowledged_at__isnull=False, acknowledged_at__lte=F("acknowledgement_due"))
    unacknowledged = Q(acknowledged_at__isnull=True)
    late = Q(acknowledged_at__isnull=False, acknowledged_at__gt=F("acknowledgement_due")) | (
        unacknowledged
        & (Q(ack_breached_at__isnull=False) | Q(status=Status.SUBMITTED.value, acknowledgement_due__lt=now))
    )
    waiting = unacknowledged & Q(
        ack_breached_at__isnull=True, status=Status.SUBMITTED.value, acknowledgement_due__gte=now
    )
    rows = (
        visible.filter(submitted_at__gte=calendar[0].start, submitted_at__lt=calendar[-1].end)
        .annotate(m_week=week_index("submitted_at", calendar), m_bin=delay_bin("submitted_at", "acknowledged_at"))
        .values_list("m_week", "m_bin")
        .annotate(
            m_all=Count("*"),
            m_on_time=Count(_ROW, filter=on_time),
            m_late=Count(_ROW, filter=late),
            m_waiting=Count(_ROW, filter=waiting),
        )
        .order_by()
    )
    weeks = [AckWeek(week=week) for week in calendar]
    bins: list[dict[int, int]] = [{} for _ in calendar]
    for position, bin_number, everyone, in_time, after, still in rows:
        entry = weeks[position]
        entry.on_time += in_time
        entry.late += after
        entry.waiting += still
        if bin_number is not None:
            entry.acknowledged += everyone
            bins[position][bin_number] = bins[position].get(bin_number, 0) + everyone
    histogram = [0] * len(ACK_BUCKETS)
    overall: dict[int, int] = {}
    for entry, counts in zip(weeks, bins, strict=True):
        entry.median_hours = percentile(counts, 0.5)
        entry.p90_hours = percentile(counts, 0.9)
        for bin_number, found in counts.items():
            histogram[_BUCKET_OF_BIN[bin_number]] += found
            overall[bin_number] = overall.get(bin_number, 0) + found
    return weeks, list(zip(ACK_BUCKETS, histogram, strict=True)), overall


def _bucket_of(hours: float) -> int:
    """The :data:`ACK_BUCKETS` index of a delay (a bin's lower edge: the buckets' edges are bin edges)."""
    return next(i for i, bucket in enumerate(ACK_BUCKETS) if bucket.high is None or hours < bucket.high)


#: The bucket of each delay bin, by bin number (looked up for every (week, bin) row of the query).
_BUCKET_OF_BIN: Final = tuple(_bucket_of(delay.low) for delay in DELAY_BINS)


def _open_by_severity(visible: QuerySet[Ticket], now: datetime) -> list[OpenBySeverity]:
    """Open tickets by severity and age band: one ``GROUP BY (status, severity)`` counting, per group, those
    submitted within each band's upper age; the bands are the differences.

    Grouped by status first so that an index on ``(status, severity, submitted_at)`` hands the rows over
    already in group order (no sort: measured on SQLite at 100k tickets, 18 -> 9 ms); statuses are summed here.
    """
    edges = [band.high for band in AGE_BANDS if band.high is not None]
    rows = (
        visible.filter(status__in=_OPEN)
        .values_list("status", "severity")
        .annotate(
            m_all=Count("*"),
            **{
                f"m_within_{index}": Count(_ROW, filter=Q(submitted_at__gt=now - timedelta(days=days)))
                for index, days in enumerate(edges)
            },
        )
        .order_by()
    )
    counts = {severity: [0] * len(AGE_BANDS) for severity in SEVERITY_ROWS}
    for _status, severity, everyone, *within in rows:
        # Submitted within 1, 7, 30 days (cumulative) -> under 1 day, 1-7, 7-30, 30 or more.
        cumulative = [*within, everyone]
        bands = counts.setdefault(severity or "", [0] * len(AGE_BANDS))
        for index, found in enumerate(cumulative):
            bands[index] += found - (cumulative[index - 1] if index else 0)
    return [OpenBySeverity(severity, bands) for severity, bands in counts.items()]


def _remediation(visible: QuerySet[Ticket], calendar: list[Week], now: datetime) -> list[RemediationWeek]:
    """Remediation targets due in the window (up to now) counted by (week, outcome): one ``GROUP BY``."""
    rows = (
        visible.filter(remediation_due__gte=calendar[0].start, remediation_due__lte=now)
        .annotate(
            m_week=week_index("remediation_due", calendar),
            m_outcome=Case(
                When(remediation_breached_at__isnull=False, then=Value(_BREACHED)),
                When(_DONE_REMEDIATION, then=Value(_MET)),
                When(status__in=_OPEN, then=Value(_STILL_OPEN)),
                default=Value(0),
                output_field=IntegerField(),
            ),
        )
        .values_list("m_week", "m_outcome")
        .annotate(m_count=Count("*"))
        .order_by()
    )
    weeks = [RemediationWeek(week=week) for week in calendar]
    for position, outcome, number in rows:
        entry = weeks[position]
        if outcome == _MET:
            entry.met += number
        elif outcome == _BREACHED:
            entry.breached += number
        elif outcome == _STILL_OPEN:
            entry.open += number
    return weeks
