"""The offers the marketplace is acting on, for the dashboard: how many per status, and the longest-running.

An offer is *under action* while its status is modification requested,
suspended or delisted. Since when, and until when, come from what put it
there: the enforcement (``OfferAction``) that set a suspended or delisted
offer's status, with its review date; the latest modification request to the
publisher (``PublisherRequest``) for an offer whose modification was
requested, with its due date.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from django.db.models import Count, F, OuterRef, Subquery
from django.db.models.functions import Coalesce

from secdesk.domain.policy import Actor, Permission, can
from secdesk.marketplace.models import OfferAction, OfferStatus
from secdesk.marketplace.selectors import offers_visible_to
from secdesk.tickets.models import PublisherRequest as Request
from secdesk.tickets.models import RequestKind

__all__ = ["OFFER_LIST_LIMIT", "UNDER_ACTION", "OfferUnderAction", "offers_under_action"]

#: Offer statuses that mean the marketplace is acting on the offer.
UNDER_ACTION: Final = (OfferStatus.MODIFICATION_REQUESTED, OfferStatus.SUSPENDED, OfferStatus.DELISTED)
#: Offers listed (the counts cover them all).
OFFER_LIST_LIMIT: Final = 12


@dataclass(frozen=True)
class OfferUnderAction:
    """An offer the marketplace acts on, and since when (``None`` when no record says)."""

    slug: str
    name: str
    publisher: str
    status: str
    since: datetime | None
    review: date | None
    confirmation_number: str | None


def offers_under_action(actor: Actor, zone: ZoneInfo) -> tuple[dict[str, int], list[OfferUnderAction]]:
    """Counts by status (one query) and the :data:`OFFER_LIST_LIMIT` offers longest under action (one query).

    Since when, and until when: for a suspended or delisted offer, the enforcement that set its status (its
    review date); for an offer whose modification was requested, the latest modification request (its due
    date, as a day in ``zone``).
    """
    counts: dict[str, int] = {str(status): 0 for status in UNDER_ACTION}
    if not can(actor, Permission.OFFER_READ):
        return counts, []
    under_action = offers_visible_to(actor).filter(status__in=UNDER_ACTION)
    for status, count in under_action.values_list("status").annotate(n=Count("*")).order_by():
        counts[status] = count
    action = OfferAction.objects.filter(offer=OuterRef("pk"), new_status=OuterRef("status")).order_by(
        "-taken_at", "-id"
    )
    request = Request.objects.filter(offer=OuterRef("pk"), kind=RequestKind.MODIFY_OFFER).order_by("-created_at", "-id")
    listed = (
        under_action.annotate(
            m_action_at=Subquery(action.values("taken_at")[:1]),
            m_review=Subquery(action.values("review_date")[:1]),
            m_action_ticket=Subquery(action.values("ticket__confirmation_number")[:1]),
            m_request_at=Subquery(request.values("created_at")[:1]),
            m_request_due=Subquery(request.values("due_at")[:1]),
            m_request_ticket=Subquery(request.values("ticket__confirmation_number")[:1]),
        )
        .annotate(m_since=Coalesce("m_action_at", "m_request_at"))
        .values_list(
            "slug",
            "name",
            "organization__name",
            "status",
            "m_action_at",
            "m_review",
            "m_action_ticket",
            "m_request_at",
            "m_request_due",
            "m_request_ticket",
        )
        .order_by(F("m_since").asc(nulls_last=True), "slug")
    )
    return counts, [_offer_row(row, zone) for row in listed[:OFFER_LIST_LIMIT]]


def _offer_row(row: Sequence[Any], zone: ZoneInfo) -> OfferUnderAction:
    slug, name, publisher, status, action_at, review, action_ticket, request_at, request_due, request_ticket = row
    if status == OfferStatus.MODIFICATION_REQUESTED:
        since, ticket = request_at, request_ticket
        review = request_due.astimezone(zone).date() if request_due is not None else None
    else:
        since, ticket = action_at, action_ticket
    return OfferUnderAction(
        slug=slug, name=name, publisher=publisher, status=status, since=since, review=review, confirmation_number=ticket
    )
