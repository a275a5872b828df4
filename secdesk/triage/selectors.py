"""Reads for the marketplace's triage work: the queue of open tickets, what is due first.

The queue is for marketplace staff only (responders, leads, auditors: anyone
on staff holding ``ticket:read``); anyone else is refused with
``PermissionDenied``. It holds open tickets only (``OPEN_STATUSES``), ordered
by ``(due_at, id)`` — the next deadline the marketplace owes, then filing
order; tickets with no running clock carry ``NO_DEADLINE`` and come last.

Performance contract (checked by ``tests/integration/test_queue.py`` and
``bench/triage_queue.py``):

* every query is written so that one of the partial indexes ``queue_*``
  (``WHERE status IN <open statuses>``, keys ``[filter column,] due_at, id``)
  both narrows and orders it: the open-status condition is spelled exactly
  as in the index predicate, with literal values (SQLite cannot match a
  partial index against bound parameters), and the keyset condition is one row comparison
  ``(due_at, id) > (cursor due, cursor id)`` that both PostgreSQL and SQLite
  turn into an index range — so a page costs the same however deep it is;
* filtered on an offer, the query is driven by that offer's ticket-offer
  rows instead, which carry copies of the ticket's ``status`` and ``due_at``
  (``TicketOffer``, kept in step by database triggers): the partial index
  ``queue_offer_due`` (``offer_id, due_at, ticket_id``) narrows to the
  offer's open tickets and yields their order, so a small offer costs no
  more than a large one (an ``EXISTS`` on the ticket could only do one of
  the two); the row is unique per (ticket, offer), so the join adds no
  duplicates;
* one query for the page, one for the offers of the whole page (into a plain
  list attribute, :data:`OFFERS_ATTR`), plus one per filter naming something
  by slug or e-mail (publisher, offer, assignee), and up to two for a search
  (a bounded walk of the queue, then the full-text index if the words are
  rare; see ``_searched``);
* ``search_document`` (up to 200 kB a ticket) is never loaded.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from django.db import connections
from django.db.models import DateTimeField, F, FilteredRelation, Func, Prefetch, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.lookups import Lookup

from secdesk.accounts.models import Organization, User
from secdesk.domain.errors import ErrorList, PermissionDenied
from secdesk.domain.lifecycle import OPEN_STATUSES
from secdesk.domain.policy import Actor, Permission, can
from secdesk.marketplace.models import Offer
from secdesk.tickets import search
from secdesk.tickets.models import OPEN_STATUS_VALUES, PRIORITY_CHOICES, SEVERITY_CHOICES, Category, Ticket
from secdesk.tickets.selectors import Page, tickets_visible_to

__all__ = [
    "ASSIGNEE_ME",
    "ASSIGNEE_NONE",
    "MAX_QUEUE_PAGE",
    "OFFERS_ATTR",
    "SEARCH_CAP",
    "SEARCH_WALK",
    "decode_queue_cursor",
    "encode_queue_cursor",
    "queue",
]

MAX_QUEUE_PAGE: Final = 100
#: Searching on PostgreSQL, tickets read in order before deciding that the words are rare.
SEARCH_WALK: Final = 2000
#: ... and the most matches the full-text index is asked for before falling back to the walk.
SEARCH_CAP: Final = 10_000
#: Each ticket of a page carries its offers, sorted by slug, in this attribute
#: (a plain list: half the cost of filling ``ticket.offers.all()``'s cache).
OFFERS_ATTR: Final = "queue_offers"
#: ``assignee=`` values that are not an e-mail address.
ASSIGNEE_ME: Final = "me"
ASSIGNEE_NONE: Final = "none"

_OPEN: Final = frozenset(s.value for s in OPEN_STATUSES)
_SEVERITIES: Final = tuple(value for value, _ in SEVERITY_CHOICES)
_PRIORITIES: Final = tuple(value for value, _ in PRIORITY_CHOICES)
_CATEGORIES: Final = tuple(Category.values)
_SLUG: Final = re.compile(r"^[-a-zA-Z0-9_]{1,80}$")
_WORD: Final = re.compile(r"^[a-z_]+$")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR_KIND: Final = "q"
#: The queue's order, on the ticket...
_TICKET_KEYS: Final = ("due_at", "id")
#: ... and, filtered on an offer, on that offer's ticket-offer row (the ticket's keys, copied there).
_LINK: Final = "offer_link"
_LINK_KEYS: Final = (f"{_LINK}__due_at", f"{_LINK}__ticket_id")


class _Row(Func):
    """``(a, b)``: a row value."""

    function = ""
    output_field = DateTimeField()  # only ever compared whole; any field will do


class _AfterKey(Lookup):
    """``(due_at, id) > (due, pk)``: the keyset condition as one row comparison, an index range on both backends.

    ``keys`` names the two columns compared: the ticket's own, or the copies
    on the ticket-offer row when the queue reads one offer (:data:`_LINK_KEYS`).
    """

    lookup_name = "after_key"
    prepare_rhs = False

    def __init__(self, due: datetime, pk: int, keys: tuple[str, str] = _TICKET_KEYS) -> None:
        super().__init__(_Row(F(keys[0]), F(keys[1])), _Row(Value(due, output_field=DateTimeField()), Value(pk)))

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:  # type: ignore[override]  # params hold datetimes too
        lhs_sql, lhs_params = compiler.compile(self.lhs)
        rhs_sql, rhs_params = compiler.compile(self.rhs)
        return f"{lhs_sql} > {rhs_sql}", [*lhs_params, *rhs_params]


class _OpenStatus(Lookup):
    """``status IN ('acknowledged', ...)``: the ``queue_*`` indexes' predicate, written out as literals.

    Literals, not parameters: SQLite uses a partial index only when it can
    see, while preparing the statement, that the query's condition implies
    the index's, and ``status IN (?, ?, ...)`` proves nothing (measured: a
    full scan and a sort of 100k tickets, 40-110 ms, instead of 0.3 ms).
    The values are constants of the code, checked to be plain words.

    On SQLite it is also wrapped in ``likely()``: without statistics SQLite
    would rather look the statuses up in a ``status``-leading index and sort
    every open ticket; the hint (which leaves the partial indexes usable)
    makes it walk ``queue_due`` in order instead.
    """

    lookup_name = "open_status"
    prepare_rhs = False

    def __init__(self, column: str = "status") -> None:
        if not all(_WORD.match(value) for value in OPEN_STATUS_VALUES):
            raise ValueError("open statuses must be plain words to be written into SQL")
        super().__init__(F(column), tuple(OPEN_STATUS_VALUES))

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:  # type: ignore[override]  # params hold datetimes too
        lhs_sql, lhs_params = compiler.compile(self.lhs)
        values = ", ".join(f"'{value}'" for value in self.rhs)
        return f"{lhs_sql} IN ({values})", list(lhs_params)

    def as_sqlite(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        sql, params = self.as_sql(compiler, connection)
        return f"likely({sql})", params


def encode_queue_cursor(due_at: datetime, ticket_id: int) -> str:
    """An opaque cursor for "after this ticket": its ``due_at`` (UTC microseconds) and id."""
    micros = (due_at - _EPOCH) // timedelta(microseconds=1)
    return base64.urlsafe_b64encode(f"{_CURSOR_KIND}:{micros}:{ticket_id}".encode()).decode().rstrip("=")


def decode_queue_cursor(cursor: str) -> tuple[datetime, int] | None:
    """``(due_at, id)`` from a cursor :func:`encode_queue_cursor` made, or ``None`` when it is not one."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        kind, micros, ticket_id = raw.split(":")
        if kind != _CURSOR_KIND:
            return None
        return _EPOCH + timedelta(microseconds=int(micros)), int(ticket_id)
    except (ValueError, UnicodeDecodeError, binascii.Error, OverflowError):
        return None


