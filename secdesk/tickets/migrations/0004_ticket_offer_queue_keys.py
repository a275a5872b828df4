"""The ticket-offer rows carry the ticket's queue keys, so the queue can read one offer in deadline order.

1. ``Ticket.offers`` gets an explicit through model, ``TicketOffer``, on the
   table Django made for the implicit one: state only (same table, columns,
   unique pair and indexes), so no row moves.
2. Tickets submitted from a draft before ``tickets.services._submit`` set
   ``due_at`` get their acknowledgement deadline as ``due_at`` (they sorted
   last in the queue until acknowledged). First, so that the copies below
   are written once.
3. ``TicketOffer`` gains ``status`` and ``due_at``, copies of its ticket's.
4. Triggers keep the copies in step (see ``secdesk/tickets/offer_keys.py``):
   a row inserted (or moved to another ticket) takes its ticket's values; a
   ticket whose ``status`` or ``due_at`` changes passes them to its rows.
   PostgreSQL: two PL/pgSQL functions and their triggers; the insert reads
   the ticket ``FOR SHARE``, so it waits for a concurrent change of that
   ticket to commit and copies the outcome (without the lock the new row
   could copy the old values while that change's trigger, not seeing the
   uncommitted row, passed it by). SQLite: three triggers (SQLite cannot
   assign to ``new`` before an insert, so the row is corrected just after
   it; it has one writer at a time, so no race). Created before the
   backfill: on PostgreSQL creating a trigger locks ``tickets_ticket``
   against writes until this migration commits, so no ticket can change
   between the copy and the triggers taking over.
5. Existing rows get their ticket's values, one range of ticket ids at a time.
6. The partial index ``queue_offer_due``: built after the backfill (cheaper
   than maintaining it row by row), once PostgreSQL's deferred foreign-key
   checks have run (see ``check_foreign_keys_now``); then, on PostgreSQL,
   ``ANALYZE`` of the table (see ``analyze_rows``).

The SQL is written out here, not imported, so that this migration keeps
doing the same thing however the application code changes later.
"""

import datetime

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Max, Min, OuterRef, Subquery

BACKFILL_TICKETS = 20_000

STATUS_CHOICES = [
    ("draft", "draft"),
    ("submitted", "submitted"),
    ("acknowledged", "acknowledged"),
    ("assessing", "assessing"),
    ("awaiting_publisher", "awaiting_publisher"),
    ("remediating", "remediating"),
    ("notifying", "notifying"),
    ("resolved", "resolved"),
    ("closed", "closed"),
    ("reopened", "reopened"),
]
OPEN_STATUS_VALUES = [
    "acknowledged",
    "assessing",
    "awaiting_publisher",
    "notifying",
    "remediating",
    "reopened",
    "submitted",
]
NO_DEADLINE = datetime.datetime(9999, 12, 31, 0, 0, tzinfo=datetime.UTC)

PG_CREATE = [
    "CREATE OR REPLACE FUNCTION secdesk_ticket_offer_fill() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN "
    "SELECT t.status, t.due_at INTO NEW.status, NEW.due_at FROM tickets_ticket t WHERE t.id = NEW.ticket_id "
    "FOR SHARE; "
    "RETURN NEW; "
    "END $$",
    "CREATE TRIGGER tickets_ticket_offers_keys_fill BEFORE INSERT OR UPDATE OF ticket_id ON tickets_ticket_offers "
    "FOR EACH ROW EXECUTE FUNCTION secdesk_ticket_offer_fill()",
    "CREATE OR REPLACE FUNCTION secdesk_ticket_offer_keys() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN "
    "UPDATE tickets_ticket_offers SET status = NEW.status, due_at = NEW.due_at WHERE ticket_id = NEW.id; "
    "RETURN NULL; "
    "END $$",
    "CREATE TRIGGER tickets_ticket_keys_au AFTER UPDATE OF status, due_at ON tickets_ticket FOR EACH ROW "
    "WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.due_at IS DISTINCT FROM NEW.due_at) "
    "EXECUTE FUNCTION secdesk_ticket_offer_keys()",
]
PG_DROP = [
    "DROP TRIGGER IF EXISTS tickets_ticket_keys_au ON tickets_ticket",
    "DROP FUNCTION IF EXISTS secdesk_ticket_offer_keys()",
    "DROP TRIGGER IF EXISTS tickets_ticket_offers_keys_fill ON tickets_ticket_offers",
    "DROP FUNCTION IF EXISTS secdesk_ticket_offer_fill()",
]

