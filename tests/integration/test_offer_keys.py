"""The ticket's queue keys on its ticket-offer rows, and the queue's offer filter that reads them.

``TicketOffer.status`` and ``TicketOffer.due_at`` copy the ticket's, kept in
step by database triggers (``secdesk/tickets/offer_keys.py``, migration
``tickets.0004``). Every kind of change a ticket goes through is made here
through the services (or behind their back), and the rows must follow; then
the queue's offer filter, which now reads those rows in order, must page
exactly like the correlated ``EXISTS`` it replaced.
"""

from __future__ import annotations

import importlib
import json
import random
import threading
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps import apps
from django.db import connection, connections, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from secdesk.domain import confirmation
from secdesk.domain.intake import Answers
from secdesk.tickets import offer_keys
from secdesk.tickets import services as ticket_services
from secdesk.tickets.models import NO_DEADLINE, OPEN_STATUS_VALUES, Ticket, TicketOffer
from secdesk.triage import services
from secdesk.triage.selectors import queue

CRITICAL = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def answers(*offers: str) -> Answers:
    return Answers(
        category="vulnerability",
        offers=offers,
        description="Remote code execution in the upload endpoint.",
        cvss_vectors=(CRITICAL,),
        mitigation="workaround",
        remediation_steps="Disable uploads.",
    )


def file_ticket(world, *offers: str, submit: bool = True) -> Ticket:
    ticket, _ = ticket_services.create_ticket(
        world.actor("alice"), answers=answers(*(offers or ("contoso-backup",))), submit=submit
    )
    return Ticket.objects.get(pk=ticket.pk)


def in_step(ticket: Ticket) -> Ticket:
    """The ticket as stored, after checking that each of its rows carries its status and due_at."""
    stored = Ticket.objects.get(pk=ticket.pk)
    rows = list(TicketOffer.objects.filter(ticket=stored).values_list("status", "due_at"))
    assert rows, "the ticket has no offers"
    assert rows == [(stored.status, stored.due_at)] * len(rows)
    assert not offer_keys.stale_links().exists()
    return stored


def offer_queue(world, slug: str, **filters: Any) -> list[str]:
    """Confirmation numbers in the queue filtered on offer ``slug``, every page followed."""
    numbers: list[str] = []
    cursor = None
    while True:
        page = queue(world.actor("rita"), offer=slug, cursor=cursor, limit=2, **filters)
        numbers.extend(t.confirmation_number for t in page.items)
        cursor = page.next_cursor
        if cursor is None:
            return numbers


@pytest.fixture
def acknowledged(world) -> Ticket:
    ticket = file_ticket(world, "contoso-backup", "contoso-vault")
    services.acknowledge(
        world.actor("rita"), confirmation_number=ticket.confirmation_number, priority="P1", severity="critical"
    )
    return in_step(ticket)


# -- every kind of change ------------------------------------------------------------------------


def test_a_ticket_filed_as_draft_then_submitted(world):
    draft = in_step(file_ticket(world, "contoso-backup", submit=False))
    assert (draft.status, draft.due_at) == ("draft", NO_DEADLINE)
    assert offer_queue(world, "contoso-backup") == []
    ticket_services.submit_ticket(world.actor("alice"), confirmation_number=draft.confirmation_number)
    submitted = in_step(draft)
    # The queue orders a submitted ticket on its acknowledgement deadline, however it was submitted.
    assert (submitted.status, submitted.due_at) == ("submitted", submitted.acknowledgement_due)
    assert offer_queue(world, "contoso-backup") == [draft.confirmation_number]


def test_a_ticket_filed_as_submitted(world):
    ticket = in_step(file_ticket(world, "contoso-backup", "contoso-vault"))
    assert (ticket.status, ticket.due_at) == ("submitted", ticket.acknowledgement_due)
    assert offer_queue(world, "contoso-vault") == offer_queue(world, "contoso-backup") == [ticket.confirmation_number]


def test_offers_edited_on_a_draft(world):
    alice = world.actor("alice")
    draft = file_ticket(world, "contoso-backup", submit=False)
    number = draft.confirmation_number
    ticket_services.update_draft(alice, confirmation_number=number, changes={"offers": ["contoso-vault"]})
    assert list(TicketOffer.objects.filter(ticket=draft).values_list("offer__slug", flat=True)) == ["contoso-vault"]
    in_step(draft)
    ticket_services.update_draft(
        alice, confirmation_number=number, changes={"offers": ["contoso-backup", "contoso-vault"]}
    )
    assert TicketOffer.objects.filter(ticket=draft).count() == 2
    in_step(draft)
    ticket_services.submit_ticket(alice, confirmation_number=number)
    in_step(draft)
    assert offer_queue(world, "contoso-vault") == offer_queue(world, "contoso-backup") == [number]


