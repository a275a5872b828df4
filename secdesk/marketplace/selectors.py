"""Reads of marketplace data, scoped to the actor."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from secdesk.accounts.models import Organization
from secdesk.domain.errors import ErrorList, FieldError, InvalidInput, NotFound, PermissionDenied
from secdesk.domain.policy import Actor, Permission, can
from secdesk.marketplace.models import (
    Customer,
    CustomerContact,
    Deployment,
    Offer,
    OfferAction,
    OfferStatus,
    Plan,
)


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


# --- The responders' catalogue: offers and customers ------------------------------------------------
#
# Marketplace staff only (``customer:read``: the pages say how many customers run each offer). Lists
# are keyset-paginated on the unique, indexed slug, so a page costs the same however deep it is; the
# counts are correlated subqueries, evaluated for the rows of the page only.

CATALOGUE_MAX_PAGE = 100
#: The most enforcement actions an offer page lists (newest first).
ACTIONS_SHOWN = 100
_SEARCH_CHARS = 100


@dataclass(frozen=True)
class CataloguePage[T]:
    items: list[T]
    next_cursor: str | None


def _require_staff(actor: Actor) -> None:
    if not (actor.is_staff_member and can(actor, Permission.CUSTOMER_READ)):
        raise PermissionDenied("only marketplace staff see the catalogue")


def _encode_slug_cursor(kind: str, slug: str) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{slug}".encode()).decode().rstrip("=")


def _decode_slug_cursor(kind: str, cursor: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raw = ""
    found_kind, _sep, slug = raw.partition(":")
    if found_kind != kind or not slug or "\x00" in slug:
        raise InvalidInput([FieldError("cursor", "is not a cursor this desk issued", "invalid_cursor")])
    return slug


def _search_text(q: str | None) -> str:
    # NUL names nothing (and PostgreSQL refuses it in a parameter); a search is a few words, not a page.
    return (q or "").replace("\x00", "").strip()[:_SEARCH_CHARS]


def _page[T](rows: list[T], limit: int, kind: str, slug_of: Callable[[T], str]) -> CataloguePage[T]:
    more = len(rows) > limit
    rows = rows[:limit]
    return CataloguePage(
        items=rows, next_cursor=_encode_slug_cursor(kind, slug_of(rows[-1])) if more and rows else None
    )


def offer_catalogue(
    actor: Actor,
    *,
    status: str | None = None,
    publisher: str | None = None,
    q: str | None = None,
    cursor: str | None = None,
    limit: int = 25,
) -> CataloguePage[Offer]:
    """Offers by slug, each with ``customers`` (distinct customers deployed), ``last_action`` and
    ``last_action_at`` (the newest enforcement), filtered by status, publisher (organisation slug)
    and a text found in the name or the slug."""
    _require_staff(actor)
    limit = max(1, min(limit, CATALOGUE_MAX_PAGE))
    if status and status not in OfferStatus.values:
        raise InvalidInput([FieldError("status", f"must be one of: {', '.join(OfferStatus.values)}", "invalid_choice")])
    queryset = offers_visible_to(actor).select_related("organization")
    if status:
        queryset = queryset.filter(status=status)
    if publisher:
        queryset = queryset.filter(organization__slug=publisher.replace("\x00", ""))
    text = _search_text(q)
    if text:
        queryset = queryset.filter(Q(name__icontains=text) | Q(slug__icontains=text))
    if cursor:
        queryset = queryset.filter(slug__gt=_decode_slug_cursor("o", cursor))
    customers = (
        Deployment.objects.filter(offer_id=OuterRef("pk"))
        .order_by()
        .values("offer_id")
        .annotate(n=Count("customer_id", distinct=True))
        .values("n")
    )
    newest = OfferAction.objects.filter(offer_id=OuterRef("pk")).order_by("-taken_at", "-id")
    queryset = queryset.annotate(
        customers=Coalesce(Subquery(customers, output_field=IntegerField()), Value(0)),
        last_action=Subquery(newest.values("action")[:1]),
        last_action_at=Subquery(newest.values("taken_at")[:1]),
    )
    return _page(list(queryset.order_by("slug")[: limit + 1]), limit, "o", lambda offer: offer.slug)


def publishers_with_offers(actor: Actor) -> list[Organization]:
    """The organisations that list offers, by name (the catalogue's publisher filter)."""
    _require_staff(actor)
    return list(
        Organization.objects.filter(Exists(Offer.objects.filter(organization_id=OuterRef("pk")))).order_by("name")
    )


@dataclass(frozen=True)
class DeploymentCount:
    """How many customers run the offer on one plan at one version (``plan`` None: no plan recorded)."""

    plan: Plan | None
    version: str
    customers: int


@dataclass(frozen=True)
class OfferSheet:
    """One offer as the marketplace sees it: plans, where it is deployed, what was done to it."""

    offer: Offer
    plans: list[Plan]
    deployments: list[DeploymentCount]
    customers: int
    actions: list[OfferAction]


def offer_sheet(actor: Actor, slug: str) -> OfferSheet:
    """The offer named ``slug`` with its plans, deployment counts per plan and version, and its
    enforcement history (newest first, at most :data:`ACTIONS_SHOWN`); five queries."""
    _require_staff(actor)
    offer = offers_visible_to(actor).select_related("organization").filter(slug=slug.replace("\x00", "")).first()
    if offer is None:
        raise NotFound("no such offer")
    plans = list(offer.plans.order_by("name", "id"))
    by_id = {plan.pk: plan for plan in plans}
    rows = (
        Deployment.objects.filter(offer=offer)
        .values("plan_id", "version")
        .annotate(n=Count("customer_id", distinct=True))
        .order_by("plan_id", "version")
    )
    deployments = [
        DeploymentCount(plan=by_id.get(row["plan_id"]), version=row["version"], customers=row["n"]) for row in rows
    ]
    deployments.sort(key=lambda d: (d.plan is None, d.plan.name if d.plan else "", d.version))
    customers = Deployment.objects.filter(offer=offer).values("customer_id").distinct().count()
    actions = list(offer.actions.select_related("taken_by", "ticket").order_by("-taken_at", "-id")[:ACTIONS_SHOWN])
    return OfferSheet(offer=offer, plans=plans, deployments=deployments, customers=customers, actions=actions)


def customer_catalogue(
    actor: Actor, *, q: str | None = None, cursor: str | None = None, limit: int = 25
) -> CataloguePage[Customer]:
    """Customers by slug, each with ``contact_count`` and ``deployment_count``; ``q`` is found in the
    name, the slug or the tenant id."""
    _require_staff(actor)
    limit = max(1, min(limit, CATALOGUE_MAX_PAGE))
    queryset = Customer.objects.all()
    text = _search_text(q)
    if text:
        queryset = queryset.filter(Q(name__icontains=text) | Q(slug__icontains=text) | Q(tenant_id__icontains=text))
    if cursor:
        queryset = queryset.filter(slug__gt=_decode_slug_cursor("c", cursor))

    def count(model: type[CustomerContact] | type[Deployment]) -> Coalesce:
        rows = model.objects.filter(customer_id=OuterRef("pk")).order_by().values("customer_id")
        return Coalesce(Subquery(rows.annotate(n=Count("id")).values("n"), output_field=IntegerField()), Value(0))

    queryset = queryset.annotate(contact_count=count(CustomerContact), deployment_count=count(Deployment))
    return _page(list(queryset.order_by("slug")[: limit + 1]), limit, "c", lambda customer: customer.slug)


@dataclass(frozen=True)
class CustomerSheet:
    """One customer: the people told about security events, and what it runs."""

    customer: Customer
    contacts: list[CustomerContact]
    deployments: list[Deployment]


def customer_sheet(actor: Actor, slug: str) -> CustomerSheet:
    """The customer named ``slug``, its contacts and its deployments (offer, publisher, plan); three queries."""
    _require_staff(actor)
    customer = Customer.objects.filter(slug=slug.replace("\x00", "")).first()
    if customer is None:
        raise NotFound("no such customer")
    contacts = list(customer.contacts.order_by("email"))
    deployments = list(
        customer.deployments.select_related("offer", "offer__organization", "plan").order_by(
            "offer__slug", "plan__name", "version", "id"
        )
    )
    return CustomerSheet(customer=customer, contacts=contacts, deployments=deployments)
