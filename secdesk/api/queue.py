"""The triage queue: open tickets for marketplace staff, what is due first."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from secdesk.api import presenters
from secdesk.api.auth import actor_of
from secdesk.api.permissions import requires
from secdesk.api.schemas import ProblemOut
from secdesk.domain.policy import Permission
from secdesk.tickets.models import NO_DEADLINE, Ticket
from secdesk.triage import selectors

router = Router(tags=["queue"])
ERRORS: dict[int, type[ProblemOut]] = {401: ProblemOut, 403: ProblemOut, 422: ProblemOut}


class QueueItemOut(Schema):
    confirmation_number: str
    status: str
    category: str
    severity: str | None
    priority: str | None
    organization: str = Field(description="Publisher organisation slug")
    offers: list[str] = Field(description="Offer slugs, sorted")
    assignee: str | None = Field(description="Assignee's e-mail address; null when unassigned")
    due_at: datetime | None = Field(description="The next deadline the marketplace owes; null when no clock runs")
    acknowledgement_due: datetime | None
    remediation_due: datetime | None
    breached: bool
    submitted_at: datetime | None


class QueuePageOut(Schema):
    items: list[QueueItemOut]
    next_cursor: str | None


def _local(moment: datetime | None, zone: tzinfo) -> datetime | None:
    return moment.astimezone(zone) if moment else None


def queue_item(ticket: Ticket, zone: tzinfo) -> dict[str, Any]:
    """One queue row; times in ``zone``. ``ticket`` comes from ``selectors.queue`` (offers loaded)."""
    return {
        "confirmation_number": ticket.confirmation_number,
        "status": ticket.status,
        "category": ticket.category,
        "severity": ticket.severity or None,
        "priority": ticket.priority or None,
        "organization": ticket.organization.slug,
        "offers": [offer.slug for offer in getattr(ticket, selectors.OFFERS_ATTR)],
        "assignee": ticket.assignee.email if ticket.assignee else None,
        "due_at": None if ticket.due_at >= NO_DEADLINE else _local(ticket.due_at, zone),
        "acknowledgement_due": _local(ticket.acknowledgement_due, zone),
        "remediation_due": _local(ticket.remediation_due, zone),
        "breached": ticket.breached,
        "submitted_at": _local(ticket.submitted_at, zone),
    }


@router.get("/queue", response={200: QueuePageOut, **ERRORS}, operation_id="queue_list")
@requires(Permission.QUEUE_READ)
def list_queue(
    request: HttpRequest,
    status: str | None = Query(None, description="An open status"),
    category: str | None = Query(None, description="security_incident or vulnerability"),
    severity: str | None = Query(None, description="none, low, medium, high or critical"),
    priority: str | None = Query(None, description="P1, P2, P3 or P4"),
    offer: str | None = Query(None, description="Offer slug"),
    publisher: str | None = Query(None, description="Publisher organisation slug"),
    assignee: str | None = Query(None, description="An e-mail address, `me`, or `none` for unassigned"),
    breached: bool | None = Query(None, description="Only tickets that missed (true) or kept (false) a deadline"),
    q: str | None = Query(None, description='Full-text search: words, "a phrase", OR, -word'),
    cursor: str | None = Query(None, description="`next_cursor` of the previous page"),
    limit: int = Query(50, ge=1, le=100),
) -> dict[str, Any]:
    """Open tickets for triage (marketplace staff only), what is due first; follow `next_cursor` for more."""
    page = selectors.queue(
        actor_of(request),
        status=status,
        category=category,
        severity=severity,
        priority=priority,
        offer=offer,
        publisher=publisher,
        assignee=assignee,
        breached=breached,
        q=q,
        cursor=cursor,
        limit=limit,
    )
    zone = presenters.zone_of(request.user)
    return {"items": [queue_item(ticket, zone) for ticket in page.items], "next_cursor": page.next_cursor}