def test_acknowledging_and_reclassifying_move_the_deadline(world, acknowledged):
    assert (acknowledged.status, acknowledged.due_at) == ("acknowledged", acknowledged.remediation_due)
    services.reclassify(
        world.actor("rita"), confirmation_number=acknowledged.confirmation_number, severity="low", reason="Mitigated."
    )
    reclassified = in_step(acknowledged)
    assert reclassified.due_at == reclassified.remediation_due > acknowledged.due_at


def test_requests_pause_the_clock_and_answers_resume_it(world, acknowledged):
    rita, number = world.actor("rita"), acknowledged.confirmation_number
    services.transition(rita, confirmation_number=number, action="start_assessment")
    request = services.create_request(
        rita,
        confirmation_number=number,
        kind="information",
        description="Which versions?",
        due_at=timezone.now() + timedelta(days=5),
    )
    paused = in_step(acknowledged)
    assert (paused.status, paused.due_at) == ("awaiting_publisher", NO_DEADLINE)
    services.answer_request(
        world.actor("alice"),
        request_id=request.public_id,
        response="extension",
        reason="Busy.",
        proposed_due=timezone.now() + timedelta(days=9),
    )
    running = in_step(acknowledged)  # the ball is with the marketplace: the clock runs
    assert running.due_at == running.remediation_due
    services.decide_extension(rita, request_id=request.public_id, decision="granted")
    assert in_step(acknowledged).due_at == NO_DEADLINE
    services.answer_request(world.actor("alice"), request_id=request.public_id, response="done", text="4.x")
    assert in_step(acknowledged).due_at == in_step(acknowledged).remediation_due


def test_the_breach_sweep(world):
    ticket = file_ticket(world, "contoso-backup")
    past = timezone.now() - timedelta(hours=1)
    # Behind the services' back: a bulk update moves the keys, and the rows follow it too.
    Ticket.objects.filter(pk=ticket.pk).update(acknowledgement_due=past, due_at=past)
    assert in_step(ticket).due_at == past
    report = services.sweep()
    assert report.acknowledgement == 1
    swept = in_step(ticket)
    assert swept.breached
    assert offer_queue(world, "contoso-backup", breached=True) == [ticket.confirmation_number]


def test_every_lifecycle_step_until_closed_and_reopened(world, acknowledged):
    rita, number = world.actor("rita"), acknowledged.confirmation_number
    for action, status in (
        ("start_assessment", "assessing"),
        ("start_remediation", "remediating"),
        ("start_notifying", "notifying"),
        ("resolve", "resolved"),
    ):
        services.transition(rita, confirmation_number=number, action=action, reason="Fixed in 4.2.1.")
        assert in_step(acknowledged).status == status
    assert offer_queue(world, "contoso-backup") == []
    services.transition(rita, confirmation_number=number, action="reopen", reason="Still exploitable.")
    reopened = in_step(acknowledged)
    assert (reopened.status, reopened.due_at) == ("reopened", reopened.remediation_due)
    assert offer_queue(world, "contoso-vault") == [number]
    services.transition(rita, confirmation_number=number, action="close", close_reason="not_reproducible")
    closed = in_step(acknowledged)
    assert (closed.status, closed.due_at) == ("closed", NO_DEADLINE)
    assert offer_queue(world, "contoso-vault") == offer_queue(world, "contoso-backup") == []
    assert not TicketOffer.objects.filter(ticket=closed, status__in=OPEN_STATUS_VALUES).exists()


def test_a_withdrawn_ticket_leaves_the_offer_queue(world):
    kept = file_ticket(world, "contoso-backup")
    gone = file_ticket(world, "contoso-backup")
    assert sorted(offer_queue(world, "contoso-backup")) == sorted([kept.confirmation_number, gone.confirmation_number])
    services.withdraw(world.actor("alice"), confirmation_number=gone.confirmation_number, reason="Filed twice.")
    assert in_step(gone).status == "closed"
    assert offer_queue(world, "contoso-backup") == [kept.confirmation_number]


