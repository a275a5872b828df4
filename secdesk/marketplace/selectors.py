"""Reads of marketplace data, scoped to the actor."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import QuerySet

from secdesk.domain.errors import ErrorList, NotFound
from secdesk.domain.policy import Actor, Permission, can
from secdesk.marketplace.models import Offer, OfferAction


def offers_visible_to(actor: Actor) -> QuerySet[Offer]:
    """Staff see every offer; publishers see their organisations' offers; others none."""
    if actor.is_anonymous:
        return Offer.objects.none()
    if actor.is_staff_member and can(actor, Permission.OFFER_READ):
        return Offer.objects.all()
    return Offer.objects.filter(organization_id__in=actor.organization_ids())


def resolve_own_offers(actor: Actor, slugs: Sequence[str], *, field: str = "offers") -> list[Offer]:
    """The offers named by ``slugs`` that belong to the actor's organisations, in the given order.

    A foreign offer is reported exactly like a missing one.
    """
    found = {
        offer.slug: offer
        for offer in Offer.objects.select_related("organization").filter(
            # A NUL names no offer (and PostgreSQL refuses it in a query parameter).
            slug__in=[s for s in slugs if "\x00" not in s],
            organization_id__in=actor.organization_ids(),
        )
    }
    errors = ErrorList()
    for index, slug in enumerate(slugs):
        if slug not in found:
            errors.add(f"{field}.{index}", f"no offer {slug!r} among your organisation's offers", code="unknown_offer")
    errors.raise_if_any()
    return [found[slug] for slug in slugs]


def offer_actions(actor: Actor, slug: str) -> tuple[Offer, QuerySet[OfferAction]]:
    """An offer's enforcement history, newest first; a foreign offer answers like a missing one."""
    offer = offers_visible_to(actor).filter(slug=slug).first()
    if offer is None:
        raise NotFound("no such offer")
    return offer, offer.actions.select_related("taken_by", "ticket").order_by("-taken_at", "-id")
