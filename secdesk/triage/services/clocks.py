"""Keeping a ticket's clocks consistent: the queue's ``due_at`` and the remediation pause.

Called by the triage services on a ticket row they hold locked.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from secdesk.domain.lifecycle import OPEN_STATUSES, Status
from secdesk.tickets.models import NO_DEADLINE, RequestStatus, Ticket
from secdesk.triage.config import remediation_targets


def refresh_due(ticket: Ticket) -> None:
    """``due_at``: the acknowledgement while unacknowledged, then a running remediation clock."""
    status = Status(ticket.status)
    if status == Status.SUBMITTED and ticket.acknowledgement_due:
        ticket.due_at = ticket.acknowledgement_due
    elif status in OPEN_STATUSES and ticket.remediation_due and ticket.remediation_paused_at is None:
        ticket.due_at = ticket.remediation_due
    else:
        ticket.due_at = NO_DEADLINE


def restart_remediation(ticket: Ticket) -> None:
    """Recompute the remediation due moment from acknowledgement, severity and time spent paused."""
    if ticket.acknowledged_at is None:
        ticket.remediation_due = None
        return
    ticket.remediation_due = remediation_targets().due(
        started=ticket.acknowledged_at,
        severity=ticket.severity,
        paused=timedelta(seconds=ticket.remediation_paused_seconds),
    )


def sync_pause(ticket: Ticket, now: datetime) -> None:
    """Pause the remediation clock while the ball is with the publisher; resume when it is not.

    The ball is with the publisher while the ticket awaits them or a request
    to them is open (not while an extension waits for the marketplace).
    """
    waiting = (
        ticket.status == Status.AWAITING_PUBLISHER.value or ticket.requests.filter(status=RequestStatus.OPEN).exists()
    )
    if waiting and ticket.remediation_paused_at is None:
        ticket.remediation_paused_at = now
    elif not waiting and ticket.remediation_paused_at is not None:
        paused = now - ticket.remediation_paused_at
        ticket.remediation_paused_seconds += int(paused.total_seconds())
        ticket.remediation_paused_at = None
        restart_remediation(ticket)
    refresh_due(ticket)