def test_rows_take_their_tickets_keys_whatever_they_were_given(world):
    # A row inserted with other values, or moved to another ticket, takes its (new) ticket's.
    submitted = file_ticket(world, "contoso-backup")
    draft = file_ticket(world, "contoso-backup", submit=False)
    row = TicketOffer.objects.create(ticket=draft, offer=world.offers["contoso-vault"], status="closed", due_at=T0)
    assert in_step(draft).status == "draft"
    TicketOffer.objects.filter(pk=row.pk).update(ticket=submitted)
    assert TicketOffer.objects.get(pk=row.pk).status == "submitted"
    in_step(submitted)
    # Raw SQL on the ticket is followed as well.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE tickets_ticket SET status = 'remediating', due_at = %s WHERE id = %s", [T0, draft.pk])
    assert in_step(draft).due_at == T0


def test_a_ticket_update_that_leaves_the_keys_alone_writes_no_row(world, acknowledged):
    # Most writes (assignment, affected customers, messages) do not touch status or due_at.
    before = list(TicketOffer.objects.filter(ticket=acknowledged).values_list("id", "status", "due_at"))
    services.assign(world.actor("rita"), confirmation_number=acknowledged.confirmation_number, assignee="me")
    assert list(TicketOffer.objects.filter(ticket=acknowledged).values_list("id", "status", "due_at")) == before


# -- repairs and the migration -------------------------------------------------------------------


def test_lost_sqlite_triggers_are_put_back_and_drifted_rows_fixed(world, acknowledged):
    if connection.vendor != "sqlite":
        assert offer_keys.ensure_sqlite_triggers() is False  # PostgreSQL keeps triggers through table changes
        return
    with connection.cursor() as cursor:
        for name in offer_keys.SQLITE_TRIGGERS:
            cursor.execute(f"DROP TRIGGER {name}")
    Ticket.objects.filter(pk=acknowledged.pk).update(status="remediating", due_at=T0)
    assert offer_keys.stale_links().count() == 2  # nothing followed
    assert offer_keys.ensure_sqlite_triggers() is True
    assert in_step(acknowledged).due_at == T0
    assert offer_keys.ensure_sqlite_triggers() is False
    Ticket.objects.filter(pk=acknowledged.pk).update(due_at=NO_DEADLINE)
    in_step(acknowledged)


@pytest.mark.parametrize("batch", [1, 3, 20_000])
def test_the_migration_backfills_every_row(world, monkeypatch, batch):
    migration = importlib.import_module("secdesk.tickets.migrations.0004_ticket_offer_queue_keys")
    monkeypatch.setattr(migration, "BACKFILL_TICKETS", batch)
    tickets = [file_ticket(world, "contoso-backup", "contoso-vault", submit=i % 2 == 0) for i in range(5)]
    Ticket.objects.filter(pk=tickets[1].pk).update(status="closed")
    # Rows as the migration finds them: the defaults its new columns were added with.
    TicketOffer.objects.update(status="draft", due_at=NO_DEADLINE)
    assert offer_keys.stale_links().count() == 8  # the three submitted and the closed tickets' rows
    migration.backfill(apps, SimpleNamespace(connection=connection))  # all it reads of its schema editor
    for ticket in tickets:
        in_step(ticket)


# -- the queue's offer filter ------------------------------------------------------------------


def _reference(offer_id: int, **filters: Any) -> list[int]:
    """What the queue's offer filter returned before: a correlated EXISTS on the ticket-offer table."""
    linked = TicketOffer.objects.filter(ticket_id=OuterRef("id"), offer_id=offer_id)
    return list(
        Ticket.objects.filter(status__in=OPEN_STATUS_VALUES)
        .filter(Exists(linked))
        .filter(**filters)
        .order_by("due_at", "id")
        .values_list("id", flat=True)
    )


def _paged(world, *, limit: int, **filters: Any) -> list[int]:
    ids: list[int] = []
    cursor = None
    for _ in range(1000):
        page = queue(world.actor("rita"), cursor=cursor, limit=limit, **filters)
        ids.extend(t.id for t in page.items)
        assert len(page.items) <= limit
        cursor = page.next_cursor
        if cursor is None:
            return ids
    raise AssertionError("the cursor never ended")


# queue filters -> the same condition on Ticket, for the reference query
FILTERS: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({}, {}),
    ({"severity": "critical"}, {"severity": "critical"}),
    ({"status": "assessing"}, {"status": "assessing"}),
    ({"breached": True}, {"breached": True}),
    ({"assignee": "none"}, {"assignee": None}),
    ({"publisher": "contoso"}, {"organization__slug": "contoso"}),
    ({"q": "alpha"}, {"description__contains": "alpha"}),
    ({"severity": "high", "breached": False}, {"severity": "high", "breached": False}),
]


