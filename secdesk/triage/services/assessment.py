"""The assessment result, and the lifecycle steps a responder takes by name."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from secdesk.domain.errors import ErrorList, FieldError, InvalidInput, NotFound
from secdesk.domain.lifecycle import Action, Status
from secdesk.domain.policy import Actor, Permission
from secdesk.tickets import timeline
from secdesk.tickets.models import Message, Ticket
from secdesk.tickets.search import append_message
from secdesk.tickets.selectors import access_ticket
from secdesk.triage.services.moves import move

OUTCOMES = {
    "confirmed": "Confirmed: the issue is real and affects the offer.",
    "not_reproducible": "Not reproducible: we could not reproduce the issue.",
    "not_a_security_issue": "Not a security issue.",
    "duplicate": "Duplicate of another report.",
    "needs_information": "We need more information to assess the issue.",
}
# Steps a responder takes by name; submit and acknowledge have their own use cases.
NAMED_ACTIONS = {
    Action.START_ASSESSMENT,
    Action.AWAIT_PUBLISHER,
    Action.PUBLISHER_RESPONDED,
    Action.START_REMEDIATION,
    Action.START_NOTIFYING,
    Action.RESOLVE,
    Action.CLOSE,
    Action.REOPEN,
}


def _duplicate_target(actor: Actor, ticket: Ticket, number: str) -> Ticket:
    try:
        original = access_ticket(actor, number)
    except NotFound:
        raise InvalidInput([FieldError("duplicate_of", "no such ticket", "unknown_ticket")]) from None
    if original.pk == ticket.pk:
        raise InvalidInput([FieldError("duplicate_of", "a ticket cannot duplicate itself", "invalid")])
    return original


def post_marketplace_message(actor: Actor, ticket: Ticket, body: str, *, kind: str, facts: dict[str, Any]) -> Message:
    """A publisher-visible message the desk writes for the marketplace (``kind`` and ``facts`` say what it
    says, for pages in other languages), inside the caller's transaction."""
    message = Message.objects.create(
        ticket=ticket,
        author_id=actor.user_id,
        body=body,
        kind=kind,
        facts=facts,
        internal=False,
        from_marketplace=True,
    )
    append_message(ticket.pk, body)
    return message


def assess(
    actor: Actor, *, confirmation_number: str, outcome: str, summary: str = "", duplicate_of: str | None = None
) -> Ticket:
    """Record the assessment outcome and tell the publisher in a message on the thread.

    An acknowledged (or reopened) ticket moves to ``assessing`` first.
    """
    errors = ErrorList()
    if outcome not in OUTCOMES:
        errors.add("outcome", f"must be one of {', '.join(OUTCOMES)}", code="invalid_choice")
    if outcome == "duplicate" and not duplicate_of:
        errors.add("duplicate_of", "name the confirmation number this duplicates", code="required")
    if len(summary) > 50_000:
        errors.add("summary", "is longer than 50000 characters", code="too_long")
    errors.raise_if_any()
    with transaction.atomic():
        ticket = access_ticket(actor, confirmation_number, Permission.TICKET_TRIAGE, for_update=True)
        original = _duplicate_target(actor, ticket, duplicate_of) if outcome == "duplicate" and duplicate_of else None
        if ticket.status in (Status.ACKNOWLEDGED.value, Status.REOPENED.value):
            move(actor, ticket, Action.START_ASSESSMENT)
        elif ticket.status not in (Status.ASSESSING.value, Status.AWAITING_PUBLISHER.value, Status.REMEDIATING.value):
            raise InvalidInput(
                [FieldError("outcome", f"a ticket that is {ticket.status} cannot be assessed", "invalid_state")]
            )
        ticket.assessment_outcome = outcome
        ticket.duplicate_of = original
        ticket.updated_at = timezone.now()
        ticket.save(update_fields=["assessment_outcome", "duplicate_of", "updated_at"])
        body = f"Assessment result: {OUTCOMES[outcome]}"
        if original is not None:
            body += f"\nOriginal report: {original.confirmation_number}"
        if summary.strip():
            body += f"\n\n{summary.strip()}"
        facts = {
            "outcome": outcome,
            "duplicate_of": original.confirmation_number if original else None,
            "summary": summary.strip(),
        }
        message = post_marketplace_message(actor, ticket, body, kind=Message.Kind.ASSESSMENT, facts=facts)
        timeline.append(
            ticket,
            "ticket.assessed",
            actor=actor,
            data={
                "outcome": outcome,
                "duplicate_of": original.confirmation_number if original else None,
                "message_id": message.pk,
            },
        )
    return ticket


def _named_action(action: str) -> Action:
    for step in NAMED_ACTIONS:
        if step.value == action:
            return step
    names = ", ".join(sorted(a.value for a in NAMED_ACTIONS))
    raise InvalidInput([FieldError("action", f"must be one of {names}", "invalid_choice")])


def transition(
    actor: Actor,
    *,
    confirmation_number: str,
    action: str,
    reason: str = "",
    close_reason: str = "",
    duplicate_of: str = "",
) -> Ticket:
    """Take a named lifecycle step (resolve, close, reopen, start remediation, …) with its required facts."""
    step = _named_action(action)
    with transaction.atomic():
        ticket = access_ticket(actor, confirmation_number, Permission.TICKET_TRIAGE, for_update=True)
        facts: dict[str, object] = {"reason": reason.strip(), "close_reason": close_reason}
        data: dict[str, object] = {}
        if reason.strip():
            data["reason"] = reason.strip()
        if step == Action.CLOSE:
            data["close_reason"] = close_reason
            if close_reason == "duplicate" and duplicate_of:
                original = _duplicate_target(actor, ticket, duplicate_of)
                ticket.duplicate_of = original
                facts["duplicate_of"] = original.confirmation_number
                data["duplicate_of"] = original.confirmation_number
        if step == Action.RESOLVE:
            ticket.resolution = reason.strip()
        move(actor, ticket, step, facts=facts, data=data)
    return ticket


def withdraw(actor: Actor, *, confirmation_number: str, reason: str = "") -> Ticket:
    """The publisher withdraws its own ticket (a draft or an open one): it is closed as withdrawn."""
    with transaction.atomic():
        ticket = access_ticket(actor, confirmation_number, Permission.TICKET_WITHDRAW, for_update=True)
        data = {"reason": reason.strip()} if reason.strip() else {}
        move(actor, ticket, Action.WITHDRAW, data=data)
    return ticket
