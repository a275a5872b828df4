"""Webhook endpoints and their delivery log (``webhook:manage``: publisher admins, leads).

An endpoint the caller may not manage answers 404 like a missing one. The
signing secret is in the answer to the creation only. How a receiver
verifies a delivery: see ``secdesk/webhooks/signing.py``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from secdesk.api.auth import actor_of
from secdesk.api.permissions import requires
from secdesk.api.schemas import ProblemOut, Strict
from secdesk.domain.policy import Permission
from secdesk.webhooks import selectors, services
from secdesk.webhooks.events import EVENT_TYPES
from secdesk.webhooks.models import WebhookDelivery, WebhookEndpoint

router = Router(tags=["webhooks"])
ERRORS: dict[int, type[ProblemOut]] = {
    401: ProblemOut,
    403: ProblemOut,
    404: ProblemOut,
    409: ProblemOut,
    422: ProblemOut,
}
CATALOGUE = "; ".join(f"`{name}`: {text}" for name, text in EVENT_TYPES.items())


class WebhookIn(Strict):
    url: str = Field(max_length=2000, description="https://… (plain http only to loopback in development)")
    events: list[str] = Field(min_length=1, max_length=len(EVENT_TYPES) + 1, description=f'Or ["*"]. {CATALOGUE}')
    organization: str | None = Field(
        None, description="Organisation slug; omitted: yours (publisher admin) or the marketplace's (lead)"
    )
    description: str = Field("", max_length=200)


class WebhookOut(Schema):
    id: str
    url: str
    description: str
    events: list[str]
    organization: str | None = Field(description="Slug; null for a marketplace endpoint (every ticket)")
    active: bool
    created_by: str | None
    created_at: datetime


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(description="Signs every delivery (Secdesk-Signature). Shown only now: keep it.")


class AttemptOut(Schema):
    number: int
    at: datetime
    response_code: int | None
    error: str
    duration_ms: int


class DeliveryOut(Schema):
    id: str
    event_id: str
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    response_code: int | None
    last_error: str
    created_at: datetime
    delivered_at: datetime | None
    payload: dict[str, Any]
    log: list[AttemptOut]


class DeliveryPageOut(Schema):
    items: list[DeliveryOut]
    next_after: int | None = Field(description="Pass as `after` for the next page; null on the last page")


def _endpoint(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": endpoint.public_id,
        "url": endpoint.url,
        "description": endpoint.description,
        "events": list(endpoint.events),
        "organization": endpoint.organization.slug if endpoint.organization else None,
        "active": endpoint.active,
        "created_by": endpoint.created_by.email if endpoint.created_by else None,
        "created_at": endpoint.created_at,
    }


def _delivery(item: WebhookDelivery) -> dict[str, Any]:
    waiting = item.status in ("pending", "sending")
    return {
        "id": item.public_id,
        "event_id": item.event_id,
        "event_type": item.event_type,
        "status": item.status,
        "attempts": item.attempts,
        "next_attempt_at": item.next_attempt_at if waiting else None,
        "response_code": item.response_code,
        "last_error": item.last_error,
        "created_at": item.created_at,
        "delivered_at": item.delivered_at,
        "payload": item.payload,
        "log": [
            {
                "number": a.number,
                "at": a.at,
                "response_code": a.response_code,
                "error": a.error,
                "duration_ms": a.duration_ms,
            }
            for a in item.attempt_log.all()
        ],
    }


@router.get("/webhooks", response={200: list[WebhookOut], **ERRORS}, operation_id="webhook_list")
@requires(Permission.WEBHOOK_MANAGE)
def list_webhooks(request: HttpRequest) -> list[dict[str, Any]]:
    """The endpoints you manage: your organisations' (publisher admin), or all (lead)."""
    return [_endpoint(e) for e in selectors.endpoints_visible_to(actor_of(request)).order_by("id")]


@router.post("/webhooks", response={201: WebhookCreatedOut, **ERRORS}, operation_id="webhook_create")
@requires(Permission.WEBHOOK_MANAGE)
def create_webhook(request: HttpRequest, payload: WebhookIn) -> Status:
    """Register an endpoint. The answer carries the signing secret — the only time it is shown."""
    created = services.create_endpoint(
        actor_of(request),
        url=payload.url,
        events=payload.events,
        organization=payload.organization,
        description=payload.description,
    )
    return Status(201, {**_endpoint(created.endpoint), "secret": created.secret})


@router.delete("/webhooks/{webhook_id}", response={204: None, **ERRORS}, operation_id="webhook_delete")
@requires(Permission.WEBHOOK_MANAGE)
def delete_webhook(request: HttpRequest, webhook_id: str) -> Status:
    """Stop sending to the endpoint (deliveries not yet sent fail; the log stays)."""
    services.delete_endpoint(actor_of(request), endpoint_id=webhook_id)
    return Status(204, None)


@router.get(
    "/webhooks/{webhook_id}/deliveries", response={200: DeliveryPageOut, **ERRORS}, operation_id="webhook_deliveries"
)
@requires(Permission.WEBHOOK_MANAGE)
def list_deliveries(
    request: HttpRequest,
    webhook_id: str,
    status: str | None = Query(None, description="pending, sending, delivered or failed"),
    after: int | None = Query(None, ge=0, description="`next_after` of the previous page"),
    limit: int = Query(50, ge=1, le=selectors.MAX_PAGE),
) -> dict[str, Any]:
    """The delivery log, newest first: status, attempts with their answers, the payload sent."""
    page = selectors.deliveries(actor_of(request), webhook_id, status=status, after=after, limit=limit)
    return {"items": [_delivery(d) for d in page.items], "next_after": page.next_after}