@pytest.fixture
def crowd(world) -> random.Random:
    """300 tickets of both publishers: random statuses (some not open), offers, deadlines (often equal)."""
    rng = random.Random(20261125)
    statuses = [*OPEN_STATUS_VALUES, "draft", "resolved", "closed"]
    offers = {
        org: sorted((o for o in world.offers.values() if o.organization_id == org.id), key=lambda o: o.slug)
        for org in (world.orgs["contoso"], world.orgs["fabrikam"])
    }
    made = []
    for i in range(300):
        org = rng.choice(sorted(offers, key=lambda o: o.slug))
        word = rng.choice(["alpha", "beta"])
        made.append(
            Ticket(
                confirmation_number=confirmation.generate(),
                organization=org,
                created_by=world.users["alice" if org.slug == "contoso" else "bob"],
                category="vulnerability",
                status=rng.choice(statuses),
                severity=rng.choice(["", "low", "high", "critical"]),
                breached=rng.random() < 0.3,
                assignee=rng.choice([None, world.users["rita"], world.users["leo"]]),
                # 12 distinct deadlines and "none" for 300 tickets: pages end inside runs of equal values.
                due_at=NO_DEADLINE if rng.random() < 0.1 else T0 + timedelta(hours=rng.randrange(12)),
                description=f"{word} {i}",
                search_document=f"{word} {i}",
            )
        )
    tickets = Ticket.objects.bulk_create(made)
    links = []
    for ticket in tickets:
        mine = offers[ticket.organization]
        links.extend(TicketOffer(ticket=ticket, offer=o) for o in rng.sample(mine, rng.randint(1, len(mine))))
    TicketOffer.objects.bulk_create(links)  # the keys come from the tickets (the insert trigger)
    assert not offer_keys.stale_links().exists()
    return rng


def _check_every_offer(world, rng: random.Random) -> int:
    compared = 0
    for slug, offer in sorted(world.offers.items()):
        for filters, reference in FILTERS:
            expected = _reference(offer.id, **reference)
            limit = rng.choice([1, 3, 7, 50])
            assert _paged(world, limit=limit, offer=slug, **filters) == expected, (slug, filters, limit)
            compared += len(expected)
    return compared


def test_the_offer_filter_pages_exactly_like_the_exists_it_replaced(world, crowd):
    assert _check_every_offer(world, crowd) > 300
    # Then a third of the tickets change, by every kind of write, and offers move between tickets.
    tickets = list(Ticket.objects.order_by("id"))
    for ticket in crowd.sample(tickets, 100):
        status = crowd.choice([*OPEN_STATUS_VALUES, "closed"])
        due = crowd.choice([NO_DEADLINE, T0 + timedelta(hours=crowd.randrange(12))])
        how = crowd.randrange(3)
        if how == 0:
            ticket.status, ticket.due_at = status, due
            ticket.save()
        elif how == 1:
            Ticket.objects.filter(pk=ticket.pk).update(status=status, due_at=due)
        else:
            ticket.due_at = due
            ticket.save(update_fields=["due_at"])
    for link in crowd.sample(list(TicketOffer.objects.order_by("id")), 40):
        link.delete()
    assert not offer_keys.stale_links().exists()
    assert _check_every_offer(world, crowd) > 200


def test_a_cursor_from_a_page_of_one_offer_continues_after_equal_deadlines(world, crowd):
    backup = world.offers["contoso-backup"]
    expected = _reference(backup.id)
    due = {t.id: t.due_at for t in Ticket.objects.filter(id__in=expected)}
    # Runs of equal deadlines longer than a page: the cursor's id breaks the ties.
    assert max(sum(1 for i in expected if due[i] == d) for d in set(due.values())) > 3
    assert _paged(world, limit=3, offer="contoso-backup") == expected


def test_a_ticket_with_two_offers_is_listed_once_per_offer_filter(world, crowd):
    both = (
        Ticket.objects.filter(status__in=OPEN_STATUS_VALUES)
        .filter(Q(offer_links__offer__slug="contoso-backup"))
        .filter(offer_links__offer__slug="contoso-vault")
    )
    assert both.exists()
    for slug in ("contoso-backup", "contoso-vault"):
        listed = _paged(world, limit=5, offer=slug)
        assert len(listed) == len(set(listed))
        assert set(both.values_list("id", flat=True)) <= set(listed)


