"""Offer actions by the marketplace: suspend, delist, reinstate — each with a reason and a review date."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone

from secdesk.domain.errors import Conflict, ErrorList, FieldError, InvalidInput, NotFound
from secdesk.domain.policy import Actor, Permission, require
from secdesk.marketplace.models import Offer, OfferAction, OfferActionKind, OfferStatus
from secdesk.marketplace.selectors import offers_visible_to
from secdesk.tickets import timeline
from secdesk.tickets.models import Message
from secdesk.tickets.selectors import access_ticket
from secdesk.triage.services.assessment import post_marketplace_message

# What each action does to the offer, and from which states it may be taken.
EFFECTS: dict[str, tuple[str, frozenset[str]]] = {
    OfferActionKind.SUSPEND: (
        OfferStatus.SUSPENDED,
        frozenset({OfferStatus.LIVE, OfferStatus.MODIFICATION_REQUESTED}),
    ),
    OfferActionKind.DELIST: (
        OfferStatus.DELISTED,
        frozenset({OfferStatus.LIVE, OfferStatus.MODIFICATION_REQUESTED, OfferStatus.SUSPENDED}),
    ),
    OfferActionKind.REINSTATE: (
        OfferStatus.LIVE,
        frozenset({OfferStatus.SUSPENDED, OfferStatus.DELISTED, OfferStatus.MODIFICATION_REQUESTED}),
    ),
}
MESSAGES: dict[str, str] = {
    OfferActionKind.SUSPEND: "The marketplace has suspended the offer {offer}: it is hidden from new purchases.",
    OfferActionKind.DELIST: "The marketplace has delisted the offer {offer}.",
    OfferActionKind.REINSTATE: "The marketplace has reinstated the offer {offer}.",
}


def take_offer_action(
    actor: Actor,
    *,
    offer: str,
    action: str,
    reason: str,
    review_date: date | None = None,
    confirmation_number: str | None = None,
) -> OfferAction:
    """Suspend, delist or reinstate an offer (leads only); the offer's status follows.

    With a confirmation number the action is tied to that ticket: it lands on
    its timeline and the publisher is told on the thread. Locks the offer row.
    """
    errors = ErrorList()
    if action not in EFFECTS:
        errors.add("action", "must be suspend, delist or reinstate", code="invalid_choice")
    if not reason.strip():
        errors.add("reason", "give the reason for the action", code="required")
    if action in (OfferActionKind.SUSPEND, OfferActionKind.DELIST) and review_date is None:
        errors.add("review_date", "set the date the action will be reviewed", code="required")
    if review_date is not None and review_date < timezone.localdate():
        errors.add("review_date", "must not be in the past", code="invalid")
    errors.raise_if_any()
    # An offer the actor may not see answers like a missing one, before any permission talk.
    if not offers_visible_to(actor).filter(slug=offer).exists():
        raise NotFound("no such offer")
    require(actor, Permission.OFFER_ENFORCE)
    with transaction.atomic():
        ticket = (
            access_ticket(actor, confirmation_number, Permission.TICKET_TRIAGE, for_update=True)
            if confirmation_number
            else None
        )
        target = Offer.objects.select_for_update().filter(slug=offer).first()
        if target is None:
            raise NotFound("no such offer")
        if ticket is not None and not ticket.offers.filter(pk=target.pk).exists():
            raise InvalidInput([FieldError("offer", "is not one of the ticket's offers", "unknown_offer")])
        new_status, sources = EFFECTS[action]
        if target.status not in sources:
            raise Conflict(f"cannot {action} an offer that is {target.status}")
        record = OfferAction.objects.create(
            offer=target,
            action=action,
            reason=reason.strip(),
            review_date=review_date,
            previous_status=target.status,
            new_status=new_status,
            ticket=ticket,
            taken_by_id=actor.signed_in_id(),
        )
        target.status = new_status
        target.save(update_fields=["status"])
        if ticket is not None:
            text = MESSAGES[action].format(offer=target.name) + f"\nReason: {record.reason}"
            if review_date:
                text += f"\nReview date: {review_date.isoformat()}"
            facts = {
                "action": action,
                "offer": target.name,
                "reason": record.reason,
                "review_date": review_date.isoformat() if review_date else None,
            }
            post_marketplace_message(actor, ticket, text, kind=Message.Kind.OFFER_ACTION, facts=facts)
            timeline.append(
                ticket,
                f"offer.{action}",
                actor=actor,
                data={
                    "offer": target.slug,
                    "from": record.previous_status,
                    "to": new_status,
                    "reason": record.reason,
                    "review_date": review_date.isoformat() if review_date else None,
                },
            )
    return record
