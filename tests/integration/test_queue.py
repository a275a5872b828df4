"""The triage queue selector and full-text search, on SQLite and on PostgreSQL.

Tickets are written straight to the database here (the services are tested
elsewhere); their search document is built with ``search.document_for`` as the
services do.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from secdesk.domain import confirmation
from secdesk.domain.errors import InvalidInput, PermissionDenied
from secdesk.domain.policy import ANONYMOUS
from secdesk.tickets import search
from secdesk.tickets.models import NO_DEADLINE, Message, Ticket
from secdesk.triage.selectors import OFFERS_ATTR, decode_queue_cursor, encode_queue_cursor, queue

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def make(world: Any, label: str, *, due: datetime | None = T0, **fields: Any) -> Ticket:
    """A ticket of contoso (unless ``organization`` says otherwise) with ``label`` in its description."""
    org = fields.pop("organization", "contoso")
    offers = fields.pop("offers", ["contoso-backup"] if org == "contoso" else ["fabrikam-gateway"])
    assignee = fields.pop("assignee", None)
    defaults: dict[str, Any] = {
        "category": "vulnerability",
        "status": "assessing",
        "severity": "medium",
        "priority": "P3",
        "description": f"{label} ticket",
        "submitted_at": T0 - timedelta(days=1),
        "acknowledgement_due": T0,
    }
    defaults.update(fields)
    ticket = Ticket.objects.create(
        confirmation_number=confirmation.generate(),
        organization=world.orgs[org],
        created_by=world.users["alice" if org == "contoso" else "bob"],
        due_at=NO_DEADLINE if due is None else due,
        assignee=world.users[assignee] if assignee else None,
        **defaults,
    )
    ticket.offers.set([world.offers[slug] for slug in offers])
    ticket.search_document = search.document_for(ticket)
    ticket.save(update_fields=["search_document"])
    return ticket


def labels(page: Any) -> list[str]:
    return [ticket.description.split()[0].rstrip(":") for ticket in page.items]


def everything(actor: Any, limit: int = 100, **filters: Any) -> list[str]:
    """Every page, followed to the end, as labels."""
    out: list[str] = []
    cursor = None
    for _ in range(1000):
        page = queue(actor, cursor=cursor, limit=limit, **filters)
        out.extend(labels(page))
        cursor = page.next_cursor
        if cursor is None:
            return out
    raise AssertionError("the cursor never ended")


@pytest.fixture
def rita(world):
    return world.actor("rita")


@pytest.fixture
def desk(world):
    """Eight open tickets with varied attributes, plus tickets the queue must leave out."""
    made = {
        "late": make(world, "late", due=T0 - timedelta(days=2), severity="critical", priority="P1", breached=True),
        "soon": make(world, "soon", due=T0 + timedelta(hours=1), assignee="rita", status="remediating"),
        "gateway": make(
            world,
            "gateway",
            organization="fabrikam",
            due=T0 + timedelta(hours=2),
            category="security_incident",
            severity="high",
            priority="P2",
            assignee="leo",
        ),
        "fresh": make(world, "fresh", due=T0 + timedelta(hours=3), status="submitted", severity="", priority=""),
        "vault": make(
            world, "vault", due=T0 + timedelta(hours=4), offers=["contoso-vault", "contoso-backup"], priority="P4"
        ),
        "monitor": make(
            world,
            "monitor",
            organization="fabrikam",
            offers=["fabrikam-monitor"],
            due=T0 + timedelta(days=3),
            status="awaiting_publisher",
            severity="low",
        ),
        "reopened": make(world, "reopened", due=T0 + timedelta(days=5), status="reopened", assignee="rita"),
        "parked": make(world, "parked", due=None, status="notifying"),
    }
    # Not in the queue: not open.
    make(world, "draft", due=T0 - timedelta(days=9), status="draft")
    make(world, "resolved", due=T0 - timedelta(days=9), status="resolved")
    make(world, "closed", due=T0 - timedelta(days=9), status="closed")
    return made


ORDER = ["late", "soon", "gateway", "fresh", "vault", "monitor", "reopened", "parked"]


def test_open_tickets_only_what_is_due_first_no_deadline_last(desk, rita):
    page = queue(rita)
    assert labels(page) == ORDER
    assert page.next_cursor is None
    assert page.items[-1].due_at == NO_DEADLINE


def test_each_ticket_comes_with_its_organisation_assignee_and_sorted_offers(desk, rita):
    by_label = dict(zip(labels(page := queue(rita)), page.items, strict=True))
    assert by_label["gateway"].organization.slug == "fabrikam"
    assert by_label["gateway"].assignee.email == "leo@marketplace.example"
    assert by_label["late"].assignee is None
    assert [o.slug for o in getattr(by_label["vault"], OFFERS_ATTR)] == ["contoso-backup", "contoso-vault"]
    # The (large) search document is not loaded.
    assert "search_document" in by_label["vault"].get_deferred_fields()


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"status": "submitted"}, ["fresh"]),
        ({"status": "reopened"}, ["reopened"]),
        ({"category": "security_incident"}, ["gateway"]),
        ({"category": "vulnerability"}, ["late", "soon", "fresh", "vault", "monitor", "reopened", "parked"]),
        ({"severity": "critical"}, ["late"]),
        ({"severity": "medium"}, ["soon", "vault", "reopened", "parked"]),
        ({"priority": "P4"}, ["vault"]),
        ({"priority": "P3"}, ["soon", "monitor", "reopened", "parked"]),
        ({"offer": "contoso-vault"}, ["vault"]),
        ({"offer": "contoso-backup"}, ["late", "soon", "fresh", "vault", "reopened", "parked"]),
        ({"offer": "fabrikam-monitor"}, ["monitor"]),
        ({"publisher": "fabrikam"}, ["gateway", "monitor"]),
        ({"assignee": "rita@marketplace.example"}, ["soon", "reopened"]),
        ({"assignee": "LEO@marketplace.example"}, ["gateway"]),
        ({"assignee": "me"}, ["soon", "reopened"]),
        ({"assignee": "none"}, ["late", "fresh", "vault", "monitor", "parked"]),
        ({"breached": True}, ["late"]),
        ({"breached": False}, ORDER[1:]),
        ({"publisher": "contoso", "severity": "medium", "assignee": "none"}, ["vault", "parked"]),
        ({"offer": "contoso-backup", "status": "assessing", "breached": False}, ["vault"]),
    ],
)
def test_filters(desk, rita, filters, expected):
    assert labels(queue(rita, **filters)) == expected


def test_me_is_whoever_asks(desk, world):
    assert labels(queue(world.actor("leo"), assignee="me")) == ["gateway"]
    assert labels(queue(world.actor("audrey"), assignee="me")) == []


def test_a_ticket_with_two_offers_appears_once(desk, rita):
    listed = everything(rita, offer="contoso-backup", limit=2)
    assert listed.count("vault") == 1
    assert len(listed) == len(set(listed)) == 6


def test_every_bad_filter_is_reported_at_once(desk, rita):
    with pytest.raises(InvalidInput) as caught:
        queue(
            rita,
            status="closed",
            category="complaint",
            severity="urgent",
            priority="P9",
            offer="no-such-offer",
            publisher="no such org",
            assignee="nobody@example.com",
            q="x" * 201,
            cursor="not-a-cursor",
        )
    fields = {e.field: e.code for e in caught.value.errors}
    assert fields == {
        "status": "invalid_choice",
        "category": "invalid_choice",
        "severity": "invalid_choice",
        "priority": "invalid_choice",
        "offer": "unknown",
        "publisher": "unknown",
        "assignee": "unknown",
        "q": "too_long",
        "cursor": "invalid_cursor",
    }
    status_error = next(e for e in caught.value.errors if e.field == "status")
    assert "submitted" in status_error.message
    assert "closed" not in status_error.message


@pytest.mark.parametrize(
    "cursor",
    [
        "!!!",
        base64.urlsafe_b64encode(b"t:5").decode(),  # a ticket-list cursor, not a queue cursor
        base64.urlsafe_b64encode(b"q:abc:5").decode(),
        base64.urlsafe_b64encode(b"q:1:2:3").decode(),
        base64.urlsafe_b64encode(b"q:99999999999999999999999:1").decode(),  # out of datetime range
        base64.urlsafe_b64encode("q:1:\u0661".encode()).decode(),  # not ASCII
    ],
)
def test_a_cursor_this_desk_did_not_issue_is_refused(desk, rita, cursor):
    with pytest.raises(InvalidInput) as caught:
        queue(rita, cursor=cursor)
    assert [e.field for e in caught.value.errors] == ["cursor"]


def test_cursor_round_trip_keeps_microseconds_and_the_far_future():
    moment = datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=UTC)
    assert decode_queue_cursor(encode_queue_cursor(moment, 42)) == (moment, 42)
    assert decode_queue_cursor(encode_queue_cursor(NO_DEADLINE, 7)) == (NO_DEADLINE, 7)
    assert "=" not in encode_queue_cursor(moment, 42)


def test_keyset_pages_have_no_gap_and_no_repeat_across_equal_deadlines(world, rita):
    # 5 share T0, 4 share T0+1h, 3 have no deadline, others are spread; created out of order.
    dues = [T0 + timedelta(hours=1)] * 2 + [T0] * 5 + [None] * 3 + [T0 - timedelta(minutes=m) for m in (5, 1, 30)]
    dues += [T0 + timedelta(hours=1)] * 2 + [T0 + timedelta(microseconds=1), T0 + timedelta(days=1)]
    made = [make(world, f"t{i:02d}", due=due) for i, due in enumerate(dues)]
    make(world, "gone", due=T0, status="closed")
    expected = [t.description.split()[0] for t in sorted(made, key=lambda t: (t.due_at, t.id))]
    assert len(expected) == 17
    for size in (1, 2, 3, 4, 5, 16, 17, 50):
        assert everything(rita, limit=size) == expected, size
    # The last page of an exact multiple says there is no more.
    first = queue(rita, limit=17)
    assert first.next_cursor is None
    second_to_last = queue(rita, limit=16)
    assert second_to_last.next_cursor is not None
    assert labels(queue(rita, limit=16, cursor=second_to_last.next_cursor)) == [expected[-1]]


def test_paging_with_a_filter_and_a_limit_out_of_range(desk, rita):
    assert everything(rita, limit=1, assignee="none") == ["late", "fresh", "vault", "monitor", "parked"]
    assert len(queue(rita, limit=0).items) == 1  # clamped to 1..100
    assert len(queue(rita, limit=10_000).items) == 8


def test_a_ticket_whose_deadline_moves_shows_up_where_it_now_belongs(desk, rita):
    first = queue(rita, limit=3)
    assert labels(first) == ["late", "soon", "gateway"]
    # "late" gets a later deadline while a responder pages: it now sorts after the cursor.
    desk["late"].due_at = T0 + timedelta(days=4)
    desk["late"].save(update_fields=["due_at"])
    assert labels(queue(rita, limit=10, cursor=first.next_cursor)) == [
        "fresh",
        "vault",
        "monitor",
        "late",
        "reopened",
        "parked",
    ]


# -- who may read it ---------------------------------------------------------------------------


def test_publishers_customers_and_anonymous_are_refused(desk, world):
    for actor in (world.actor("alice"), world.actor("bob"), ANONYMOUS):
        with pytest.raises(PermissionDenied):
            queue(actor)


def test_auditors_and_read_only_staff_tokens_read_the_queue(desk, world):
    assert labels(queue(world.actor("audrey"))) == ORDER
    assert labels(queue(world.actor("rita", write_allowed=False), severity="critical")) == ["late"]


# -- cost --------------------------------------------------------------------------------------


def test_queries_are_bounded_whatever_the_page_size(world, rita, django_assert_max_num_queries):
    slugs = ["contoso-backup", "contoso-vault"]
    for i in range(30):
        make(
            world,
            f"n{i}",
            due=T0 + timedelta(minutes=i),
            offers=slugs[: 1 + i % 2],
            assignee=["rita", "leo", None][i % 3],
        )
    from secdesk.api.queue import queue_item

    with django_assert_max_num_queries(2):  # the page, the offers of the page
        page = queue(rita, limit=30)
        items = [queue_item(ticket, UTC) for ticket in page.items]
    assert len(items) == 30
    assert items[1]["offers"] == ["contoso-backup", "contoso-vault"]
    assert items[0]["assignee"] == "rita@marketplace.example"
    with django_assert_max_num_queries(5):  # plus one per name: publisher, offer, assignee
        page = queue(rita, publisher="contoso", offer="contoso-vault", assignee="leo@marketplace.example", limit=100)
        items = [queue_item(ticket, UTC) for ticket in page.items]
    assert [item["confirmation_number"] for item in items] == [
        t.confirmation_number
        for t in Ticket.objects.filter(
            offers__slug="contoso-vault", assignee__email="leo@marketplace.example"
        ).order_by("due_at", "id")
    ]
    assert len(items) == 5
    with django_assert_max_num_queries(4):  # a search: at most two more (see selectors._searched)
        page = queue(rita, q="ticket", limit=10)
        items = [queue_item(ticket, UTC) for ticket in page.items]
    assert len(items) == 10
    with django_assert_max_num_queries(0), pytest.raises(InvalidInput):  # a refused filter costs no query
        queue(rita, severity="urgent")


def _plan(statement: tuple[str, Any]) -> str:
    """The plan of a statement as Django ran it: its SQL with placeholders, and its parameters.

    (SQLite plans ``status IN (?, ...)`` differently from the same values written
    out, so EXPLAIN must see exactly what ran.)
    """
    sql, params = statement
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A handful of rows is cheaper to read whole and sort; what matters is that the
            # partial index applies to this query and yields its order: with sorting and
            # whole-table reads priced out, a plan without a Sort exists only if it does.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_bitmapscan = off")
            cursor.execute("SET LOCAL enable_sort = off")
            cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
            return json.dumps(cursor.fetchone()[0])
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return " | ".join(row[-1] for row in cursor.fetchall())


def _statements(actor: Any, **filters: Any) -> list[tuple[str, Any]]:
    """Every statement ``queue`` runs, with its parameters as they were bound."""
    ran: list[tuple[str, Any]] = []

    def record(execute, sql, params, many, context):
        ran.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        queue(actor, **filters)
    return ran


def _main_query(actor: Any, **filters: Any) -> tuple[str, Any]:
    [statement] = [s for s in _statements(actor, **filters) if s[0].startswith(PAGE_SQL)]
    return statement


PAGE_SQL = 'SELECT "tickets_ticket"."id", "tickets_ticket"."confirmation_number"'


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        ({}, "queue_due"),
        ({"severity": "medium"}, "queue_sev_due"),
        ({"assignee": "none"}, "queue_assignee_due"),
        ({"breached": False}, "queue_breach_due"),
    ],
)
def test_the_queue_reads_a_partial_index_in_order(desk, rita, filters, index):
    first = _plan(_main_query(rita, **filters))
    cursor = queue(rita, limit=1, **filters).next_cursor
    later = _plan(_main_query(rita, cursor=cursor, **filters))
    if connection.vendor == "postgresql":
        for plan in (first, later):
            assert '"Node Type": "Sort"' not in plan, plan
        # On a few rows the planner may prefer queue_due and filter the rest: either
        # way a queue_* partial index is read, in order.
        scans = [_ticket_scan(json.loads(plan)) for plan in (first, later)]
        assert all(scan["Index Name"] in {index, "queue_due"} for scan in scans), scans
        if filters == {}:
            assert scans[0]["Index Name"] == "queue_due"
        # The keyset condition is an index condition (a range), not a filter over earlier rows.
        assert "ROW(due_at, id) > ROW(" in scans[1]["Index Cond"], scans[1]
    else:
        for plan in (first, later):
            assert "USE TEMP B-TREE FOR ORDER BY" not in plan, plan
            assert re.search(rf"tickets_ticket USING INDEX {index}\b", plan), plan
        assert "due_at>?" in later, later


def _ticket_scan(plan: Any) -> dict[str, Any]:
    """The node of a JSON plan that reads tickets_ticket."""
    nodes = [plan[0]["Plan"]]
    while nodes:
        node = nodes.pop()
        if node.get("Relation Name") == "tickets_ticket":
            return node
        nodes.extend(node.get("Plans", []))
    raise AssertionError(f"no scan of tickets_ticket in {plan}")


def test_full_text_search_uses_its_indexes(desk, rita, monkeypatch):
    from secdesk.triage import selectors

    # A search first walks the queue in deadline order, a bounded number of tickets.
    [walk] = [s for s in _statements(rita, q="upload") if s[0].startswith("SELECT w.id FROM (")]
    if connection.vendor == "postgresql":
        scan = _ticket_scan(json.loads(_plan(walk)))
        assert scan["Index Name"] == "queue_due", scan
        with connection.cursor() as cursor:
            # The function the queue asks for rare words' ids may use nothing but an index...
            cursor.execute("SELECT proconfig FROM pg_proc WHERE proname = 'secdesk_ticket_search'")
            assert sorted(cursor.fetchone()[0]) == ["enable_indexscan=off", "enable_seqscan=off"]
            # ... and the GIN index serves its condition, and the one search.matching writes.
            with CaptureQueriesContext(connection) as captured:
                list(search.matching(Ticket.objects.all(), "upload").values_list("id", flat=True))
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_indexscan = off")
            cursor.execute("SET LOCAL enable_bitmapscan = on")  # _plan turned it off
            for sql in (
                "SELECT id FROM tickets_ticket WHERE search_vector @@ websearch_to_tsquery('english'::regconfig, "
                "'upload') LIMIT 10",
                captured.captured_queries[-1]["sql"],
            ):
                cursor.execute("EXPLAIN " + sql)
                plan = "\n".join(row[0] for row in cursor.fetchall())
                assert "Bitmap Index Scan on ticket_search_gin" in plan, plan
                assert "Index Cond: (search_vector @@ '''upload'''::tsquery)" in plan, plan
    else:
        plan = _plan(walk)
        assert "SCAN tickets_ticket USING INDEX queue_due" in plan, plan
        assert "tickets_ticket_fts VIRTUAL TABLE INDEX" in plan, plan
        # Matches too sparse for the walk come from the FTS5 index.
        monkeypatch.setattr(selectors, "SEARCH_WALK", 1)
        [probe] = [s for s in _statements(rita, q="upload") if "MATCH" in s[0] and s[0].endswith("LIMIT 10001")]
        plan = _plan(probe)
        assert "tickets_ticket_fts VIRTUAL TABLE INDEX" in plan, plan
        assert "SCAN tickets_ticket " not in plan + " ", plan  # no table scan: rowid lookups only


@pytest.mark.parametrize(("walk", "cap"), [(2000, 10_000), (5, 10_000), (5, 3), (1, 1)])
def test_every_search_plan_gives_the_same_pages(world, rita, monkeypatch, walk, cap):
    from secdesk.triage import selectors

    monkeypatch.setattr(selectors, "SEARCH_WALK", walk)
    monkeypatch.setattr(selectors, "SEARCH_CAP", cap)
    words = {}
    for i in range(24):
        text = "common" + (" mid" if i % 3 == 0 else "") + (" rare" if i in (7, 18) else "")
        words[f"w{i:02d}"] = text
        make(world, f"w{i:02d}", due=T0 + timedelta(minutes=i // 2), description=f"w{i:02d}: {text}")
    make(world, "gone", due=T0, status="closed", description="gone: common mid rare")
    for q, word in (("common", "common"), ("mid", "mid"), ("rare", "rare")):
        expected = sorted(label for label, text in words.items() if word in text.split())
        assert everything(rita, q=q, limit=4) == expected, q
        assert everything(rita, q=q, limit=4, publisher="contoso", breached=False) == expected, q
    assert everything(rita, q="rare -mid", limit=4) == ["w07"]  # w18 is "mid" too
    assert everything(rita, q="absent", limit=4) == []
    assert everything(rita, q="mid", limit=2, severity="high") == []
    ran = _statements(rita, q="mid", limit=4)
    assert labels(queue(rita, q="mid", limit=4)) == ["w00", "w03", "w06", "w09"]
    [page_sql] = [sql for sql, _ in ran if sql.startswith(PAGE_SQL)]
    asked_index = any("secdesk_ticket_search" in sql or sql.endswith(f"LIMIT {cap + 1}") for sql, _ in ran)
    # 8 tickets say "mid", the first in the queue among them: found by the walk when it
    # reads 2000 tickets; by the index when the walk reads 5 or 1 and the cap allows 8;
    # by the page query testing the text itself when it does not.
    assert asked_index is (walk < 2000)
    text_test = "@@" if connection.vendor == "postgresql" else "tickets_ticket_fts MATCH"
    assert (text_test in page_sql) is (cap < 8)


# -- full-text search ------------------------------------------------------------------------


@pytest.fixture
def texts(world):
    return {
        "rce": make(
            world,
            "rce",
            due=T0,
            description="rce: Unauthenticated remote code execution in the upload endpoint.",
            remediation_steps="Disable uploads until 4.2.1 ships.",
            cve_ids=["CVE-2026-12345"],
            cwe_ids=["CWE-78"],
        ),
        "token": make(
            world,
            "token",
            due=T0 + timedelta(hours=1),
            organization="fabrikam",
            description="token: API tokens leak into the gateway access log.",
            customer_message="Rotate every token issued before 2 March.",
        ),
        "vault": make(
            world,
            "vault",
            due=T0 + timedelta(hours=2),
            offers=["contoso-vault"],
            description="vault: Remote attackers can read another tenant's secrets.",
        ),
        "closed": make(world, "closed", due=T0, status="closed", description="closed: remote code upload"),
    }


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("upload", ["rce"]),
        ("uploads", ["rce"]),  # stemmed on both databases
        ("UPLOADING", ["rce"]),
        ("remote", ["rce", "vault"]),
        ("remote upload", ["rce"]),  # words are ANDed
        ("remote code execution", ["rce"]),
        ('"remote code"', ["rce"]),  # a phrase
        ('"code remote"', []),
        ("remote -upload", ["vault"]),  # excluded word
        ("upload OR gateway", ["rce", "token"]),
        ("upload or secrets", ["rce", "vault"]),
        ("CVE-2026-12345", ["rce"]),
        ("cve-2026-12345", ["rce"]),
        ("CWE-78", ["rce"]),
        ("contoso-vault", ["vault"]),  # offer slugs are in the document
        ("fabrikam-gateway", ["token"]),
        ("rotate tokens", ["token"]),  # the customer message
        ("4.2.1", ["rce"]),  # the remediation steps
        ("the", []),  # stop words alone find nothing
        ("the remote upload", ["rce"]),  # and are ignored among other words
        ("nothing-like-this", []),
        ("   ", ["rce", "token", "vault"]),  # blank: no search at all
    ],
)
def test_search_finds_sensible_tickets_on_both_databases(texts, rita, q, expected):
    assert labels(queue(rita, q=q)) == expected


def test_search_by_confirmation_number(texts, rita):
    number = texts["token"].confirmation_number
    assert labels(queue(rita, q=number)) == ["token"]
    assert labels(queue(rita, q=number.lower())) == ["token"]


def test_search_combines_with_filters_and_pages(texts, world, rita):
    for i in range(5):
        make(world, f"more{i}", due=T0 + timedelta(days=1, minutes=i), description=f"more{i}: remote shell")
    assert labels(queue(rita, q="remote", publisher="contoso", severity="medium")) == [
        "rce",
        "vault",
        "more0",
        "more1",
        "more2",
        "more3",
        "more4",
    ]
    assert everything(rita, q="remote", limit=2) == ["rce", "vault", "more0", "more1", "more2", "more3", "more4"]
    assert labels(queue(rita, q="remote", offer="contoso-vault")) == ["vault"]


NASTY = [
    '"',
    '"unterminated phrase',
    '""',
    "*",
    "upload*",
    "OR",
    "or or OR",
    "OR upload",
    "upload OR",
    "AND",
    "NOT upload",
    "NEAR(",
    "NEAR(remote upload, 2)",
    "-",
    "--upload",
    "- upload",
    ":",
    "search_document:upload",
    "tickets_ticket_fts:upload",
    "^upload",
    "(upload",
    "upload)",
    "{upload remote}",
    "'",
    "';--",
    "upload' OR '1'='1",
    '" OR 1=1 --',
    "\\",
    "%",
    "_",
    "a & b | !c <-> d",
    "upload:*",
    "remote <2> upload",
    "\x00upload",
    "upload\x07\u200b",
    "ünïcödé Ümläut",
    "日本語",
    "🙂",
    "x" * 200,
    " ".join(["OR"] * 60),
]


@pytest.mark.parametrize("q", NASTY)
def test_search_syntax_in_the_input_never_breaks_the_query(texts, rita, q):
    page = queue(rita, q=q)  # must not raise
    assert set(labels(page)) <= {"rce", "token", "vault"}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("upload*", ["rce"]),
        ('"remote code', ["rce"]),
        ("^upload", ["rce"]),
        ("(upload", ["rce"]),
        ("\x00upload", ["rce"]),
        ("upload OR", ["rce"]),
        ("OR upload", ["rce"]),
        ("*", []),
        ('"', []),
        ("-", []),
    ],
)
def test_syntax_characters_are_only_separators(texts, rita, q, expected):
    assert labels(queue(rita, q=q)) == expected


def test_the_fts5_query_is_only_quoted_words():
    groups = search.fts5_groups('NEAR(a b) "x* y:" -"z" OR col:w^ OR -q')
    assert [(g.include, g.exclude) for g in groups] == [
        (['"near"', '"b"', '"x y"'], ['"z"']),  # "a" is a stop word
        (['"col w"'], []),
        ([], ['"q"']),
    ]


def test_messages_become_searchable_and_edits_replace_text(texts, rita):
    ticket = texts["vault"]
    for body, internal in (
        ("Publisher: the keystore was rotated on Friday.", False),
        ("Internal: escalate to the keystore owners.", True),
    ):
        # What the services do when a message is posted.
        Message.objects.create(ticket=ticket, author=ticket.created_by, body=body, internal=internal)
        search.append_message(ticket.pk, body)
    assert labels(queue(rita, q="keystore")) == ["vault"]
    assert labels(queue(rita, q="friday")) == ["vault"]
    assert labels(queue(rita, q="secrets")) == ["vault"]  # the ticket's own text is still there
    search.append_message(ticket.pk, "   ")  # nothing to add: no change
    ticket.refresh_from_db()
    assert ticket.search_document.endswith("Internal: escalate to the keystore owners.")

    ticket.description = "vault: Session fixation in the admin console."
    ticket.save(update_fields=["description"])
    document = search.refresh(ticket)
    assert "fixation" in document
    assert "keystore" in document
    assert "secrets" not in document
    assert labels(queue(rita, q="secrets")) == []
    assert labels(queue(rita, q="fixation keystore")) == ["vault"]


def test_the_document_is_capped(texts, rita):
    ticket = texts["token"]
    search.append_message(ticket.pk, "word " * (search.MAX_DOCUMENT_CHARS // 5))
    search.append_message(ticket.pk, "unreachable")
    ticket.refresh_from_db()
    assert len(ticket.search_document) == search.MAX_DOCUMENT_CHARS
    assert labels(queue(rita, q="unreachable")) == []
    assert labels(queue(rita, q="gateway")) == ["token"]


def test_the_index_follows_updates_and_deletes(texts, rita):
    ticket = texts["rce"]
    ticket.search_document = "rce: replaced text about kerberos"
    ticket.save()
    assert labels(queue(rita, q="kerberos")) == ["rce"]
    assert labels(queue(rita, q="upload")) == []
    ticket.offers.clear()
    ticket.delete()
    assert labels(queue(rita, q="kerberos")) == []
    assert labels(queue(rita, q="remote")) == ["vault"]


def test_document_for_lists_the_ticket_text(texts):
    ticket = texts["rce"]
    assert search.document_for(ticket).split("\n") == [
        ticket.confirmation_number,
        "rce: Unauthenticated remote code execution in the upload endpoint.",
        "Disable uploads until 4.2.1 ships.",
        "CVE-2026-12345",
        "CWE-78",
        "contoso-backup",
    ]


def test_lost_sqlite_triggers_are_put_back(texts, rita):
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER tickets_ticket_fts_au")
        texts["rce"].search_document = "rce: changed while the trigger was gone: heartbleed"
        texts["rce"].save()
        assert labels(queue(rita, q="heartbleed")) == []  # the index missed it
        assert search.ensure_sqlite_index() is True
        assert search.ensure_sqlite_index() is False  # nothing left to repair
        assert labels(queue(rita, q="heartbleed")) == ["rce"]
    else:
        assert search.ensure_sqlite_index() is False
        texts["rce"].search_document = "rce: heartbleed"
        texts["rce"].save()
        assert labels(queue(rita, q="heartbleed")) == ["rce"]
