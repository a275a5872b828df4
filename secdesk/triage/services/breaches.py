"""The breach sweep: mark missed deadlines once, record them, escalate to leads once.

Scales with the number of *newly* missed deadlines, not with open tickets:
each step reads a partial index of running clocks. A breach is a row unique
per (ticket, key), so a sweep run twice — or by two workers at once — can
neither record nor escalate a breach twice. Tickets another transaction
holds locked are skipped (``SKIP LOCKED``) and caught by the next sweep.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Max, QuerySet
from django.utils import timezone

from secdesk.accounts.models import User
from secdesk.domain.lifecycle import OPEN_STATUSES
from secdesk.domain.policy import Role
from secdesk.domain.timeline import GENESIS, event_hash
from secdesk.tickets.models import Breach, PublisherRequest, RequestStatus, Ticket, TimelineEvent

BATCH = 500
OPEN = [s.value for s in OPEN_STATUSES]


@dataclass
class SweepReport:
    acknowledgement: int = 0
    remediation: int = 0
    request: int = 0
    escalated_to: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.acknowledgement + self.remediation + self.request


def _lock(queryset: QuerySet[Any]) -> QuerySet[Any]:
    # SQLite has no row locks; its IMMEDIATE transactions already serialise writers.
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True)
    return queryset


def _append_events(rows: Iterable[tuple[int, str, dict[str, Any], bool]], now: datetime) -> None:
    """Append one event to each ticket's chain: two reads for the whole batch, one bulk insert."""
    rows = list(rows)
    ids = [ticket_id for ticket_id, *_ in rows]
    last_seq = dict(
        TimelineEvent.objects.filter(ticket_id__in=ids)
        .values("ticket_id")
        .annotate(m=Max("seq"))
        .values_list("ticket_id", "m")
    )
    hashes = {
        (t, s): h
        for t, s, h in TimelineEvent.objects.filter(ticket_id__in=ids, seq__in=set(last_seq.values())).values_list(
            "ticket_id", "seq", "hash"
        )
    }
    # (last seq, last hash) per ticket, advanced as events are added: a ticket may get several here.
    head = {t: (s, hashes.get((t, s), GENESIS)) for t, s in last_seq.items()}
    events = []
    stamp = now.isoformat()
    for ticket_id, kind, data, public in rows:
        last, prev = head.get(ticket_id, (0, GENESIS))
        seq = last + 1
        digest = event_hash(
            prev_hash=prev, seq=seq, kind=kind, actor_id=None, public=public, data=data, created_at=stamp
        )
        events.append(
            TimelineEvent(
                ticket_id=ticket_id,
                seq=seq,
                kind=kind,
                actor_label="system",
                public=public,
                data=data,
                created_at=now,
                prev_hash=prev,
                hash=digest,
            )
        )
        head[ticket_id] = (seq, digest)
    TimelineEvent.objects.bulk_create(events)


def _leads() -> list[str]:
    return list(
        User.objects.filter(staff_role=Role.LEAD.value, is_active=True)
        .order_by("email")
        .values_list("email", flat=True)
    )


def _ticket_clock(now: datetime, *, kind: str, leads: list[str]) -> int:
    due_field = "acknowledgement_due" if kind == "acknowledgement" else "remediation_due"
    mark_field = "ack_breached_at" if kind == "acknowledgement" else "remediation_breached_at"
    base = Ticket.objects.filter(**{f"{due_field}__lte": now, f"{mark_field}__isnull": True})
    if kind == "acknowledgement":
        base = base.filter(status="submitted")
    else:
        base = base.filter(status__in=OPEN, remediation_paused_at__isnull=True)
    count = 0
    while True:
        with transaction.atomic():
            # Ordered on the due moment, like the partial index: ordering on id would have the planner
            # walk the primary key through every open ticket looking for overdue ones.
            batch = list(_lock(base.order_by(due_field, "id")).values_list("id", due_field)[:BATCH])
            if not batch:
                return count
            ids = [ticket_id for ticket_id, _ in batch]
            Breach.objects.bulk_create(
                [
                    Breach(ticket_id=t, key=kind, kind=kind, due_at=due, detected_at=now, escalated_at=now)
                    for t, due in batch
                ],
                ignore_conflicts=True,
            )
            Ticket.objects.filter(id__in=ids).update(**{mark_field: now, "breached": True})
            _append_events(
                (
                    (t, "sla.breached", {"clock": kind, "due_at": due.isoformat(), "escalated_to": leads}, False)
                    for t, due in batch
                ),
                now,
            )
            count += len(batch)


def _request_clock(now: datetime, *, leads: list[str]) -> int:
    base = PublisherRequest.objects.filter(status=RequestStatus.OPEN, breached_at__isnull=True, due_at__lte=now)
    count = 0
    while True:
        with transaction.atomic():
            batch = list(
                _lock(base.order_by("due_at", "id")).values_list("id", "ticket_id", "public_id", "kind", "due_at")[
                    :BATCH
                ]
            )
            if not batch:
                return count
            Breach.objects.bulk_create(
                [
                    Breach(
                        ticket_id=t, key=f"request:{pid}", kind="request", due_at=due, detected_at=now, escalated_at=now
                    )
                    for _, t, pid, _, due in batch
                ],
                ignore_conflicts=True,
            )
            PublisherRequest.objects.filter(id__in=[r for r, *_ in batch]).update(breached_at=now)
            Ticket.objects.filter(id__in={t for _, t, *_ in batch}).update(breached=True)
            _append_events(
                (
                    (
                        t,
                        "request.overdue",
                        {"request": pid, "kind": kind, "due_at": due.isoformat(), "escalated_to": leads},
                        True,
                    )
                    for _, t, pid, kind, due in batch
                ),
                now,
            )
            count += len(batch)


def sweep(now: datetime | None = None) -> SweepReport:
    """Mark every deadline missed by ``now`` (default: the current time). Safe to run concurrently."""
    # In UTC, as every stored time is read back: the events' hashes cover ``now.isoformat()``.
    now = (now or timezone.now()).astimezone(UTC)
    leads = _leads()
    report = SweepReport(escalated_to=leads)
    report.acknowledgement = _ticket_clock(now, kind="acknowledgement", leads=leads)
    report.remediation = _ticket_clock(now, kind="remediation", leads=leads)
    report.request = _request_clock(now, leads=leads)
    return report
