"""The quarantine of inbound e-mail: what staff decide on (``queue:read`` to look, ``ticket:triage`` to act).

Quarantined mail came from someone who may not post to the ticket it names
(or names none); malformed mail could not be read safely. Staff release one
onto a ticket they choose — it is posted as the marketplace, saying who sent
it — or discard it. To anyone but marketplace staff an inbound message does
not exist (404).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from secdesk.api import presenters
from secdesk.api.auth import actor_of
from secdesk.api.permissions import requires
from secdesk.api.schemas import ProblemOut, Strict
from secdesk.domain.policy import Permission
from secdesk.inbound import selectors, services
from secdesk.inbound.models import InboundMessage

router = Router(tags=["inbound e-mail"])
ERRORS: dict[int, type[ProblemOut]] = {
    401: ProblemOut,
    403: ProblemOut,
    404: ProblemOut,
    409: ProblemOut,
    422: ProblemOut,
}


class InboundAttachmentOut(Schema):
    filename: str
    content_type: str
    size: int


class InboundOut(Schema):
    id: int
    status: str = Field(description="posted, quarantined, ignored_auto_reply, malformed, duplicate or discarded")
    reason: str
    received_at: datetime
    source: str
    sender: str
    subject: str
    message_id: str
    ticket: str | None = Field(description="Confirmation number of the ticket it named or was posted to")
    excerpt: str = Field(description="The start of the reply text (never rendered as HTML)")
    attachments: list[InboundAttachmentOut]
    size: int
    decided_by: str | None
    decided_at: datetime | None


class InboundPageOut(Schema):
    items: list[InboundOut]
    next_after: int | None = Field(description="Pass as `after` for the next page; null on the last page")


class ReleaseIn(Strict):
    confirmation_number: str = Field(max_length=40, description="The ticket to post the e-mail to")


class DiscardIn(Strict):
    reason: str = Field("", max_length=300)


def _inbound(row: InboundMessage, request: HttpRequest) -> dict[str, Any]:
    zone = presenters.zone_of(request.user)
    return {
        "id": row.pk,
        "status": row.status,
        "reason": row.reason,
        "received_at": row.received_at.astimezone(zone),
        "source": row.source,
        "sender": row.sender,
        "subject": row.subject,
        "message_id": row.message_id,
        "ticket": row.ticket.confirmation_number if row.ticket else None,
        "excerpt": row.excerpt,
        "attachments": list(row.attachments or []),
        "size": row.size,
        "decided_by": row.decided_by.email if row.decided_by_id and row.decided_by else None,
        "decided_at": row.decided_at.astimezone(zone) if row.decided_at else None,
    }


@router.get("/inbound/quarantine", response={200: InboundPageOut, **ERRORS}, operation_id="inbound_quarantine")
@requires(Permission.QUEUE_READ)
def list_quarantine(
    request: HttpRequest,
    status: str = Query("waiting", description="waiting (quarantined and malformed, the default), all, or one status"),
    after: int | None = Query(None, ge=0, description="`next_after` of the previous page"),
    limit: int = Query(50, ge=1, le=selectors.MAX_PAGE),
) -> dict[str, Any]:
    """Inbound e-mail newest first; by default what waits for a decision."""
    page = selectors.quarantine(actor_of(request), status=status, after=after, limit=limit)
    return {"items": [_inbound(row, request) for row in page.items], "next_after": page.next_after}


@router.post(
    "/inbound/quarantine/{inbound_id}/release",
    response={200: InboundOut, **ERRORS},
    operation_id="inbound_release",
)
@requires(Permission.TICKET_TRIAGE)
def release(request: HttpRequest, inbound_id: int, payload: ReleaseIn) -> dict[str, Any]:
    """Post the e-mail (text and attachments) onto the chosen ticket, as the marketplace."""
    row = services.release(actor_of(request), inbound_id=inbound_id, confirmation_number=payload.confirmation_number)
    return _inbound(row, request)


@router.post(
    "/inbound/quarantine/{inbound_id}/discard",
    response={200: InboundOut, **ERRORS},
    operation_id="inbound_discard",
)
@requires(Permission.TICKET_TRIAGE)
def discard(request: HttpRequest, inbound_id: int, payload: DiscardIn) -> dict[str, Any]:
    """Set the e-mail aside for good (it stays on record)."""
    row = services.discard(actor_of(request), inbound_id=inbound_id, reason=payload.reason)
    return _inbound(row, request)
