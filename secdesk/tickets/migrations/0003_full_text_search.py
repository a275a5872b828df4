"""Full-text search over ``tickets_ticket.search_document`` (see ``secdesk/tickets/search.py``).

* PostgreSQL: a stored generated column ``search_vector`` =
  ``to_tsvector('english'::regconfig, search_document)`` (outside the Django
  model) with a GIN index, and the function ``secdesk_ticket_search(query,
  cap)`` that reads that index. Because of the column PostgreSQL refuses to change the
  *type* of ``search_document``; a migration that must would drop the column
  first and add it back after.
* SQLite: an FTS5 external-content table ``tickets_ticket_fts`` with insert,
  update and delete triggers on ``tickets_ticket``.

Each operation runs only on its own database vendor and does nothing on the
other. Tickets filed before this migration get their document backfilled
(ticket text, offer slugs, then the messages, as ``search.refresh`` builds it).
The SQL is written out here, not imported, so that this migration keeps
doing the same thing however the application code changes later.
"""

from django.db import migrations

MAX_DOCUMENT_CHARS = 200_000

PG_INDEX = "ticket_search_gin"
PG_CREATE = [
    # The document's tsvector, computed by PostgreSQL whenever search_document is written. Not a
    # model field (SQLite has no tsvector); Django never writes it. Stored rather than computed
    # per query: the queue walks its index in deadline order and tests each row, and testing a
    # stored tsvector is ~50 times cheaper than running to_tsvector() on the text again.
    "ALTER TABLE tickets_ticket ADD COLUMN IF NOT EXISTS search_vector tsvector "
    "GENERATED ALWAYS AS (to_tsvector('english'::regconfig, search_document)) STORED",
    f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON tickets_ticket USING gin (search_vector)",
    # Up to ``cap`` matching ticket ids, always through the GIN index. The planner estimates
    # how many tickets a search matches from statistics that know little about rare words
    # (a CVE id, a confirmation number): guessing "many", it would walk the queue in order
    # testing every ticket. This function's own settings leave it the index only, so asking
    # "are there at most N matches?" costs the index lookup and at most N rows.
    "CREATE OR REPLACE FUNCTION secdesk_ticket_search(query tsquery, cap integer) RETURNS SETOF bigint "
    "LANGUAGE sql STABLE SET enable_seqscan = off SET enable_indexscan = off "
    "AS $$ SELECT id FROM tickets_ticket WHERE search_vector @@ query LIMIT cap $$",
]
PG_DROP = [
    "DROP FUNCTION IF EXISTS secdesk_ticket_search(tsquery, integer)",
    f"DROP INDEX IF EXISTS {PG_INDEX}",
    "ALTER TABLE tickets_ticket DROP COLUMN IF EXISTS search_vector",
]

SQLITE_CREATE = [
    # porter over unicode61: "uploads" finds "upload", as the english configuration does on PostgreSQL.
    "CREATE VIRTUAL TABLE IF NOT EXISTS tickets_ticket_fts USING fts5("
    "search_document, content='tickets_ticket', content_rowid='id', "
    "tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS tickets_ticket_fts_ai AFTER INSERT ON tickets_ticket BEGIN "
    "INSERT INTO tickets_ticket_fts(rowid, search_document) VALUES (new.id, new.search_document); END",
    "CREATE TRIGGER IF NOT EXISTS tickets_ticket_fts_ad AFTER DELETE ON tickets_ticket BEGIN "
    "INSERT INTO tickets_ticket_fts(tickets_ticket_fts, rowid, search_document) "
    "VALUES ('delete', old.id, old.search_document); END",
    # Django saves every column; only a changed document touches the index.
    "CREATE TRIGGER IF NOT EXISTS tickets_ticket_fts_au AFTER UPDATE OF search_document ON tickets_ticket "
    "WHEN old.search_document IS NOT new.search_document BEGIN "
    "INSERT INTO tickets_ticket_fts(tickets_ticket_fts, rowid, search_document) "
    "VALUES ('delete', old.id, old.search_document); "
    "INSERT INTO tickets_ticket_fts(rowid, search_document) VALUES (new.id, new.search_document); END",
    # Index what is already there.
    "INSERT INTO tickets_ticket_fts(tickets_ticket_fts) VALUES ('rebuild')",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS tickets_ticket_fts_au",
    "DROP TRIGGER IF EXISTS tickets_ticket_fts_ad",
    "DROP TRIGGER IF EXISTS tickets_ticket_fts_ai",
    "DROP TABLE IF EXISTS tickets_ticket_fts",
]


def _clean(text):
    return "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in text or "")


def backfill(apps, schema_editor):
    """Documents for tickets that have none yet (filed before search existed)."""
    Ticket = apps.get_model("tickets", "Ticket")
    Message = apps.get_model("tickets", "Message")
    db = schema_editor.connection.alias
    tickets = Ticket.objects.using(db).filter(search_document="").prefetch_related("offers")
    for ticket in tickets.iterator(chunk_size=500):
        parts = [
            ticket.confirmation_number,
            ticket.description,
            ticket.remediation_steps,
            ticket.customer_message,
            " ".join(str(i) for i in ticket.cve_ids or ()),
            " ".join(str(i) for i in ticket.cwe_ids or ()),
            " ".join(sorted(o.slug for o in ticket.offers.all())),
        ]
        bodies = Message.objects.using(db).filter(ticket_id=ticket.pk).order_by("id").values_list("body", flat=True)
        text = "\n".join(_clean(p) for p in [*parts, *bodies] if p)[:MAX_DOCUMENT_CHARS]
        if text:
            Ticket.objects.using(db).filter(pk=ticket.pk).update(search_document=text)


def create_search_index(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for statement in PG_CREATE:
            schema_editor.execute(statement)
    elif vendor == "sqlite":
        for statement in SQLITE_CREATE:
            schema_editor.execute(statement)


def drop_search_index(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for statement in PG_DROP:
            schema_editor.execute(statement)
    elif vendor == "sqlite":
        for statement in SQLITE_DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0002_triage_requests_breaches"),
    ]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(create_search_index, drop_search_index),
    ]