SQLITE_CREATE = [
    "CREATE TRIGGER IF NOT EXISTS tickets_ticket_offers_keys_ai AFTER INSERT ON tickets_ticket_offers BEGIN "
    "UPDATE tickets_ticket_offers SET (status, due_at) = "
    "(SELECT t.status, t.due_at FROM tickets_ticket t WHERE t.id = new.ticket_id) WHERE id = new.id; END",
    "CREATE TRIGGER IF NOT EXISTS tickets_ticket_offers_keys_au AFTER UPDATE OF ticket_id ON tickets_ticket_offers "
    "BEGIN "
    "UPDATE tickets_ticket_offers SET (status, due_at) = "
    "(SELECT t.status, t.due_at FROM tickets_ticket t WHERE t.id = new.ticket_id) WHERE id = new.id; END",
    "CREATE TRIGGER IF NOT EXISTS tickets_ticket_keys_au AFTER UPDATE OF status, due_at ON tickets_ticket "
    "WHEN old.status IS NOT new.status OR old.due_at IS NOT new.due_at BEGIN "
    "UPDATE tickets_ticket_offers SET status = new.status, due_at = new.due_at WHERE ticket_id = new.id; END",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS tickets_ticket_keys_au",
    "DROP TRIGGER IF EXISTS tickets_ticket_offers_keys_au",
    "DROP TRIGGER IF EXISTS tickets_ticket_offers_keys_ai",
]


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for statement in {"postgresql": PG_CREATE, "sqlite": SQLITE_CREATE}.get(vendor, []):
        schema_editor.execute(statement)


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for statement in {"postgresql": PG_DROP, "sqlite": SQLITE_DROP}.get(vendor, []):
        schema_editor.execute(statement)


def repair_submitted_due(apps, schema_editor):
    """Tickets submitted from a draft before the fix kept ``due_at`` = NO_DEADLINE: give them their deadline.

    (``tickets.services._submit`` set the acknowledgement deadline but not the
    queue's key, so such a ticket sorted last until acknowledged.)
    """
    Ticket = apps.get_model("tickets", "Ticket")
    Ticket.objects.using(schema_editor.connection.alias).filter(
        status="submitted", due_at=NO_DEADLINE, acknowledgement_due__isnull=False
    ).update(due_at=models.F("acknowledgement_due"))


def backfill(apps, schema_editor):
    """Every row takes its ticket's status and due_at: one correlated UPDATE per range of ticket ids.

    The row's own ticket is one primary-key probe per row; ranges of ticket ids
    follow the ``ticket_id`` index, so no statement reads more than its range.
    """
    Ticket = apps.get_model("tickets", "Ticket")
    TicketOffer = apps.get_model("tickets", "TicketOffer")
    db = schema_editor.connection.alias
    rows = TicketOffer.objects.using(db)
    bounds = rows.aggregate(low=Min("ticket_id"), high=Max("ticket_id"))
    if bounds["low"] is None:
        return
    ticket = Ticket.objects.using(db).filter(pk=OuterRef("ticket_id"))
    for start in range(bounds["low"], bounds["high"] + 1, BACKFILL_TICKETS):
        rows.filter(ticket_id__gte=start, ticket_id__lt=start + BACKFILL_TICKETS).update(
            status=Subquery(ticket.values("status")[:1]),
            due_at=Subquery(ticket.values("due_at")[:1]),
        )


def check_foreign_keys_now(apps, schema_editor):
    """PostgreSQL: run the pending (deferred) foreign-key checks before the index is built.

    Updating a row this transaction already wrote queues a deferred check of
    its foreign keys even when they did not change, and PostgreSQL refuses
    ``CREATE INDEX`` on a table with pending trigger events. The steps above
    write each row once, in that order, so nothing should be pending; this
    makes the index independent of that ordering.
    """
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def analyze_rows(apps, schema_editor):
    """PostgreSQL: fresh statistics for the new columns, or the planner guesses until autovacuum comes by.

    Without them it takes ``status IN (<open statuses>)`` to keep a few per
    cent of the rows (it keeps them all in a desk of open tickets), expects
    the queue's walk of a large offer to end early, and reads and sorts all
    of the offer's tickets instead (measured: 250 ms instead of 25 at 1M).
    Not on SQLite: the queue's plans there assume no statistics.
    """
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ANALYZE tickets_ticket_offers")


class Migration(migrations.Migration):
    dependencies = [
        ("marketplace", "0002_offer_actions"),
        ("tickets", "0003_full_text_search"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="TicketOffer",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID"),
                        ),
                        (
                            "offer",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE, related_name="+", to="marketplace.offer"
                            ),
                        ),
                        (
                            "ticket",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="offer_links",
                                to="tickets.ticket",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "tickets_ticket_offers",
                        "unique_together": {("ticket", "offer")},
                    },
                ),
                migrations.AlterField(
                    model_name="ticket",
                    name="offers",
                    field=models.ManyToManyField(
                        related_name="tickets", through="tickets.TicketOffer", to="marketplace.offer"
                    ),
                ),
            ],
        ),
        migrations.RunPython(repair_submitted_due, migrations.RunPython.noop, elidable=True),
        migrations.AddField(
            model_name="ticketoffer",
            name="status",
            field=models.CharField(choices=STATUS_CHOICES, default="draft", editable=False, max_length=32),
        ),
        migrations.AddField(
            model_name="ticketoffer",
            name="due_at",
            field=models.DateTimeField(default=NO_DEADLINE, editable=False),
        ),
        migrations.RunPython(create_triggers, drop_triggers),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(check_foreign_keys_now, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="ticketoffer",
            index=models.Index(
                condition=models.Q(("status__in", OPEN_STATUS_VALUES)),
                fields=["offer", "due_at", "ticket"],
                name="queue_offer_due",
            ),
        ),
        migrations.RunPython(analyze_rows, migrations.RunPython.noop, elidable=True),
    ]
