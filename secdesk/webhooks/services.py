"""Creating and deleting webhook endpoints (``webhook:manage``).

A publisher admin manages their organisation's endpoints; a lead manages
the marketplace's (no organisation) and, like every staff grant,
any organisation's. The secret is returned once, by :func:`create_endpoint`.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone

from secdesk.accounts.models import Organization
from secdesk.domain.errors import ErrorList, NotFound, PermissionDenied
from secdesk.domain.policy import Actor, Permission, can
from secdesk.webhooks import signing
from secdesk.webhooks.dispatch import destination_problem
from secdesk.webhooks.events import EVENT_TYPES
from secdesk.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from secdesk.webhooks.selectors import access_endpoint

MAX_ENDPOINTS_PER_OWNER = 20


@dataclass(frozen=True)
class CreatedEndpoint:
    endpoint: WebhookEndpoint
    secret: str  # shown once


def _owner(actor: Actor, organization: str | None) -> Organization | None:
    """The organisation the endpoint is for (None: the marketplace), checked against the actor's rights."""
    if organization:
        org = Organization.objects.filter(slug=organization).first() if "\x00" not in organization else None
        if org is None or not (actor.is_staff_member or org.pk in actor.organization_ids()):
            # Another organisation answers like one that does not exist.
            raise NotFound("no such organisation")
        if not can(actor, Permission.WEBHOOK_MANAGE, organization_id=org.pk):
            raise PermissionDenied("you may not manage webhooks of this organisation")
        return org
    if can(actor, Permission.WEBHOOK_MANAGE):
        return None  # a lead: the marketplace's own endpoint
    managed = [o for o in actor.organization_ids() if can(actor, Permission.WEBHOOK_MANAGE, organization_id=o)]
    if len(managed) == 1:
        return Organization.objects.get(pk=managed[0])
    if managed:
        raise PermissionDenied("say which of your organisations the endpoint is for (organization)")
    raise PermissionDenied("only publisher admins and leads manage webhooks")


def create_endpoint(
    actor: Actor,
    *,
    url: str,
    events: Sequence[str],
    organization: str | None = None,
    description: str = "",
) -> CreatedEndpoint:
    """Register ``url`` for ``events`` (types from the catalogue, or ``["*"]``); returns the secret once."""
    owner = _owner(actor, organization)
    errors = ErrorList()
    url = url.strip()
    if len(url) > 2000:
        errors.add("url", "is longer than 2000 characters", code="too_long")
    elif urlsplit(url).fragment:
        errors.add("url", "must not have a #fragment", code="invalid")
    else:
        problem = destination_problem(url)
        if problem:
            errors.add("url", problem, code="invalid_url")
    chosen = list(dict.fromkeys(e.strip() for e in events))
    if not chosen:
        errors.add("events", 'name at least one event type, or "*" for all', code="required")
    for index, name in enumerate(chosen):
        if name != "*" and name not in EVENT_TYPES:
            errors.add(f"events.{index}", f"unknown event type {name[:64]!r}", code="invalid_choice")
    if owner is not None and "note.created" in chosen:
        errors.add("events", "note.created is for marketplace endpoints only", code="invalid_choice")
    if len(description) > 200:
        errors.add("description", "is longer than 200 characters", code="too_long")
    errors.raise_if_any()
    secret = signing.new_secret()
    with transaction.atomic():
        owned = WebhookEndpoint.objects.filter(organization=owner, deleted_at__isnull=True)
        if owned.count() >= MAX_ENDPOINTS_PER_OWNER:
            errors.add("url", f"at most {MAX_ENDPOINTS_PER_OWNER} endpoints per owner", code="too_many")
            errors.raise_if_any()
        endpoint = WebhookEndpoint.objects.create(
            organization=owner,
            public_id="whk_" + secrets.token_hex(8),
            url=url,
            description=description.strip(),
            events=["*"] if "*" in chosen else chosen,
            secret=secret,
            created_by_id=actor.signed_in_id(),
        )
    return CreatedEndpoint(endpoint, secret)


def delete_endpoint(actor: Actor, *, endpoint_id: str) -> None:
    """Stop sending to an endpoint; deliveries not yet sent fail, the delivery log stays."""
    with transaction.atomic():
        endpoint = access_endpoint(actor, endpoint_id, write=True, for_update=True)
        now = timezone.now()
        endpoint.active = False
        endpoint.deleted_at = now
        endpoint.save(update_fields=["active", "deleted_at"])
        WebhookDelivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.FAILED, last_error="the endpoint was deleted"
        )
