"""Offer routes."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from django.http import HttpRequest
from ninja import Router

from secdesk.api.auth import actor_of
from secdesk.api.permissions import requires
from secdesk.api.schemas import OfferOut, ProblemOut
from secdesk.domain.policy import Permission
from secdesk.marketplace.models import Plan
from secdesk.marketplace.selectors import offers_visible_to

router = Router(tags=["offers"])


@router.get("/offers", response={200: list[OfferOut], 401: ProblemOut}, operation_id="offer_list")
@requires(Permission.OFFER_READ)
def list_offers(request: HttpRequest) -> list[dict[str, Any]]:
    """Offers you may file tickets about (staff: every offer)."""
    offers = (
        offers_visible_to(actor_of(request))
        .select_related("organization")
        .prefetch_related(Prefetch("plans", queryset=Plan.objects.order_by("slug")))
        .order_by("slug")
    )
    return [
        {
            "slug": offer.slug,
            "name": offer.name,
            "status": offer.status,
            "organization": offer.organization.slug,
            "plans": [{"slug": p.slug, "name": p.name, "version": p.version} for p in offer.plans.all()],
        }
        for offer in offers
    ]
