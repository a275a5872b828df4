"""The transactional outbox: timeline events become e-mails, exactly once.

The ticket services already write a ``TimelineEvent`` for every change, in
the transaction of the change, so the timeline *is* the outbox: nothing below
this app needs to know that e-mail exists. :func:`drain` reads the events
after a stored cursor and, in **one transaction**, creates one
``MailDelivery`` per recipient of each event that mails (unique per event and
recipient, so a second drain of the same event creates nothing), advances the
cursor, and — only **after commit** — enqueues a ``send_mail_delivery`` task
per new row.

One drainer at a time: the cursor row is locked ``FOR UPDATE SKIP LOCKED``
on PostgreSQL (a second worker finds it locked and returns at once); on
SQLite the IMMEDIATE transaction serialises writers. A drain that dies
before commit leaves nothing behind; one that dies after commit but before
enqueueing leaves pending rows that :func:`secdesk.notices.upkeep.top_up`
enqueues.

Gaps: on PostgreSQL an event id is drawn at insert but becomes visible at
commit, so a later id can be read before an earlier one. Ids skipped over
are kept in ``OutboxCursor.gaps`` and looked for on every drain until they
appear or expire (a rolled-back insert never appears).

Who is mailed (internal events never reach a publisher; publishers are
mailed only while they are members of the ticket's organisation):

======================  ========================================================
``ticket.submitted``     the submitter and the organisation's members (receipt)
``ticket.acknowledged``  the organisation's members (priority, severity, next)
``ticket.assessed``      the organisation's members (the result)
``message.created``      marketplace message → the organisation's members;
                         publisher message → the assignee, else every responder
                         and lead; never the author
``request.created``      the organisation's members (what we need, by when)
``offer.suspend`` …      ``delist``, ``reinstate``: the organisation's members
``sla.breached``         the leads named in ``data.escalated_to``
``request.overdue``      the leads named in ``data.escalated_to``
======================  ========================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from secdesk.accounts.models import User
from secdesk.domain.policy import Role
from secdesk.notices.models import MailDelivery, OutboxCursor
from secdesk.tickets.models import Message, Ticket, TimelineEvent

CURSOR_NAME = "mail"
#: How long an id skipped over is looked for (no transaction of the desk runs this long).
GAP_TTL = timedelta(minutes=10)
#: Bounds on gap bookkeeping: ids per jump (a sequence jump after a crash) and in all.
MAX_GAP_SPAN = 1_000
MAX_GAPS = 10_000

PUBLISHER_KINDS = frozenset(
    {
        "ticket.submitted",
        "ticket.acknowledged",
        "ticket.assessed",
        "request.created",
        "offer.suspend",
        "offer.delist",
        "offer.reinstate",
    }
)
ESCALATION_KINDS = frozenset({"sla.breached", "request.overdue"})
MAILED_KINDS = PUBLISHER_KINDS | ESCALATION_KINDS | {"message.created"}
RESPONDER_ROLES = (Role.RESPONDER.value, Role.LEAD.value)


@dataclass
class DrainReport:
    events: int = 0
    deliveries: int = 0
    cursor: int = 0
    gaps: int = 0
    busy: bool = False  # another worker holds the cursor

    def as_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "deliveries": self.deliveries,
            "cursor": self.cursor,
            "gaps": self.gaps,
            "busy": self.busy,
        }


def _locked_cursor() -> OutboxCursor | None:
    """The cursor row, locked for this transaction; None when another drainer holds it."""
    rows = OutboxCursor.objects.filter(name=CURSOR_NAME)
    if connection.features.has_select_for_update_skip_locked:
        rows = rows.select_for_update(skip_locked=True)
    cursor = rows.first()
    if cursor is not None:
        return cursor
    if OutboxCursor.objects.filter(name=CURSOR_NAME).exists():
        return None  # there, but locked by another drainer
    # Created by the migration at the then-newest event; recreated from the start if someone deleted it
    # (the unique constraint keeps events already drained from being mailed twice).
    OutboxCursor.objects.get_or_create(name=CURSOR_NAME, defaults={"last_event_id": 0})
    return _locked_cursor()


def _members(ticket: Ticket) -> list[User]:
    return list(
        User.objects.filter(is_active=True, memberships__organization_id=ticket.organization_id)
        .distinct()
        .order_by("id")
    )


def _responders() -> list[User]:
    return list(User.objects.filter(is_active=True, staff_role__in=RESPONDER_ROLES).order_by("id"))


def recipients_for(event: TimelineEvent, ticket: Ticket) -> list[User]:
    """Who is mailed about ``event`` (see the module docstring), in id order, each once."""
    data: dict[str, Any] = event.data or {}
    users: list[User] = []
    if event.kind in PUBLISHER_KINDS:
        users = _members(ticket)
    elif event.kind == "message.created":
        message_id = data.get("message_id")
        message = (
            Message.objects.filter(pk=int(message_id), ticket_id=ticket.pk).first()
            if isinstance(message_id, int)
            else None
        )
        if message is None or message.internal:
            return []
        if message.from_marketplace:
            users = _members(ticket)
        else:
            assignee = ticket.assignee
            if assignee is not None and assignee.is_active and assignee.staff_role in RESPONDER_ROLES:
                users = [assignee]
            else:
                users = _responders()
        users = [u for u in users if u.pk != message.author_id]
    elif event.kind in ESCALATION_KINDS:
        emails = [str(e).strip().lower() for e in data.get("escalated_to") or [] if str(e).strip()]
        users = list(User.objects.filter(is_active=True, staff_role=Role.LEAD.value, email__in=emails).order_by("id"))
    if not event.public:
        users = [u for u in users if u.staff_role]  # an internal event never mails a publisher
    member_ids = None
    kept: dict[int, User] = {}
    for user in users:
        if not user.staff_role:
            # A publisher is mailed only about its own organisation's tickets.
            if member_ids is None:
                member_ids = {u.pk for u in _members(ticket)}
            if user.pk not in member_ids:
                continue
        kept.setdefault(user.pk, user)
    return sorted(kept.values(), key=lambda u: u.pk)


def _track_gaps(cursor: OutboxCursor, events: list[TimelineEvent], now: datetime) -> tuple[int, dict[str, str]]:
    """The new cursor position and gap list after reading ``events`` (ordered by id)."""
    gaps = dict(cursor.gaps or {})
    last = cursor.last_event_id
    stamp = now.isoformat()
    for event in events:
        key = str(event.pk)
        if key in gaps:
            del gaps[key]
            continue
        if event.pk <= last:
            continue
        for missing in range(max(last + 1, event.pk - MAX_GAP_SPAN), event.pk):
            gaps[str(missing)] = stamp
        last = event.pk
    oldest = now - GAP_TTL
    gaps = {k: v for k, v in gaps.items() if datetime.fromisoformat(v) >= oldest}
    if len(gaps) > MAX_GAPS:
        gaps = dict(sorted(gaps.items(), key=lambda item: int(item[0]))[-MAX_GAPS:])
    return last, gaps


def drain(limit: int = 500) -> DrainReport:
    """Turn up to ``limit`` new timeline events into ``MailDelivery`` rows; enqueue their sending after commit."""
    from secdesk.notices import tasks  # tasks → delivery → mail: kept out of import time

    report = DrainReport()
    with transaction.atomic():
        cursor = _locked_cursor()
        if cursor is None:
            report.busy = True
            return report
        gap_ids = [int(k) for k in (cursor.gaps or {})]
        found = TimelineEvent.objects.filter(id__gt=cursor.last_event_id)
        if gap_ids:
            found = found | TimelineEvent.objects.filter(id__in=gap_ids)
        events = list(found.order_by("id")[:limit])
        now = timezone.now()
        last, gaps = _track_gaps(cursor, events, now)
        tickets: dict[int, Ticket] = {}
        rows: list[MailDelivery] = []
        mailed: list[int] = []
        for event in events:
            if event.kind not in MAILED_KINDS:
                continue
            ticket = tickets.get(event.ticket_id)
            if ticket is None:
                ticket = Ticket.objects.select_related("assignee").get(pk=event.ticket_id)
                tickets[event.ticket_id] = ticket
            mailed.append(event.pk)
            rows.extend(
                MailDelivery(
                    event=event,
                    ticket_id=event.ticket_id,
                    recipient=user,
                    email=user.email,
                    kind=event.kind,
                    created_at=now,
                    updated_at=now,
                    enqueued_at=now,
                )
                for user in recipients_for(event, ticket)
            )
        if rows:
            MailDelivery.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)
        created = (
            list(
                MailDelivery.objects.filter(event_id__in=mailed, created_at=now)
                .order_by("id")
                .values_list("id", flat=True)
            )
            if rows
            else []
        )
        OutboxCursor.objects.filter(pk=cursor.pk).update(last_event_id=last, gaps=gaps, updated_at=now)
        if created:
            transaction.on_commit(lambda: tasks.enqueue_deliveries(created))
        report.events = len(events)
        report.deliveries = len(created)
        report.cursor = last
        report.gaps = len(gaps)
    return report


def drain_all(limit: int = 500, rounds: int = 20) -> dict[str, Any]:
    """Drain until caught up (at most ``rounds`` drains); the schedule's outbox job."""
    total = DrainReport()
    for _ in range(rounds):
        report = drain(limit)
        total.events += report.events
        total.deliveries += report.deliveries
        total.cursor = report.cursor or total.cursor
        total.gaps = report.gaps
        total.busy = report.busy
        if report.busy or report.events < limit:
            break
    return total.as_dict()


def start_position() -> int:
    """Where a new cursor starts: after every event already written (used by the migration)."""
    return int(TimelineEvent.objects.aggregate(m=Max("id"))["m"] or 0)
