"""The dashboard's figures (``secdesk.triage.metrics``) on crafted tickets, on SQLite and on PostgreSQL.

Tickets are written straight to the database with known clocks (the services
are tested elsewhere), so every figure has an exact expected value: delays,
outcomes, weeks, age bands, remediation outcomes, offers under action.
"Now" is Thursday 12 March 2026, 12:00 UTC; four weeks are shown: those of
16 Feb, 23 Feb, 2 Mar and 9 Mar (the current one).
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from secdesk.domain import confirmation
from secdesk.domain.errors import InvalidInput, PermissionDenied
from secdesk.domain.policy import ANONYMOUS
from secdesk.marketplace.models import Offer, OfferAction
from secdesk.tickets.models import PublisherRequest, Ticket
from secdesk.triage.aggregates import DELAY_BINS, percentile, week_starts
from secdesk.triage.metrics import ACK_BUCKETS, OFFER_LIST_LIMIT, SEVERITY_ROWS, dashboard

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 12, 12, 0, tzinfo=UTC)
UTC_ZONE = ZoneInfo("UTC")
JAN = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # before the window


def at(day: int, hour: int = 9, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def make(world: Any, *, status: str, submitted: datetime | None, **fields: Any) -> Ticket:
    """A Contoso ticket with the given clocks; acknowledgement due a day after submission unless given."""
    defaults: dict[str, Any] = {
        "category": "vulnerability",
        "severity": "medium",
        "submitted_at": submitted,
        "acknowledgement_due": submitted + timedelta(days=1) if submitted else None,
    }
    defaults.update(fields)
    ticket = Ticket.objects.create(
        confirmation_number=confirmation.generate(),
        organization=world.orgs["contoso"],
        created_by=world.users["alice"],
        status=status,
        **defaults,
    )
    ticket.offers.set([world.offers["contoso-backup"]])
    return ticket


@pytest.fixture
def desk(world) -> dict[str, Ticket]:
    """Tickets with known acknowledgement delays and outcomes, remediation targets and ages."""
    t: dict[str, Ticket] = {}
    # Submitted in the window, acknowledged: delays 0.5 h, 6 h, 48 h (late), 2 h, 1 h.
    t["a"] = make(world, status="assessing", submitted=at(2, 10), acknowledged_at=at(2, 10, 30), severity="critical")
    t["b"] = make(world, status="resolved", submitted=at(3), acknowledged_at=at(3, 15))
    t["c"] = make(world, status="acknowledged", submitted=at(4), acknowledged_at=at(6), severity="low")
    t["f"] = make(world, status="resolved", submitted=at(17, month=2), acknowledged_at=at(17, 11, month=2))
    # Exactly one day old, acknowledged after exactly one hour (edges: age band 1-7 d, delay bucket 1-4 h).
    t["edge"] = make(
        world, status="acknowledged", submitted=NOW - timedelta(days=1), acknowledged_at=NOW - timedelta(hours=23),
        severity="none",
    )  # fmt: skip
    # Not acknowledged: overdue (late), still within its time (waiting), withdrawn before the due time (neither).
    t["d"] = make(world, status="submitted", submitted=at(10), severity="")
    t["e"] = make(world, status="submitted", submitted=at(12), severity="")
    t["withdrawn"] = make(world, status="closed", submitted=at(10, 10), close_reason="withdrawn", severity="")
    # Before the window: no acknowledgement figure.
    t["old"] = make(world, status="resolved", submitted=at(1, month=2), acknowledged_at=at(5, month=2))
    # Remediation targets (submitted in January: outside the acknowledgement window).
    ack = JAN + timedelta(hours=2)
    t["r_met"] = make(world, status="resolved", submitted=JAN, acknowledged_at=ack, remediation_due=at(3))
    t["r_breached"] = make(
        world, status="remediating", submitted=JAN, acknowledged_at=ack, remediation_due=at(4),
        remediation_breached_at=at(4, 10), severity="high",
    )  # fmt: skip
    t["r_closed_resolved"] = make(
        world, status="closed", close_reason="resolved", submitted=JAN, acknowledged_at=ack,
        remediation_due=at(18, month=2),
    )  # fmt: skip
    t["r_duplicate"] = make(
        world, status="closed", close_reason="duplicate", submitted=JAN, acknowledged_at=ack,
        remediation_due=at(25, month=2),
    )  # fmt: skip
    t["r_paused"] = make(
        world, status="awaiting_publisher", submitted=JAN, acknowledged_at=ack, remediation_due=at(5),
        remediation_paused_at=at(1),
    )  # fmt: skip
    t["r_future"] = make(
        world, status="remediating", submitted=JAN, acknowledged_at=ack, remediation_due=at(20), severity="critical"
    )
    t["r_late_resolved"] = make(
        world, status="resolved", submitted=JAN, acknowledged_at=ack, remediation_due=at(24, month=2),
        remediation_breached_at=at(24, 9, month=2),
    )  # fmt: skip
    # A draft is nobody's figure.
    t["draft"] = make(world, status="draft", submitted=None)
    return t


def test_acknowledgement_figures_are_exact(world, desk):
    figures = dashboard(world.actor("rita"), weeks=4, zone=UTC_ZONE, now=NOW)

    assert [week.start for week in figures.weeks] == [at(16, 0, month=2), at(23, 0, month=2), at(2, 0), at(9, 0)]
    assert [week.partial for week in figures.weeks] == [False, False, False, True]
    feb16, feb23, mar2, mar9 = figures.ack_weeks
    assert (feb16.on_time, feb16.late, feb16.waiting, feb16.acknowledged) == (1, 0, 0, 1)
    assert (feb23.on_time, feb23.late, feb23.waiting, feb23.acknowledged) == (0, 0, 0, 0)
    assert (mar2.on_time, mar2.late, mar2.waiting, mar2.acknowledged) == (2, 1, 0, 3)
    assert (mar9.on_time, mar9.late, mar9.waiting, mar9.acknowledged) == (1, 1, 1, 1)
    # Nearest rank from 15-minute bins: the 2nd of (0.5, 6, 48) h is 6 h, the 3rd is 48 h; within a bin.
    assert mar2.median_hours == pytest.approx(6, abs=0.25)
    assert mar2.p90_hours == pytest.approx(48, abs=0.25)
    assert feb16.median_hours == pytest.approx(2, abs=0.25)
    assert mar9.median_hours == pytest.approx(1, abs=0.25)
    assert feb23.median_hours is None
    assert feb23.p90_hours is None
    assert feb23.compliance is None
    assert mar2.compliance == pytest.approx(2 / 3)

    assert {bucket.key: count for bucket, count in figures.ack_histogram} == {
        "lt_1h": 1,  # a
        "1_4h": 2,  # f (2 h), edge (exactly 1 h)
        "4_8h": 1,  # b
        "8_24h": 0,
        "24_48h": 0,
        "48_72h": 1,  # c: exactly 48 h
        "ge_72h": 0,
    }
    assert [bucket.key for bucket, _ in figures.ack_histogram] == [bucket.key for bucket in ACK_BUCKETS]
    assert figures.acknowledged == 5
    # On time: a, b, f, edge; late: c (after its due time), d (overdue, not acknowledged).
    assert figures.ack_compliance == pytest.approx(4 / 6)
    # Over the period: 0.5, 1, 2, 6, 48 h -> the 3rd is 2 h, the 5th 48 h.
    assert figures.ack_median_hours == pytest.approx(2, abs=0.25)
    assert figures.ack_p90_hours == pytest.approx(48, abs=0.25)


def test_a_breach_marked_by_the_sweep_counts_late_even_if_closed_later(world, desk):
    Ticket.objects.filter(pk=desk["withdrawn"].pk).update(ack_breached_at=at(11, 10))
    mar9 = dashboard(world.actor("rita"), weeks=4, zone=UTC_ZONE, now=NOW).ack_weeks[-1]
    assert (mar9.on_time, mar9.late, mar9.waiting) == (1, 2, 1)


def test_remediation_targets_by_the_week_they_fell_due(world, desk):
    figures = dashboard(world.actor("rita"), weeks=4, zone=UTC_ZONE, now=NOW)
    feb16, feb23, mar2, mar9 = figures.remediation_weeks
    assert (feb16.met, feb16.breached, feb16.open) == (1, 0, 0)  # closed as resolved
    assert (feb23.met, feb23.breached, feb23.open) == (0, 1, 0)  # resolved after a breach; the duplicate counts none
    assert (mar2.met, mar2.breached, mar2.open) == (1, 1, 1)  # resolved, breached, paused
    assert (mar9.met, mar9.breached, mar9.open) == (0, 0, 0)  # due on the 20th: not yet
    assert figures.remediation_compliance == pytest.approx(2 / 4)
    assert feb23.compliance == 0
    assert mar9.compliance is None


def test_open_tickets_by_severity_and_age(world, desk):
    figures = dashboard(world.actor("rita"), weeks=4, zone=UTC_ZONE, now=NOW)
    rows = {row.severity: row.counts for row in figures.open_by_severity}
    assert list(rows) == list(SEVERITY_ROWS)
    assert rows == {
        "critical": [0, 0, 1, 1],  # a (10 days), r_future (January)
        "high": [0, 0, 0, 1],  # r_breached
        "medium": [0, 0, 0, 1],  # r_paused
        "low": [0, 0, 1, 0],  # c (8 days)
        "none": [0, 1, 0, 0],  # edge: exactly one day old
        "": [1, 1, 0, 0],  # e (3 hours), d (2 days): not acknowledged, no severity yet
    }
    assert figures.open_total == 8


def test_offers_under_action_longest_first(world, desk):
    leo = world.users["leo"]
    backup, vault, gateway = (world.offers[slug] for slug in ("contoso-backup", "contoso-vault", "fabrikam-gateway"))
    Offer.objects.filter(pk=backup.pk).update(status="suspended")
    OfferAction.objects.create(
        offer=backup, action="suspend", reason="r", review_date=date(2026, 3, 26), previous_status="live",
        new_status="suspended", ticket=desk["a"], taken_by=leo, taken_at=NOW - timedelta(days=3),
    )  # fmt: skip
    Offer.objects.filter(pk=gateway.pk).update(status="delisted")
    OfferAction.objects.create(
        offer=gateway, action="suspend", reason="r", review_date=date(2026, 3, 1), previous_status="live",
        new_status="suspended", taken_by=leo, taken_at=NOW - timedelta(days=20),
    )  # fmt: skip
    OfferAction.objects.create(
        offer=gateway, action="delist", reason="r", review_date=date(2026, 4, 1), previous_status="suspended",
        new_status="delisted", taken_by=leo, taken_at=NOW - timedelta(days=10),
    )  # fmt: skip
    Offer.objects.filter(pk=vault.pk).update(status="modification_requested")
    PublisherRequest.objects.create(
        ticket=desk["c"], public_id="abc123", kind="modify_offer", description="d", offer=vault,
        due_at=datetime(2026, 3, 14, 23, 30, tzinfo=UTC), created_by=world.users["rita"],
        created_at=NOW - timedelta(days=1),
    )  # fmt: skip

    figures = dashboard(world.actor("rita"), weeks=4, zone=ZoneInfo("Europe/Istanbul"), now=NOW)

    assert figures.offers_by_status == {"modification_requested": 1, "suspended": 1, "delisted": 1}
    assert figures.offers_total == 3
    a, c = desk["a"].confirmation_number, desk["c"].confirmation_number
    listed = [(o.slug, o.status, o.since, o.review, o.confirmation_number) for o in figures.offers]
    assert listed == [
        ("fabrikam-gateway", "delisted", NOW - timedelta(days=10), date(2026, 4, 1), None),
        ("contoso-backup", "suspended", NOW - timedelta(days=3), date(2026, 3, 26), a),
        # The request's due time, as a day in the reader's timezone (23:30 UTC is 02:30 the next day in Istanbul).
        ("contoso-vault", "modification_requested", NOW - timedelta(days=1), date(2026, 3, 15), c),
    ]
    assert [o.publisher for o in figures.offers] == ["Fabrikam Inc", "Contoso Ltd", "Contoso Ltd"]


def test_the_offer_list_is_bounded_and_the_counts_are_not(world):
    org = world.orgs["contoso"]
    Offer.objects.bulk_create(
        [
            Offer(organization=org, slug=f"suspended-{i:02d}", name=f"Suspended {i}", status="suspended")
            for i in range(OFFER_LIST_LIMIT + 3)
        ]
    )
    figures = dashboard(world.actor("audrey"), weeks=12, zone=UTC_ZONE, now=NOW)
    assert figures.offers_by_status["suspended"] == OFFER_LIST_LIMIT + 3
    assert len(figures.offers) == OFFER_LIST_LIMIT
    assert all(offer.since is None for offer in figures.offers)  # no action recorded: "since" unknown


def test_an_empty_desk(world):
    figures = dashboard(world.actor("leo"), weeks=12, zone=UTC_ZONE, now=NOW)
    assert len(figures.weeks) == len(figures.ack_weeks) == len(figures.remediation_weeks) == 12
    assert all(count == 0 for _, count in figures.ack_histogram)
    assert figures.acknowledged == 0
    assert figures.open_total == 0
    assert figures.offers_total == 0
    assert figures.ack_median_hours is None
    assert figures.ack_p90_hours is None
    assert figures.ack_compliance is None
    assert figures.remediation_compliance is None
    assert all(week.median_hours is None for week in figures.ack_weeks)
    assert [row.counts for row in figures.open_by_severity] == [[0, 0, 0, 0]] * len(SEVERITY_ROWS)
    assert figures.offers == []


@pytest.mark.parametrize("name", ["alice", "bob"])
def test_publishers_are_refused(world, desk, name):
    with pytest.raises(PermissionDenied):
        dashboard(world.actor(name), weeks=4, zone=UTC_ZONE, now=NOW)


def test_anonymous_is_refused(world):
    with pytest.raises(PermissionDenied):
        dashboard(ANONYMOUS, weeks=4, zone=UTC_ZONE, now=NOW)


@pytest.mark.parametrize("weeks", [0, 3, 13, 52])
def test_only_the_offered_periods(world, weeks):
    with pytest.raises(InvalidInput) as refused:
        dashboard(world.actor("rita"), weeks=weeks, zone=UTC_ZONE, now=NOW)
    assert [error.field for error in refused.value.errors] == ["weeks"]


def test_weeks_start_on_monday_in_the_readers_timezone_across_dst(world):
    # Berlin moved to summer time on Sunday 29 March 2026: Monday 30 March starts at 22:00 UTC on the 29th,
    # the Monday before at 23:00 UTC.
    berlin = ZoneInfo("Europe/Berlin")
    now = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
    weeks = week_starts(now, berlin, 2)
    assert [week.start.astimezone(UTC) for week in weeks] == [
        datetime(2026, 3, 22, 23, 0, tzinfo=UTC),
        datetime(2026, 3, 29, 22, 0, tzinfo=UTC),
    ]
    make(world, status="submitted", submitted=datetime(2026, 3, 29, 21, 30, tzinfo=UTC))  # Sunday 23:30 CEST
    make(world, status="submitted", submitted=datetime(2026, 3, 29, 22, 30, tzinfo=UTC))  # Monday 00:30 CEST
    figures = dashboard(world.actor("rita"), weeks=4, zone=berlin, now=now)
    *_, previous, current = figures.ack_weeks
    assert (previous.late + previous.waiting, current.late + current.waiting) == (1, 1)
    # In UTC both fall in the week of 23 March.
    in_utc = dashboard(world.actor("rita"), weeks=4, zone=UTC_ZONE, now=now)
    assert in_utc.ack_weeks[-2].waiting + in_utc.ack_weeks[-2].late == 2


def _reads(captured: CaptureQueriesContext) -> list[str]:
    """The statements that read, without the transaction's (savepoints, PostgreSQL's ``SET LOCAL work_mem``)."""
    control = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT", "SET LOCAL")
    return [q["sql"] for q in captured.captured_queries if not q["sql"].startswith(control)]


@pytest.mark.django_db(transaction=True)  # the figures' own transaction is a real one, not a savepoint
def test_the_memory_setting_is_postgresql_only_and_ends_with_the_figures(world, desk):
    rita = world.actor("rita")
    with CaptureQueriesContext(connection) as captured:
        dashboard(rita, weeks=4, zone=UTC_ZONE, now=NOW)
    statements = [q["sql"] for q in captured.captured_queries]
    # Whatever the database, the connection is left as it was found: no transaction open.
    assert connection.get_autocommit()
    assert not connection.in_atomic_block
    if connection.vendor == "postgresql":
        assert "SET LOCAL work_mem = '16MB'" in statements
        with connection.cursor() as cursor:
            cursor.execute("SHOW work_mem")
            assert cursor.fetchone()[0] != "16MB"  # SET LOCAL ended with the figures' transaction
    else:
        # SQLite: the five reads and nothing else (no setting, no transaction of their own).
        assert len(statements) == 5
        assert all(sql.startswith("SELECT") for sql in statements)


def test_a_constant_number_of_queries_whatever_the_number_of_tickets(world, desk):
    rita = world.actor("rita")
    with CaptureQueriesContext(connection) as few:
        dashboard(rita, weeks=26, zone=UTC_ZONE, now=NOW)
    for index in range(40):
        make(
            world, status="acknowledged" if index % 2 else "resolved", submitted=at(1 + index % 11),
            acknowledged_at=at(1 + index % 11, 9, index), remediation_due=at(1 + index % 11, 12),
        )  # fmt: skip
    with CaptureQueriesContext(connection) as many:
        figures = dashboard(rita, weeks=26, zone=UTC_ZONE, now=NOW)
    assert len(_reads(few)) == len(_reads(many)) == 5
    # 26 weeks reach back to September: the desk's 5 acknowledged in March, the one of early February, the 7
    # remediation tickets of January, and the 40 new ones.
    assert figures.acknowledged == 5 + 1 + 7 + 40


def test_percentiles_from_bins_are_within_a_bin_of_the_exact_value():
    # Delays every 6 minutes up to 60 h, plus a few long ones: exact nearest-rank values vs the estimate.
    delays = [0.1 * i for i in range(1, 601)] + [80.0, 150.0, 400.0]
    counts: dict[int, int] = {}
    for hours in delays:
        number = next(i for i, b in enumerate(DELAY_BINS) if b.high is None or hours < b.high)
        counts[number] = counts.get(number, 0) + 1
    ordered = sorted(delays)
    for fraction in (0.5, 0.9):
        exact = ordered[math.ceil(fraction * len(ordered)) - 1]
        assert percentile(counts, fraction) == pytest.approx(exact, abs=0.25)
    assert percentile(counts, 1.0) == 168  # the last, open-ended bin: its lower edge
    assert percentile({}, 0.5) is None


def _indexes_read(sql: str, params: Any) -> set[str]:
    """The indexes the plan of a statement reads, as Django ran it (placeholders and parameters: SQLite plans
    ``IN (?, ...)`` differently from the same values written out)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A handful of rows is cheaper to read whole, or through any small index and sorted or hashed;
            # with those priced out, a plan reads through the index that yields the rows in group order, or
            # the window as one range — as the planner chooses at 100k tickets (bench/pages.py --explain).
            for method in ("seqscan", "bitmapscan", "sort", "incremental_sort", "hashagg"):
                cursor.execute(f"SET LOCAL enable_{method} = off")
            cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
            return set(re.findall(r'"Index Name": "(\w+)"', json.dumps(cursor.fetchone()[0])))
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return {name for row in cursor.fetchall() for name in re.findall(r"USING (?:COVERING )?INDEX (\w+)", row[-1])}


def test_each_ticket_figure_reads_through_its_index(world, desk):
    ran: list[tuple[str, Any]] = []

    def record(execute, sql, params, many, context):  # type: ignore[no-untyped-def]  # Django's wrapper protocol
        ran.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        dashboard(world.actor("rita"), weeks=26, zone=UTC_ZONE, now=NOW)
    on_tickets = [(sql, params) for sql, params in ran if 'FROM "tickets_ticket"' in sql and "GROUP BY" in sql]
    read = [_indexes_read(sql, params) for sql, params in on_tickets]
    assert read == [{"dashboard_ack"}, {"dashboard_open_age"}, {"dashboard_remediation"}]
