"""Requests to the publisher — "what we need from you" — and their answers.

The ball is with the publisher while a request is ``open``: the remediation
clock is paused exactly then. Asking for an extension hands the ball back to
the marketplace until a responder grants (new due date) or refuses it; in
both cases the request is open again, owed by the publisher.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from secdesk.domain.errors import Conflict, ErrorList, FieldError, InvalidInput, NotFound
from secdesk.domain.lifecycle import Action, Status
from secdesk.domain.policy import Actor, Permission
from secdesk.marketplace.models import Offer, OfferStatus
from secdesk.tickets import timeline
from secdesk.tickets.models import PublisherRequest, RequestKind, RequestStatus, Ticket
from secdesk.tickets.selectors import access_ticket
from secdesk.triage.services.clocks import sync_pause
from secdesk.triage.services.moves import move

OFFER_KINDS = {RequestKind.MODIFY_OFFER.value, RequestKind.REMOVE_OFFER.value}
ANSWERS = ("done", "declined", "extension")


def _lock_request(actor: Actor, request_id: str, permission: Permission) -> tuple[Ticket, PublisherRequest]:
    """Lock the request's ticket (visibility checked as for the ticket), then the request."""
    number = (
        PublisherRequest.objects.filter(public_id=request_id)
        .values_list("ticket__confirmation_number", flat=True)
        .first()
    )
    if number is None:
        raise NotFound("no such request")
    ticket = access_ticket(actor, number, permission, for_update=True)
    request = PublisherRequest.objects.select_for_update().get(public_id=request_id, ticket=ticket)
    return ticket, request


def _summary(request: PublisherRequest) -> dict[str, object]:
    return {
        "request": request.public_id,
        "kind": request.kind,
        "due_at": request.due_at.isoformat(),
        "offer": request.offer.slug if request.offer else None,
    }


def create_request(
    actor: Actor,
    *,
    confirmation_number: str,
    kind: str,
    description: str,
    due_at: datetime,
    offer: str | None = None,
) -> PublisherRequest:
    """Ask the publisher for something by a due date; an assessing ticket then awaits the publisher."""
    errors = ErrorList()
    if kind not in RequestKind.values:
        errors.add("kind", f"must be one of {', '.join(RequestKind.values)}", code="invalid_choice")
    if not description.strip():
        errors.add("description", "say what you need", code="required")
    if len(description) > 50_000:
        errors.add("description", "is longer than 50000 characters", code="too_long")
    now = timezone.now()
    if due_at.tzinfo is None:
        errors.add("due_at", "give a time zone (e.g. 2026-12-01T17:00:00+01:00)", code="invalid")
    elif due_at <= now:
        errors.add("due_at", "must be in the future", code="invalid")
    if kind in OFFER_KINDS and not offer:
        errors.add("offer", "name the offer to modify or remove", code="required")
    errors.raise_if_any()
    with transaction.atomic():
        ticket = access_ticket(actor, confirmation_number, Permission.REQUEST_CREATE, for_update=True)
        if ticket.status in (Status.DRAFT.value, Status.CLOSED.value, Status.RESOLVED.value):
            raise Conflict(f"a ticket that is {ticket.status} takes no requests")
        target: Offer | None = None
        if offer:
            target = ticket.offers.select_for_update().filter(slug=offer).first()
            if target is None:
                raise InvalidInput([FieldError("offer", "not one of the ticket's offers", "unknown_offer")])
        request = PublisherRequest.objects.create(
            ticket=ticket,
            public_id=secrets.token_hex(6),
            kind=kind,
            description=description.strip(),
            offer=target,
            due_at=due_at,
            created_by_id=actor.signed_in_id(),
            created_at=now,
        )
        if target is not None and kind == RequestKind.MODIFY_OFFER and target.status == OfferStatus.LIVE:
            target.status = OfferStatus.MODIFICATION_REQUESTED
            target.save(update_fields=["status"])
        timeline.append(
            ticket, "request.created", actor=actor, data={**_summary(request), "description": request.description}
        )
        if ticket.status == Status.ASSESSING.value:
            move(actor, ticket, Action.AWAIT_PUBLISHER, data={"request": request.public_id})
        sync_pause(ticket, now)
        ticket.save()
    return request


