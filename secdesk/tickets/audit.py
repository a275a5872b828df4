"""Verifying every ticket's timeline hash chain (``secdesk audit verify``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from secdesk.domain.timeline import ChainBreak, verify_chain
from secdesk.tickets.models import Ticket, TimelineEvent
from secdesk.tickets.timeline import as_stored

BATCH = 2000


@dataclass
class Report:
    tickets: int = 0
    events: int = 0
    broken: dict[str, list[ChainBreak]] = field(default_factory=dict)


def verify_all() -> Report:
    """Walk tickets in id batches, each with its events in order (bounded memory, no per-event queries)."""
    report = Report()
    last_id = 0
    while True:
        batch = list(
            Ticket.objects.filter(id__gt=last_id).order_by("id").values_list("id", "confirmation_number")[:BATCH]
        )
        if not batch:
            return report
        numbers = dict(batch)
        events: dict[int, list[TimelineEvent]] = {ticket_id: [] for ticket_id in numbers}
        for event in TimelineEvent.objects.filter(ticket_id__in=numbers).order_by("ticket_id", "seq").iterator():
            events[event.ticket_id].append(event)
        for ticket_id, items in events.items():
            report.tickets += 1
            report.events += len(items)
            breaks = verify_chain(as_stored(e) for e in items)
            if breaks:
                report.broken[numbers[ticket_id]] = breaks
        last_id = batch[-1][0]
