"""Full-text search over tickets and their threads.

One text column, ``Ticket.search_document``, holds everything a responder may
want to find a ticket by. This module is the only code that knows what goes
into it and how it is queried:

* :func:`document_for` builds the document of a ticket's own text (the
  answers, CVE/CWE ids, confirmation number, offer slugs). The services call
  it, and store the result, whenever those change (creating a ticket, editing
  a draft, changing its offers).
* :func:`append_message` adds a message body to the document with one
  ``UPDATE`` (no read, no lock needed: concatenation in SQL cannot lose a
  concurrent append). The services call it for every message posted,
  internal notes included.
* :func:`refresh` rebuilds the document from scratch (the ticket's text and
  every message of its thread), for repairs and after edits that replace text.
* :func:`matching` narrows a ticket queryset to those whose document matches
  what a person typed; :func:`row_condition` and :func:`indexed_ids` are the
  pieces a read that pages in its own order uses to choose its plan (the
  triage queue, ``secdesk.triage.selectors._searched``).
* :func:`ensure_sqlite_index` puts back the SQLite triggers when a migration
  that rebuilds ``tickets_ticket`` dropped them (connect it to ``post_migrate``).

Writers beware: ``append_message`` changes the row behind any ``Ticket``
instance already in memory. A later full ``ticket.save()`` of such an
instance writes its stale ``search_document`` back and loses the appended
text; save with ``update_fields`` (or ``refresh_from_db`` first).

Because internal notes are in the document, ``matching`` must only be offered
through staff-only reads (the triage queue); a publisher-facing search would
need a document of its own.

How it is indexed (migration ``tickets.0003_full_text_search``):

* PostgreSQL: a stored generated column ``search_vector`` =
  ``to_tsvector('english'::regconfig, search_document)`` (outside the model:
  SQLite has no such type) with a GIN index on it; the query is
  ``search_vector @@ websearch_to_tsquery('english', q)``. Stored, not an
  expression index: when the queue walks its deadline index and tests each
  row, testing a stored vector costs ~1 µs against ~20 µs for re-running
  ``to_tsvector`` on the text (measured in ``bench/queue.py``).
  ``websearch`` syntax: words are ANDed, ``"quoted phrase"``, ``OR``,
  ``-word`` excludes.
* SQLite: an FTS5 external-content table ``tickets_ticket_fts`` (porter
  stemmer over unicode61, so ``uploads`` finds ``upload`` as on PostgreSQL)
  kept in step with ``tickets_ticket.search_document`` by triggers. The
  person's text is parsed here with the same websearch rules and every word
  or phrase is passed to FTS5 as a double-quoted string, so quotes,
  ``*``, ``NEAR(``, ``:``, ``^``, ``AND``/``NOT`` and other FTS5 syntax in the
  input are only ever text, never operators. English stop words are dropped
  outside phrases, as PostgreSQL does.

A document is capped at :data:`MAX_DOCUMENT_CHARS` characters (PostgreSQL
refuses a ``tsvector`` over 1 MB, which would make the write itself fail);
text past the cap is not searchable.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from django.db import connections
from django.db.models import BooleanField, F, Func, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Concat, Left

from secdesk.tickets.models import Message, Ticket

__all__ = [
    "FTS_TABLE",
    "MAX_DOCUMENT_CHARS",
    "MAX_QUERY_CHARS",
    "PG_VECTOR_COLUMN",
    "TS_CONFIG",
    "append_message",
    "document_for",
    "ensure_sqlite_index",
    "fts5_groups",
    "indexed_ids",
    "matching",
    "refresh",
    "row_condition",
    "search_text",
]

#: Past this many characters a document is cut (see the module docstring).
MAX_DOCUMENT_CHARS: Final = 200_000
#: Longest search text accepted by the selectors.
MAX_QUERY_CHARS: Final = 200
#: The PostgreSQL text-search configuration; the index and the query must agree on it.
TS_CONFIG: Final = "english"
#: PostgreSQL: the stored, GIN-indexed tsvector of ``search_document`` (not a model field).
PG_VECTOR_COLUMN: Final = "search_vector"
#: The SQLite FTS5 table over ``tickets_ticket.search_document``.
FTS_TABLE: Final = "tickets_ticket_fts"
SEPARATOR: Final = "\n"

# PostgreSQL's english.stop (the Snowball list), so SQLite drops the same words.
STOP_WORDS: Final = frozenset(
    [
        "i",
        "me",
        "my",
        "myself",
        "we",
        "our",
        "ours",
        "ourselves",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "he",
        "him",
        "his",
        "himself",
        "she",
        "her",
        "hers",
        "herself",
        "it",
        "its",
        "itself",
        "they",
        "them",
        "their",
        "theirs",
        "themselves",
        "what",
        "which",
        "who",
        "whom",
        "this",
        "that",
        "these",
        "those",
        "am",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "have",
        "has",
        "had",
        "having",
        "do",
        "does",
        "did",
        "doing",
        "a",
        "an",
        "the",
        "and",
        "but",
        "if",
        "or",
        "because",
        "as",
        "until",
        "while",
        "of",
        "at",
        "by",
        "for",
        "with",
        "about",
        "against",
        "between",
        "into",
        "through",
        "during",
        "before",
        "after",
        "above",
        "below",
        "to",
        "from",
        "up",
        "down",
        "in",
        "out",
        "on",
        "off",
        "over",
        "under",
        "again",
        "further",
        "then",
        "once",
        "here",
        "there",
        "when",
        "where",
        "why",
        "how",
        "all",
        "any",
        "both",
        "each",
        "few",
        "more",
        "most",
        "other",
        "some",
        "such",
        "no",
        "nor",
        "not",
        "only",
        "own",
        "same",
        "so",
        "than",
        "too",
        "very",
        "s",
        "t",
        "can",
        "will",
        "just",
        "don",
        "should",
        "now",
    ]
)


# -- keeping the document ---------------------------------------------------------------------


def _parts(ticket: Any, offers: Iterable[Any] | None = None) -> Iterable[str]:
    yield ticket.confirmation_number or ""
    yield ticket.description or ""
    yield ticket.remediation_steps or ""
    yield ticket.customer_message or ""
    yield " ".join(str(i) for i in ticket.cve_ids or ())
    yield " ".join(str(i) for i in ticket.cwe_ids or ())
    if offers is not None:
        yield " ".join(sorted(offer.slug for offer in offers))
    elif ticket.pk is not None:
        yield " ".join(sorted(offer.slug for offer in ticket.offers.all()))


def document_for(ticket: Ticket, *, offers: Iterable[Any] | None = None) -> str:
    """The searchable text of the ticket itself (not its thread).

    Confirmation number, description, remediation steps, customer message,
    CVE ids, CWE ids and the slugs of its offers (only once the ticket is
    saved: offers need its primary key), one per line, capped at
    :data:`MAX_DOCUMENT_CHARS`. Reads the offers (one query unless
    prefetched). Store it with the ticket's other fields; to keep messages
    already appended, use :func:`refresh` instead.
    """
    text = SEPARATOR.join(part for part in _parts(ticket, offers) if part)
    return _clean(text)[:MAX_DOCUMENT_CHARS]


def append_message(ticket_id: int, body: str) -> None:
    """Add a message body to the ticket's document, in one ``UPDATE`` (call it in the posting transaction).

    ``search_document = LEFT(search_document || '\\n' || body, cap)``: the
    database does the concatenation, so concurrent appends cannot lose each
    other and the ticket row need not be read or locked first.
    """
    body = _clean(body)[:MAX_DOCUMENT_CHARS]
    if not body.strip():
        return
    Ticket.objects.filter(pk=ticket_id).update(
        search_document=Left(Concat(F("search_document"), Value(SEPARATOR), Value(body)), MAX_DOCUMENT_CHARS)
    )


def refresh(ticket: Ticket) -> str:
    """Rebuild and store the whole document: :func:`document_for` plus every message, oldest first.

    Three queries (offers, messages, the ``UPDATE``); returns the document.
    """
    bodies = Message.objects.filter(ticket_id=ticket.pk).order_by("id").values_list("body", flat=True)
    text = SEPARATOR.join([document_for(ticket), *(_clean(b) for b in bodies)])[:MAX_DOCUMENT_CHARS]
    Ticket.objects.filter(pk=ticket.pk).update(search_document=text)
    ticket.search_document = text
    return text


def _clean(text: str) -> str:
    # PostgreSQL text cannot hold NUL; other control characters only get in the way.
    return "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in text)


# -- the SQLite index's triggers ----------------------------------------------------------------

_SQLITE_TRIGGERS: Final = {
    "tickets_ticket_fts_ai": (
        "CREATE TRIGGER IF NOT EXISTS tickets_ticket_fts_ai AFTER INSERT ON tickets_ticket BEGIN "
        "INSERT INTO tickets_ticket_fts(rowid, search_document) VALUES (new.id, new.search_document); END"
    ),
    "tickets_ticket_fts_ad": (
        "CREATE TRIGGER IF NOT EXISTS tickets_ticket_fts_ad AFTER DELETE ON tickets_ticket BEGIN "
        "INSERT INTO tickets_ticket_fts(tickets_ticket_fts, rowid, search_document) "
        "VALUES ('delete', old.id, old.search_document); END"
    ),
    "tickets_ticket_fts_au": (
        "CREATE TRIGGER IF NOT EXISTS tickets_ticket_fts_au AFTER UPDATE OF search_document ON tickets_ticket "
        "WHEN old.search_document IS NOT new.search_document BEGIN "
        "INSERT INTO tickets_ticket_fts(tickets_ticket_fts, rowid, search_document) "
        "VALUES ('delete', old.id, old.search_document); "
        "INSERT INTO tickets_ticket_fts(rowid, search_document) VALUES (new.id, new.search_document); END"
    ),
}


def ensure_sqlite_index(using: str = "default", **_: Any) -> bool:
    """Put back the FTS5 triggers if a migration lost them, and re-index; True when it had to.

    On SQLite, Django applies many schema changes by copying the table into
    a new one and dropping the old, which drops its triggers with it: the
    FTS5 index would silently stop following the tickets. Connect this to
    ``post_migrate`` (it accepts the signal's keyword arguments) so every
    ``migrate`` repairs that. Does nothing on other databases or before
    migration ``tickets.0003`` made the FTS table.
    """
    connection = connections[using]
    if connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT type, name FROM sqlite_master WHERE name = %s OR (type = 'trigger' AND tbl_name = %s)",
            [FTS_TABLE, "tickets_ticket"],
        )
        found = {name for kind, name in cursor.fetchall() if kind in {"table", "trigger"}}
        if FTS_TABLE not in found:
            return False
        missing = [sql for name, sql in _SQLITE_TRIGGERS.items() if name not in found]
        if not missing:
            return False
        for sql in missing:
            cursor.execute(sql)
        cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")  # noqa: S608 — a constant table name
    return True


# -- querying ---------------------------------------------------------------------------------


class _WebSearchMatch(Func):
    """``<table>.search_vector @@ websearch_to_tsquery('english'::regconfig, q)`` (PostgreSQL).

    ``search_vector`` is the stored ``to_tsvector('english'::regconfig,
    search_document)`` column that migration ``0003`` adds outside the model,
    GIN-indexed; it is named here next to the alias of ``search_document``.
    """

    output_field = BooleanField()

    def __init__(self, query: str) -> None:
        super().__init__(F("search_document"), Value(query))

    def as_sql(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple[str, list[Any]]:  # type: ignore[override]  # a fixed shape, no template
        document, query = self.get_source_expressions()
        vector = f"{compiler.quote_name(document.alias)}.{compiler.quote_name(PG_VECTOR_COLUMN)}"
        query_sql, query_params = compiler.compile(query)
        return f"{vector} @@ websearch_to_tsquery('{TS_CONFIG}'::regconfig, {query_sql})", list(query_params)


@dataclass
class Fts5Group:
    """One ``OR`` branch: every ``include`` term and none of the ``exclude`` terms.

    Each term is a ready FTS5 string (``"word"`` or ``"two words"``) made only
    of ``\\w`` characters inside double quotes.
    """

    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)


_LEXEME: Final = re.compile(r"\w+")
# A quoted phrase (unterminated: to the end), or a run of non-space characters.
_TOKEN: Final = re.compile(r'(-?)"([^"]*)"?|(\S+)')


def _term(text: str, *, phrase: bool) -> str | None:
    words = [w.lower() for w in _LEXEME.findall(text)]
    if not phrase:
        words = [w for w in words if w not in STOP_WORDS]
        if len(words) > 1:  # "contoso-backup", "CVE-2026-1": one word to the person, a phrase to FTS5
            phrase = True
    if not words:
        return None
    return '"' + " ".join(words) + '"'


def fts5_groups(text: str) -> list[Fts5Group]:
    """Parse search text like PostgreSQL's ``websearch_to_tsquery`` into safe FTS5 terms.

    Words are ANDed; ``"..."`` is a phrase; ``OR`` (any case) between terms
    starts another branch; ``-term`` excludes. Anything that is not a word
    character only separates words. Groups left without any term are dropped.
    """
    groups: list[Fts5Group] = [Fts5Group()]
    for match in _TOKEN.finditer(text):
        negate, quoted, bare = match.group(1), match.group(2), match.group(3)
        if bare is not None:
            if bare.lower() == "or":
                groups.append(Fts5Group())
                continue
            negate = "-" if bare.startswith("-") else ""
            term = _term(bare.lstrip("-"), phrase=False)
        else:
            term = _term(quoted or "", phrase=True)
        if term is None:
            continue
        (groups[-1].exclude if negate else groups[-1].include).append(term)
    return [g for g in groups if g.include or g.exclude]


def _fts5_subquery(expression: str) -> RawSQL:
    sql = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s"  # noqa: S608 — a constant table name
    return RawSQL(sql, [expression])  # noqa: S611 — fixed SQL; the input is a bound parameter


def search_text(q: str) -> str:
    """``q`` as it is searched: control characters blanked, outer blanks stripped ("" = nothing to search)."""
    return _clean(q).strip()


def row_condition(using: str, q: str, *, id_sql: str, vector_sql: str) -> tuple[str, list[str]] | None:
    """SQL testing one row against the search text ``q``, with its parameters; ``None`` if ``q`` has no word.

    For hand-written queries over a derived table (the queue's bounded walk):
    ``id_sql`` names the row's ticket id and, on PostgreSQL, ``vector_sql``
    its ``search_vector`` column.
    """
    text = search_text(q)
    vendor = connections[using].vendor
    if vendor == "postgresql":
        return (f"{vector_sql} @@ websearch_to_tsquery('{TS_CONFIG}'::regconfig, %s)", [text]) if text else None
    groups = fts5_groups(text)
    if not groups:
        return None
    subquery = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s"  # noqa: S608 — a constant table name
    branches: list[str] = []
    params: list[str] = []
    for group in groups:
        parts = []
        if group.include:
            parts.append(f"{id_sql} IN ({subquery})")
            params.append(" AND ".join(group.include))
        if group.exclude:
            parts.append(f"{id_sql} NOT IN ({subquery})")
            params.append(" OR ".join(group.exclude))
        branches.append("(" + " AND ".join(parts) + ")")
    return "(" + " OR ".join(branches) + ")", params


def indexed_ids(using: str, q: str, cap: int) -> list[int]:
    """Ids of up to ``cap`` tickets (any status) matching ``q``, read through the full-text index only.

    PostgreSQL: calls ``secdesk_ticket_search`` (migration 0003), whose own
    planner settings leave it the GIN index, so the cost is the index lookup
    plus ``cap`` rows at most whatever the planner would guess about the
    words. SQLite: the FTS5 table gives the rowids.
    """
    text = search_text(q)
    if not text:
        return []
    if connections[using].vendor == "postgresql":
        with connections[using].cursor() as cursor:
            cursor.execute(
                f"SELECT * FROM secdesk_ticket_search(websearch_to_tsquery('{TS_CONFIG}'::regconfig, %s), %s)",  # noqa: S608 — a constant; the text is a parameter
                [text, cap],
            )
            return [row[0] for row in cursor.fetchall()]
    return list(matching(Ticket.objects.using(using), text).values_list("id", flat=True)[:cap])


def matching(queryset: QuerySet[Ticket], q: str) -> QuerySet[Ticket]:
    """Tickets of ``queryset`` whose document matches the search text ``q``.

    Text with no searchable word (only punctuation or stop words) matches
    nothing. Never raises for any text: FTS syntax in ``q`` is plain text.
    How the database combines the condition with the rest of the query is
    the planner's choice; a read that orders by something else and pages
    (the queue) should help it, see ``secdesk.triage.selectors``.
    """
    q = search_text(q)
    if not q:
        return queryset.none()
    vendor = connections[queryset.db].vendor
    if vendor == "postgresql":
        return queryset.filter(_WebSearchMatch(q))
    if vendor != "sqlite":
        raise NotImplementedError(f"full-text search is not implemented for {vendor}")
    groups = fts5_groups(q)
    if not groups:
        return queryset.none()
    condition = Q()
    for group in groups:
        branch = Q()
        if group.include:
            branch &= Q(id__in=_fts5_subquery(" AND ".join(group.include)))
        if group.exclude:
            branch &= ~Q(id__in=_fts5_subquery(" OR ".join(group.exclude)))
        condition |= branch
    return queryset.filter(condition)