def answer_request(
    actor: Actor,
    *,
    request_id: str,
    response: str,
    text: str = "",
    reason: str = "",
    proposed_due: datetime | None = None,
) -> PublisherRequest:
    """The publisher answers in one step: ``done``, ``declined`` (with reason) or ``extension`` (reason, date)."""
    errors = ErrorList()
    if response not in ANSWERS:
        errors.add("response", "must be one of done, declined, extension", code="invalid_choice")
    if response in ("declined", "extension") and not reason.strip():
        errors.add("reason", f"a {response} answer needs a reason", code="required")
    if response == "extension":
        if proposed_due is None:
            errors.add("proposed_due", "propose a new due date", code="required")
        elif proposed_due.tzinfo is None:
            errors.add("proposed_due", "give a time zone", code="invalid")
    if len(text) > 50_000 or len(reason) > 50_000:
        errors.add("text", "is longer than 50000 characters", code="too_long")
    errors.raise_if_any()
    with transaction.atomic():
        ticket, request = _lock_request(actor, request_id, Permission.REQUEST_ANSWER)
        if request.status != RequestStatus.OPEN:
            raise Conflict(f"this request is {request.status}, not waiting for an answer")
        now = timezone.now()
        if response == "extension":
            if proposed_due is not None and proposed_due <= request.due_at:
                raise InvalidInput([FieldError("proposed_due", "must be later than the current due date", "invalid")])
            request.status = RequestStatus.EXTENSION_REQUESTED
            request.extension_reason = reason.strip()
            request.extension_proposed_due = proposed_due
            request.extension_decision = ""
        else:
            request.status = RequestStatus.DONE if response == "done" else RequestStatus.DECLINED
            request.answer = text.strip()
            request.decline_reason = reason.strip() if response == "declined" else ""
            request.answered_by_id = actor.signed_in_id()
            request.answered_at = now
        request.save()
        timeline.append(
            ticket,
            f"request.{'extension_requested' if response == 'extension' else response}",
            actor=actor,
            data={
                **_summary(request),
                "text": text.strip(),
                "reason": reason.strip(),
                "proposed_due": proposed_due.isoformat() if proposed_due else None,
            },
        )
        still_waiting = ticket.requests.filter(status=RequestStatus.OPEN).exists()
        if not still_waiting and ticket.status == Status.AWAITING_PUBLISHER.value:
            move(actor, ticket, Action.PUBLISHER_RESPONDED, data={"request": request.public_id})
        sync_pause(ticket, now)
        ticket.save()
    return request


def decide_extension(actor: Actor, *, request_id: str, decision: str, reason: str = "") -> PublisherRequest:
    """Grant (the proposed date becomes the due date) or refuse (with a reason) an extension."""
    errors = ErrorList()
    if decision not in ("granted", "refused"):
        errors.add("decision", "must be granted or refused", code="invalid_choice")
    if decision == "refused" and not reason.strip():
        errors.add("reason", "say why the extension is refused", code="required")
    errors.raise_if_any()
    with transaction.atomic():
        ticket, request = _lock_request(actor, request_id, Permission.REQUEST_DECIDE)
        if request.status != RequestStatus.EXTENSION_REQUESTED:
            raise Conflict("no extension is waiting for a decision on this request")
        now = timezone.now()
        previous_due = request.due_at
        if decision == "granted" and request.extension_proposed_due is not None:
            request.due_at = request.extension_proposed_due
            request.breached_at = None
        request.status = RequestStatus.OPEN
        request.extension_decision = decision
        request.extension_decision_reason = reason.strip()
        request.save()
        timeline.append(
            ticket,
            f"request.extension_{decision}",
            actor=actor,
            data={**_summary(request), "previous_due": previous_due.isoformat(), "reason": reason.strip()},
        )
        # Granted or refused, the publisher owes the answer again.
        if ticket.status == Status.ASSESSING.value:
            move(actor, ticket, Action.AWAIT_PUBLISHER, data={"request": request.public_id})
        sync_pause(ticket, now)
        ticket.save()
    return request
