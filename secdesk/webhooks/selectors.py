"""Reads of webhook endpoints and their delivery log, scoped by ``webhook:manage``.

An endpoint the actor may not manage answers ``NotFound``, exactly like one
that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from django.db.models import Prefetch, Q, QuerySet

from secdesk.accounts.models import Organization
from secdesk.domain.errors import FieldError, InvalidInput, NotFound, PermissionDenied
from secdesk.domain.policy import Actor, Permission, can
from secdesk.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint

MAX_PAGE = 100


def _manager(actor: Actor) -> Actor:
    # Who could manage (with a write-scoped credential) may also look, with a read-scoped one.
    return replace(actor, write_allowed=True)


def endpoints_visible_to(actor: Actor) -> QuerySet[WebhookEndpoint]:
    """A lead: every endpoint. A publisher admin: their organisations'. Anyone else: refused."""
    base = WebhookEndpoint.objects.filter(deleted_at__isnull=True).select_related("organization", "created_by")
    manager = _manager(actor)
    if can(manager, Permission.WEBHOOK_MANAGE):
        return base
    managed = [o for o in actor.organization_ids() if can(manager, Permission.WEBHOOK_MANAGE, organization_id=o)]
    if not managed:
        raise PermissionDenied("only publisher admins and leads manage webhooks")
    return base.filter(organization_id__in=managed)


def access_endpoint(
    actor: Actor, endpoint_id: str, *, write: bool = False, for_update: bool = False
) -> WebhookEndpoint:
    """An endpoint the actor manages; ``NotFound`` for any other, exactly like a missing one."""
    if "\x00" in endpoint_id:
        raise NotFound("no such webhook")
    queryset = WebhookEndpoint.objects.filter(deleted_at__isnull=True).select_related("organization")
    if for_update:
        queryset = queryset.select_for_update(of=("self",))
    endpoint = queryset.filter(public_id=endpoint_id).first()
    owner = endpoint.organization_id if endpoint is not None else None
    if endpoint is None or not can(_manager(actor), Permission.WEBHOOK_MANAGE, organization_id=owner):
        raise NotFound("no such webhook")
    if write and not can(actor, Permission.WEBHOOK_MANAGE, organization_id=owner):
        raise PermissionDenied("a read-only credential cannot change webhooks")
    return endpoint


@dataclass(frozen=True)
class Page:
    items: list[WebhookDelivery]
    next_after: int | None


def deliveries(
    actor: Actor, endpoint_id: str, *, status: str | None = None, after: int | None = None, limit: int = 50
) -> Page:
    """The endpoint's delivery log, newest first, each with its attempts."""
    endpoint = access_endpoint(actor, endpoint_id)
    if status and status not in DeliveryStatus.values:
        raise InvalidInput(
            [FieldError("status", f"must be one of: {', '.join(DeliveryStatus.values)}", "invalid_choice")]
        )
    limit = max(1, min(limit, MAX_PAGE))
    queryset = WebhookDelivery.objects.filter(endpoint=endpoint)
    if status:
        queryset = queryset.filter(status=status)
    if after is not None:
        queryset = queryset.filter(Q(pk__lt=after))
    rows = list(
        queryset.prefetch_related(Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("number"))).order_by(
            "-pk"
        )[: limit + 1]
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(items=rows, next_after=rows[-1].pk if more and rows else None)


@dataclass(frozen=True)
class EndpointPage:
    items: list[WebhookEndpoint]
    next_after: int | None


def endpoint_page(actor: Actor, *, after: int | None = None, limit: int = 50) -> EndpointPage:
    """The endpoints the actor manages (see :func:`endpoints_visible_to`), newest first, keyset-paginated."""
    limit = max(1, min(limit, MAX_PAGE))
    queryset = endpoints_visible_to(actor)
    if after is not None:
        queryset = queryset.filter(pk__lt=after)
    rows = list(queryset.order_by("-pk")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return EndpointPage(items=rows, next_after=rows[-1].pk if more and rows else None)


def owners_for(actor: Actor) -> list[Organization | None]:
    """Whom the actor may register endpoints for: ``None`` (the marketplace, every ticket) for a lead,
    then the organisations, by name; a publisher admin: the organisations they manage."""
    if can(actor, Permission.WEBHOOK_MANAGE):
        return [None, *Organization.objects.order_by("name")]
    managed = [o for o in actor.organization_ids() if can(actor, Permission.WEBHOOK_MANAGE, organization_id=o)]
    return list(Organization.objects.filter(pk__in=managed).order_by("name"))