def queue(
    actor: Actor,
    *,
    status: str | None = None,
    category: str | None = None,
    severity: str | None = None,
    priority: str | None = None,
    offer: str | None = None,
    publisher: str | None = None,
    assignee: str | None = None,
    breached: bool | None = None,
    q: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    """One page of the triage queue: open tickets, what is due first, then filing order.

    Filters (all optional, ANDed): ``status`` (an open status), ``category``,
    ``severity``, ``priority``, ``offer`` (offer slug), ``publisher``
    (organisation slug), ``assignee`` (an e-mail address, ``"me"`` or
    ``"none"`` for unassigned), ``breached``, and ``q``, full-text search
    over the ticket's text and thread (see :mod:`secdesk.tickets.search`).
    ``cursor`` is the ``next_cursor`` of the previous page; ``limit`` is
    clamped to 1..100. Each ticket comes with its organisation and assignee
    loaded, and its offers (sorted by slug) as the list ``ticket.queue_offers``
    (:data:`OFFERS_ATTR`) — use that, not ``ticket.offers.all()``, which
    would query again.

    Raises ``PermissionDenied`` for anyone not holding ``queue:read`` (staff),
    and ``InvalidInput`` listing every filter at fault (an unknown or closed
    status, an unknown category/severity/priority, a publisher, offer or
    assignee that does not exist, search text over 200 characters, a cursor
    this desk did not issue).
    """
    if not can(actor, Permission.QUEUE_READ):
        raise PermissionDenied("the triage queue is for marketplace staff")
    errors = ErrorList()
    _check_choice(errors, "status", status, tuple(sorted(_OPEN)), "an open status")
    _check_choice(errors, "category", category, _CATEGORIES)
    _check_choice(errors, "severity", severity, _SEVERITIES)
    _check_choice(errors, "priority", priority, _PRIORITIES)
    if q is not None and len(q) > search.MAX_QUERY_CHARS:
        errors.add("q", f"must be at most {search.MAX_QUERY_CHARS} characters", code="too_long")
    after = None
    if cursor:
        after = decode_queue_cursor(cursor)
        if after is None:
            errors.add("cursor", "is not a cursor this desk issued", code="invalid_cursor")
    organization_id = _resolve(errors, "publisher", publisher, _organization_id)
    offer_id = _resolve(errors, "offer", offer, _offer_id)
    assignee_filter = _assignee(errors, actor, assignee)
    errors.raise_if_any()

    queryset: QuerySet[Ticket] = tickets_visible_to(actor).filter(_OpenStatus())
    queryset, keys = _ordered_on(queryset, offer_id, after)
    if status:
        queryset = queryset.filter(status=status)
    if category:
        queryset = queryset.filter(category=category)
    if severity:
        queryset = queryset.filter(severity=severity)
    if priority:
        queryset = queryset.filter(priority=priority)
    if organization_id is not None:
        queryset = queryset.filter(organization_id=organization_id)
    if assignee_filter is not None:
        queryset = queryset.filter(assignee_id=assignee_filter) if assignee_filter else queryset.filter(assignee=None)
    if breached is not None:
        queryset = queryset.filter(breached=breached)
    limit = max(1, min(int(limit), MAX_QUEUE_PAGE))
    if q is not None and search.search_text(q):
        queryset = _searched(queryset, q, limit, keys)

    rows: list[Ticket] = list(
        queryset.defer("search_document")
        .select_related("organization", "assignee")
        .prefetch_related(Prefetch("offers", queryset=Offer.objects.order_by("slug"), to_attr=OFFERS_ATTR))
        .order_by(*keys)[: limit + 1]
    )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_queue_cursor(rows[-1].due_at, rows[-1].id) if more and rows else None
    return Page(items=rows, next_cursor=next_cursor)


def _ordered_on(
    queryset: QuerySet[Ticket], offer_id: int | None, after: tuple[datetime, int] | None
) -> tuple[QuerySet[Ticket], tuple[str, str]]:
    """``queryset`` narrowed to the offer (if any) and to what comes after the cursor, and the two keys to order on.

    Without an offer: the ticket's own ``(due_at, id)``, read from a ``queue_*`` index. With one,
    the query is driven by that offer's ticket-offer rows, which carry copies of the ticket's keys
    (``TicketOffer``, kept in step by the database): ``queue_offer_due`` narrows to the offer's open
    tickets and reads them by deadline, so a page costs the same for an offer with ten open tickets
    or a hundred thousand, and the keyset condition is a range of that index. One row per (ticket,
    offer), so the join adds no duplicates. Everything that names the row is in ONE ``filter()``
    call: Django would give a later call on a multi-valued relation a join of its own.
    """
    if offer_id is None:
        return (queryset if after is None else queryset.filter(_AfterKey(*after))), _TICKET_KEYS
    row = FilteredRelation("offer_links", condition=Q(offer_links__offer_id=offer_id))
    conditions: list[Lookup] = [_OpenStatus(f"{_LINK}__status")]
    if after is not None:
        conditions.append(_AfterKey(*after, keys=_LINK_KEYS))
    # The keyword condition makes the join an inner one (expressions alone leave it outer).
    return queryset.annotate(**{_LINK: row}).filter(*conditions, **{f"{_LINK}__offer_id": offer_id}), _LINK_KEYS


def _searched(queryset: QuerySet[Ticket], q: str, limit: int, keys: tuple[str, str]) -> QuerySet[Ticket]:
    """``queryset`` (filtered, after the cursor) narrowed to the tickets matching ``q``.

    Left to itself the database picks one plan for every search: PostgreSQL
    guesses how many tickets match from statistics that know little about
    rare words (a CVE id, a confirmation number) and, guessing "many", walks
    the queue in order testing every ticket -- for a word in one ticket of a
    million, all of them (seconds); SQLite always fetches every match and
    sorts them -- for a word in most tickets, most of the table. So the plan
    is chosen from what the data says, at a bounded cost:

    1. read at most :data:`SEARCH_WALK` tickets of the queue in order and
       test each (one query, a derived table with its own LIMIT): when a
       page is among them (a common word), its ids are the answer;
    2. otherwise matches are sparse: ask the full-text index alone for up
       to :data:`SEARCH_CAP` matching ids; the page query sorts those;
    3. only with more than that (common overall, sparse in this part of the
       queue) is the text condition left to the planner.
    """
    using = queryset.db
    condition = search.row_condition(using, q, id_sql="w.id", vector_sql="w.match_vector")
    if condition is None:
        return queryset.none()
    inner = queryset.order_by(*keys)
    walk: QuerySet[Any, Any]
    if connections[using].vendor == "postgresql":
        vector = RawSQL(f'"tickets_ticket"."{search.PG_VECTOR_COLUMN}"', ())  # noqa: S611 — a fixed column name
        walk = inner.annotate(match_vector=vector).values_list("id", "due_at", "match_vector")
    else:
        walk = inner.values_list("id", "due_at")
    inner_sql, inner_params = walk[:SEARCH_WALK].query.sql_with_params()
    condition_sql, condition_params = condition
    with connections[using].cursor() as cursor:
        cursor.execute(
            f"SELECT w.id FROM ({inner_sql}) w WHERE {condition_sql} ORDER BY w.due_at, w.id LIMIT %s",  # noqa: S608 — Django's and search's SQL; values are parameters
            [*inner_params, *condition_params, limit + 1],
        )
        ids = [row[0] for row in cursor.fetchall()]
    if len(ids) > limit:
        return queryset.filter(id__in=ids)
    ids = search.indexed_ids(using, q, SEARCH_CAP + 1)
    if len(ids) <= SEARCH_CAP:
        return queryset.filter(id__in=ids) if ids else queryset.none()
    return search.matching(queryset, q)


def _check_choice(
    errors: ErrorList, name: str, value: str | None, allowed: tuple[str, ...], what: str | None = None
) -> None:
    if value is not None and value not in allowed:
        errors.add(name, f"must be {what or 'one of'}: {', '.join(allowed)}", code="invalid_choice")


def _organization_id(slug: str) -> int | None:
    return Organization.objects.filter(slug=slug).values_list("id", flat=True).first()


def _offer_id(slug: str) -> int | None:
    return Offer.objects.filter(slug=slug).values_list("id", flat=True).first()


def _resolve(errors: ErrorList, name: str, slug: str | None, lookup: Callable[[str], int | None]) -> int | None:
    if slug is None:
        return None
    found = lookup(slug) if _SLUG.match(slug) else None
    if found is None:
        errors.add(name, f"no {name} has the slug {slug[:80]!r}", code="unknown")
    return found


def _assignee(errors: ErrorList, actor: Actor, assignee: str | None) -> int | None:
    """The assignee's user id; 0 for unassigned; ``None`` for no filter (or an error recorded)."""
    if assignee is None:
        return None
    if assignee == ASSIGNEE_NONE:
        return 0
    if assignee == ASSIGNEE_ME:
        return actor.signed_in_id()
    found = None
    if 0 < len(assignee) <= 254 and "@" in assignee and assignee.isprintable():
        found = User.objects.filter(email__iexact=assignee.strip()).values_list("id", flat=True).first()
    if found is None:
        errors.add("assignee", "must be an existing user's e-mail address, 'me' or 'none'", code="unknown")
    return found
