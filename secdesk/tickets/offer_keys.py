"""The ticket's queue keys on its ticket-offer rows, and what keeps them there.

``TicketOffer.status`` and ``TicketOffer.due_at`` repeat the ticket's, so the
partial index ``queue_offer_due`` — ``(offer_id, due_at, ticket_id)`` over
rows of open tickets — gives the triage queue one offer's open tickets in
deadline order (``secdesk.triage.selectors.queue``). A copy is only worth
having if it is never wrong, so the database keeps it, with triggers that
migration ``tickets.0004`` creates:

* a row inserted, or moved to another ticket, takes that ticket's values
  (PostgreSQL: ``BEFORE INSERT OR UPDATE OF ticket_id``, assigning ``NEW``
  from the ticket read ``FOR SHARE`` — so an insert racing a change of the
  ticket waits for it and copies its outcome; SQLite cannot assign ``new``,
  so an ``AFTER`` trigger corrects the row, and it has one writer at a time);
* a ticket whose ``status`` or ``due_at`` changed passes them to all its rows
  (``AFTER UPDATE OF status, due_at ... WHEN`` one of them differs).

Why triggers rather than a call in the services: the keys are written from
many places — filing and submitting, every lifecycle step (``moves.move``),
the clocks (``clocks.refresh_due`` via acknowledge, reclassify, the
request services), editing a draft's offers — and by ``QuerySet.update``,
raw SQL (``bench/generate.py``), fixtures and the admin. A trigger runs in
the same statement, so in the same transaction, for all of them, and a new
writer cannot forget it; the services stay as they were and pay no extra
round trip (a ticket update that leaves both keys alone does not even run
it). The cost is SQL written twice (PL/pgSQL and SQLite), and one SQLite
hazard, handled here: Django applies many schema changes on SQLite by
copying a table into a new one and dropping the old, which drops the old
table's triggers. :func:`ensure_sqlite_triggers`, run after every
``migrate`` (``TicketsConfig.ready``), puts back any that are missing and
re-copies the keys of rows that drifted meanwhile.

:func:`stale_links` lists rows whose copies differ from their ticket: empty
whenever the triggers are in place (the tests check it after every kind of
change).
"""

from __future__ import annotations

from typing import Any, Final

from django.db import connections
from django.db.models import F, OuterRef, QuerySet, Subquery

from secdesk.tickets.models import Ticket, TicketOffer

__all__ = ["SQLITE_TRIGGERS", "copy_keys", "ensure_sqlite_triggers", "stale_links"]

_TABLE: Final = TicketOffer._meta.db_table
_TICKETS: Final = Ticket._meta.db_table

#: The SQLite triggers, as migration 0004 creates them.
SQLITE_TRIGGERS: Final = {
    "tickets_ticket_offers_keys_ai": (
        "CREATE TRIGGER IF NOT EXISTS tickets_ticket_offers_keys_ai AFTER INSERT ON tickets_ticket_offers BEGIN "
        "UPDATE tickets_ticket_offers SET (status, due_at) = "
        "(SELECT t.status, t.due_at FROM tickets_ticket t WHERE t.id = new.ticket_id) WHERE id = new.id; END"
    ),
    "tickets_ticket_offers_keys_au": (
        "CREATE TRIGGER IF NOT EXISTS tickets_ticket_offers_keys_au AFTER UPDATE OF ticket_id ON tickets_ticket_offers "
        "BEGIN "
        "UPDATE tickets_ticket_offers SET (status, due_at) = "
        "(SELECT t.status, t.due_at FROM tickets_ticket t WHERE t.id = new.ticket_id) WHERE id = new.id; END"
    ),
    "tickets_ticket_keys_au": (
        "CREATE TRIGGER IF NOT EXISTS tickets_ticket_keys_au AFTER UPDATE OF status, due_at ON tickets_ticket "
        "WHEN old.status IS NOT new.status OR old.due_at IS NOT new.due_at BEGIN "
        "UPDATE tickets_ticket_offers SET status = new.status, due_at = new.due_at WHERE ticket_id = new.id; END"
    ),
}


def stale_links(using: str = "default") -> QuerySet[TicketOffer]:
    """Ticket-offer rows whose ``status`` or ``due_at`` is not their ticket's."""
    return TicketOffer.objects.using(using).exclude(status=F("ticket__status"), due_at=F("ticket__due_at"))


def copy_keys(rows: QuerySet[TicketOffer]) -> int:
    """Give ``rows`` their ticket's ``status`` and ``due_at`` (one UPDATE); the number of rows written."""
    ticket = Ticket.objects.using(rows.db).filter(pk=OuterRef("ticket_id"))
    return rows.update(status=Subquery(ticket.values("status")[:1]), due_at=Subquery(ticket.values("due_at")[:1]))


def ensure_sqlite_triggers(using: str = "default", **_: Any) -> bool:
    """Put back the SQLite triggers a table rebuild dropped and re-copy drifted rows; True when it had to.

    Connect it to ``post_migrate`` (it accepts the signal's keyword
    arguments). Does nothing on other databases (PostgreSQL keeps a table's
    triggers through ``ALTER TABLE``) or before migration ``tickets.0004``.
    """
    connection = connections[using]
    if connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        columns = {row.name for row in connection.introspection.get_table_description(cursor, _TABLE)}
        if "due_at" not in columns:
            return False
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN (%s, %s)", [_TABLE, _TICKETS]
        )
        found = {name for (name,) in cursor.fetchall()}
        missing = [sql for name, sql in SQLITE_TRIGGERS.items() if name not in found]
        if not missing:
            return False
        for sql in missing:
            cursor.execute(sql)
    copy_keys(TicketOffer.objects.using(using).filter(pk__in=stale_links(using).values("pk")))
    return True