# -- plans -----------------------------------------------------------------------------------------


def _statements(world, **filters: Any) -> list[tuple[str, Any]]:
    ran: list[tuple[str, Any]] = []

    def record(execute, sql, params, many, context):
        ran.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        queue(world.actor("rita"), **filters)
    return ran


def _page_statement(world, **filters: Any) -> tuple[str, Any]:
    [statement] = [s for s in _statements(world, **filters) if s[0].startswith('SELECT "tickets_ticket"."id"')]
    return statement


def _link_scans(plan: Any) -> list[dict[str, Any]]:
    nodes, found = [plan[0]["Plan"]], []
    while nodes:
        node = nodes.pop()
        if node.get("Relation Name") in {"tickets_ticket_offers", "tickets_ticket"}:
            found.append(node)
        nodes.extend(node.get("Plans", []))
    return found


@pytest.mark.parametrize("filters", [{}, {"severity": "critical"}, {"breached": True}])
def test_the_offer_filter_reads_its_partial_index_in_order(world, crowd, filters):
    first = _page_statement(world, offer="contoso-backup", **filters)
    cursor = queue(world.actor("rita"), offer="contoso-backup", limit=1, **filters).next_cursor
    assert cursor is not None
    later = _page_statement(world, offer="contoso-backup", cursor=cursor, **filters)
    assert "EXISTS" not in first[0]
    assert first[0].count("tickets_ticket_offers") == 1  # one join, whatever the filters and the cursor
    assert later[0].count("tickets_ticket_offers") == 1
    with connection.cursor() as db:
        if connection.vendor == "postgresql":
            # Price out reading everything and sorting: a plan without a Sort exists only if the
            # partial index applies and yields the order.
            db.execute("SET LOCAL enable_seqscan = off")
            db.execute("SET LOCAL enable_bitmapscan = off")
            db.execute("SET LOCAL enable_sort = off")
            plans = []
            for sql, params in (first, later):
                db.execute("EXPLAIN (FORMAT JSON) " + sql, params)
                plans.append(db.fetchone()[0])
            for plan in plans:
                assert '"Node Type": "Sort"' not in json.dumps(plan), plan
            scans = [{s.get("Index Name"): s for s in _link_scans(plan)} for plan in plans]
            assert all("queue_offer_due" in scan for scan in scans), scans
            assert "ROW(due_at, ticket_id) > ROW(" in scans[1]["queue_offer_due"]["Index Cond"], scans[1]
        else:
            plans = []
            for sql, params in (first, later):
                db.execute("EXPLAIN QUERY PLAN " + sql, params)
                plans.append(" | ".join(row[-1] for row in db.fetchall()))
            for plan in plans:
                assert "USE TEMP B-TREE FOR ORDER BY" not in plan, plan
                assert plan.startswith("SEARCH offer_link USING INDEX queue_offer_due (offer_id=?"), plan
            assert "(due_at,ticket_id)>(?,?)" in plans[1], plans[1]


@pytest.mark.django_db(transaction=True)
def test_a_row_inserted_while_its_ticket_changes_copies_the_outcome(world):
    """The insert waits for the ticket's change to commit, then copies its outcome.

    PostgreSQL: the trigger reads the ticket FOR SHARE; SQLite: the change holds the one write lock.
    """
    ticket = file_ticket(world, "contoso-backup")
    changed, release = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def change() -> None:
        try:
            with transaction.atomic():
                Ticket.objects.filter(pk=ticket.pk).update(status="remediating", due_at=T0)
                changed.set()
                release.wait(10)
        except BaseException as exc:  # reported by the test thread
            failures.append(exc)
        finally:
            connections.close_all()

    def insert() -> None:
        try:
            TicketOffer.objects.create(ticket_id=ticket.pk, offer=world.offers["contoso-vault"])
        except BaseException as exc:
            failures.append(exc)
        finally:
            connections.close_all()

    changer = threading.Thread(target=change)
    changer.start()
    assert changed.wait(10)
    inserter = threading.Thread(target=insert)
    inserter.start()
    inserter.join(1)
    waited = inserter.is_alive()  # blocked on the ticket's row lock
    release.set()
    changer.join(10)
    inserter.join(10)
    assert not failures, failures
    assert waited
    stored = in_step(ticket)
    assert (stored.status, stored.due_at) == ("remediating", T0)
    assert TicketOffer.objects.filter(ticket=stored).count() == 2
