"""Triage routes: acknowledge, classify, assign, assess, lifecycle steps, affected customers,
requests to the publisher and offer actions."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema, Status
from pydantic import Field

from secdesk.api import presenters
from secdesk.api.auth import actor_of
from secdesk.api.permissions import requires
from secdesk.api.schemas import ProblemOut, Strict, TicketOut
from secdesk.api.tickets import ERRORS, ticket_detail_for
from secdesk.domain.lifecycle import Status as TicketStatus
from secdesk.domain.lifecycle import allowed_actions
from secdesk.domain.policy import Permission
from secdesk.marketplace.selectors import offer_actions
from secdesk.tickets import selectors
from secdesk.tickets.models import PublisherRequest
from secdesk.triage import services
from secdesk.triage.services.classification import count_affected, suggested_priority

router = Router(tags=["triage"])


class AcknowledgeIn(Strict):
    priority: str = Field(description="P1 (most urgent) to P4")
    severity: str = Field(description="critical, high, medium, low or none")
    reason: str = Field("", description="Required when overriding a suggested priority or severity")
    actively_exploited: bool | None = None


class ClassificationIn(Strict):
    priority: str | None = None
    severity: str | None = None
    actively_exploited: bool | None = None
    reason: str = Field(description="Why it changes (required)")


class AssignIn(Strict):
    assignee: str | None = Field(description="\"me\", a responder's or lead's e-mail, or null to unassign")


class AssessmentIn(Strict):
    outcome: str = Field(description="confirmed, not_reproducible, not_a_security_issue, duplicate, needs_information")
    summary: str = ""
    duplicate_of: str | None = None


class TransitionIn(Strict):
    action: str = Field(
        description="start_assessment, await_publisher, publisher_responded, start_remediation, "
        "start_notifying, resolve, close, reopen"
    )
    reason: str = ""
    close_reason: str = Field("", description="resolved, duplicate, not_a_security_issue, not_reproducible, withdrawn")
    duplicate_of: str = ""


class AffectedIn(Strict):
    plans: list[str] = Field(default_factory=list, description='"offer-slug/plan-slug" items')
    versions: list[str] = Field(default_factory=list)


class SuggestionsOut(Schema):
    severity: str | None
    priority: str | None
    affected_customers: int
    actively_exploited: bool
    allowed_actions: list[str]


class ContactOut(Schema):
    name: str
    email: str
    language: str


class CustomerOut(Schema):
    slug: str
    name: str
    tenant_id: str
    contacts: list[ContactOut]


class AffectedOut(Schema):
    confirmation_number: str
    count: int
    customers: list[CustomerOut]


class RequestIn(Strict):
    kind: str = Field(description="information, affected_versions, modify_offer, remove_offer, approve_notice")
    description: str
    due_at: datetime
    offer: str | None = Field(None, description="Offer slug; required to modify or remove an offer")


class RequestAnswerIn(Strict):
    response: str = Field(description="done, declined or extension")
    text: str = ""
    reason: str = ""
    proposed_due: datetime | None = None


class ExtensionDecisionIn(Strict):
    decision: str = Field(description="granted or refused")
    reason: str = ""


class RequestOut(Schema):
    id: str
    confirmation_number: str
    kind: str
    description: str
    offer: str | None
    due_at: datetime
    status: str
    overdue: bool
    answer: str
    decline_reason: str
    extension_reason: str
    extension_proposed_due: datetime | None
    extension_decision: str
    extension_decision_reason: str
    created_at: datetime
    answered_at: datetime | None


class OfferActionIn(Strict):
    action: str = Field(description="suspend, delist or reinstate")
    reason: str
    review_date: date | None = None
    confirmation_number: str | None = None


class OfferActionOut(Schema):
    offer: str
    action: str
    reason: str
    review_date: date | None
    previous_status: str
    new_status: str
    confirmation_number: str | None
    taken_by: str
    taken_at: datetime


def _request_out(item: PublisherRequest, number: str, zone: Any) -> dict[str, Any]:
    return {
        "id": item.public_id,
        "confirmation_number": number,
        "kind": item.kind,
        "description": item.description,
        "offer": item.offer.slug if item.offer else None,
        "due_at": item.due_at.astimezone(zone),
        "status": item.status,
        "overdue": item.breached_at is not None,
        "answer": item.answer,
        "decline_reason": item.decline_reason,
        "extension_reason": item.extension_reason,
        "extension_proposed_due": item.extension_proposed_due.astimezone(zone) if item.extension_proposed_due else None,
        "extension_decision": item.extension_decision,
        "extension_decision_reason": item.extension_decision_reason,
        "created_at": item.created_at.astimezone(zone),
        "answered_at": item.answered_at.astimezone(zone) if item.answered_at else None,
    }


@router.post(
    "/tickets/{confirmation_number}/acknowledge", response={200: TicketOut, **ERRORS}, operation_id="ticket_acknowledge"
)
@requires(Permission.TICKET_TRIAGE)
def acknowledge(request: HttpRequest, confirmation_number: str, payload: AcknowledgeIn) -> dict[str, Any]:
    """Acknowledge with priority and severity; overriding a suggestion needs a reason."""
    ticket = services.acknowledge(actor_of(request), confirmation_number=confirmation_number, **payload.dict())
    return ticket_detail_for(request, ticket.confirmation_number)


@router.post(
    "/tickets/{confirmation_number}/classification",
    response={200: TicketOut, **ERRORS},
    operation_id="ticket_reclassify",
)
@requires(Permission.TICKET_TRIAGE)
def reclassify(request: HttpRequest, confirmation_number: str, payload: ClassificationIn) -> dict[str, Any]:
    """Change priority, severity or active exploitation later; always with a reason."""
    ticket = services.reclassify(actor_of(request), confirmation_number=confirmation_number, **payload.dict())
    return ticket_detail_for(request, ticket.confirmation_number)


@router.post("/tickets/{confirmation_number}/assign", response={200: TicketOut, **ERRORS}, operation_id="ticket_assign")
@requires(Permission.TICKET_TRIAGE)
def assign(request: HttpRequest, confirmation_number: str, payload: AssignIn) -> dict[str, Any]:
    """Claim (`"me"`), assign to a responder or lead, or unassign (`null`)."""
    ticket = services.assign(actor_of(request), confirmation_number=confirmation_number, assignee=payload.assignee)
    return ticket_detail_for(request, ticket.confirmation_number)


@router.post(
    "/tickets/{confirmation_number}/assessment", response={200: TicketOut, **ERRORS}, operation_id="ticket_assess"
)
@requires(Permission.TICKET_TRIAGE)
def assess(request: HttpRequest, confirmation_number: str, payload: AssessmentIn) -> dict[str, Any]:
    """Record the assessment outcome; the publisher is told on the thread."""
    ticket = services.assess(actor_of(request), confirmation_number=confirmation_number, **payload.dict())
    return ticket_detail_for(request, ticket.confirmation_number)


@router.post(
    "/tickets/{confirmation_number}/transitions", response={200: TicketOut, **ERRORS}, operation_id="ticket_transition"
)
@requires(Permission.TICKET_TRIAGE)
def transition(request: HttpRequest, confirmation_number: str, payload: TransitionIn) -> dict[str, Any]:
    """Take a lifecycle step by name (resolve and reopen need a reason; close needs a close reason)."""
    ticket = services.transition(actor_of(request), confirmation_number=confirmation_number, **payload.dict())
    return ticket_detail_for(request, ticket.confirmation_number)


class WithdrawIn(Strict):
    reason: str = ""


@router.post(
    "/tickets/{confirmation_number}/withdraw", response={200: TicketOut, **ERRORS}, operation_id="ticket_withdraw"
)
@requires(Permission.TICKET_WITHDRAW)
def withdraw(request: HttpRequest, confirmation_number: str, payload: WithdrawIn) -> dict[str, Any]:
    """The publisher withdraws its own ticket; it is closed as withdrawn."""
    ticket = services.withdraw(actor_of(request), confirmation_number=confirmation_number, reason=payload.reason)
    return ticket_detail_for(request, ticket.confirmation_number)


@router.get(
    "/tickets/{confirmation_number}/suggestions",
    response={200: SuggestionsOut, **ERRORS},
    operation_id="ticket_suggestions",
)
@requires(Permission.TICKET_TRIAGE)
def suggestions(request: HttpRequest, confirmation_number: str) -> dict[str, Any]:
    """What the desk suggests for acknowledgement, and the lifecycle steps you may take now."""
    actor = actor_of(request)
    ticket = selectors.access_ticket(actor, confirmation_number, Permission.TICKET_TRIAGE)
    # Counted now, as acknowledge counts them: the stored count is only set by acknowledge and set_affected.
    ticket.affected_customers = count_affected(ticket)
    severity = ticket.severity or ticket.suggested_severity or None
    return {
        "severity": ticket.suggested_severity or None,
        "priority": suggested_priority(ticket, severity) if severity else None,
        "affected_customers": ticket.affected_customers,
        "actively_exploited": ticket.actively_exploited,
        "allowed_actions": [
            a.value
            for a in allowed_actions(
                actor=actor, status=TicketStatus(ticket.status), organization_id=ticket.organization_id
            )
        ],
    }


@router.put(
    "/tickets/{confirmation_number}/affected", response={200: TicketOut, **ERRORS}, operation_id="ticket_set_affected"
)
@requires(Permission.TICKET_TRIAGE)
def set_affected(request: HttpRequest, confirmation_number: str, payload: AffectedIn) -> dict[str, Any]:
    """Narrow the affected deployments to plans and versions; the count feeds the priority."""
    ticket = services.set_affected(actor_of(request), confirmation_number=confirmation_number, **payload.dict())
    return ticket_detail_for(request, ticket.confirmation_number)


def _affected(request: HttpRequest, confirmation_number: str) -> dict[str, Any]:
    ticket, customers = selectors.affected_customers(actor_of(request), confirmation_number)
    rows = [
        {
            "slug": c.slug,
            "name": c.name,
            "tenant_id": c.tenant_id,
            "contacts": [{"name": p.name, "email": p.email, "language": p.language} for p in c.contacts.all()],
        }
        for c in customers
    ]
    return {"confirmation_number": ticket.confirmation_number, "count": len(rows), "customers": rows}


@router.get(
    "/tickets/{confirmation_number}/affected-customers",
    response={200: AffectedOut, **ERRORS},
    operation_id="affected_customers",
)
@requires(Permission.CUSTOMER_READ)
def affected_customers(request: HttpRequest, confirmation_number: str) -> dict[str, Any]:
    """Customers running an affected deployment, with their contacts (staff only)."""
    return _affected(request, confirmation_number)


@router.get(
    "/tickets/{confirmation_number}/affected-customers.csv",
    response={200: None, **ERRORS},
    operation_id="affected_customers_csv",
)
@requires(Permission.CUSTOMER_READ)
def affected_customers_csv(request: HttpRequest, confirmation_number: str) -> HttpResponse:
    """The same list as CSV: one row per contact."""
    data = _affected(request, confirmation_number)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["customer", "customer_name", "tenant_id", "contact_name", "contact_email", "language"])
    for customer in data["customers"]:
        for contact in customer["contacts"] or [{"name": "", "email": "", "language": ""}]:
            writer.writerow(
                [
                    _cell(v)
                    for v in (
                        customer["slug"],
                        customer["name"],
                        customer["tenant_id"],
                        contact["name"],
                        contact["email"],
                        contact["language"],
                    )
                ]
            )
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{data["confirmation_number"]}-affected-customers.csv"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _cell(value: str) -> str:
    # A cell starting with = + - @ would run as a formula in a spreadsheet (CSV injection).
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@router.get(
    "/tickets/{confirmation_number}/requests", response={200: list[RequestOut], **ERRORS}, operation_id="request_list"
)
@requires(Permission.TICKET_READ)
def list_requests(request: HttpRequest, confirmation_number: str) -> list[dict[str, Any]]:
    """What the marketplace needs from the publisher, with due dates and answers."""
    actor = actor_of(request)
    ticket = selectors.access_ticket(actor, confirmation_number)
    zone = presenters.zone_of(request.user)
    return [_request_out(r, ticket.confirmation_number, zone) for r in selectors.requests_for(actor, ticket)]


@router.post(
    "/tickets/{confirmation_number}/requests", response={201: RequestOut, **ERRORS}, operation_id="request_create"
)
@requires(Permission.REQUEST_CREATE)
def create_request(request: HttpRequest, confirmation_number: str, payload: RequestIn) -> Status:
    """Ask the publisher for something by a due date (pauses the remediation clock while open)."""
    item = services.create_request(actor_of(request), confirmation_number=confirmation_number, **payload.dict())
    return Status(201, _request_out(item, item.ticket.confirmation_number, presenters.zone_of(request.user)))


@router.post("/requests/{request_id}/answer", response={200: RequestOut, **ERRORS}, operation_id="request_answer")
@requires(Permission.REQUEST_ANSWER)
def answer_request(request: HttpRequest, request_id: str, payload: RequestAnswerIn) -> dict[str, Any]:
    """Answer in one step: done, declined (with reason) or extension (reason and proposed date)."""
    item = services.answer_request(actor_of(request), request_id=request_id, **payload.dict())
    return _request_out(item, item.ticket.confirmation_number, presenters.zone_of(request.user))


@router.post(
    "/requests/{request_id}/extension", response={200: RequestOut, **ERRORS}, operation_id="request_decide_extension"
)
@requires(Permission.REQUEST_DECIDE)
def decide_extension(request: HttpRequest, request_id: str, payload: ExtensionDecisionIn) -> dict[str, Any]:
    """Grant or refuse a requested extension."""
    item = services.decide_extension(actor_of(request), request_id=request_id, **payload.dict())
    return _request_out(item, item.ticket.confirmation_number, presenters.zone_of(request.user))


def _action_out(item: Any, zone: Any) -> dict[str, Any]:
    return {
        "offer": item.offer.slug,
        "action": item.action,
        "reason": item.reason,
        "review_date": item.review_date,
        "previous_status": item.previous_status,
        "new_status": item.new_status,
        "confirmation_number": item.ticket.confirmation_number if item.ticket else None,
        "taken_by": item.taken_by.email,
        "taken_at": item.taken_at.astimezone(zone),
    }


@router.get(
    "/offers/{slug}/actions",
    response={200: list[OfferActionOut], 401: ProblemOut, 404: ProblemOut},
    operation_id="offer_action_list",
)
@requires(Permission.OFFER_READ)
def list_offer_actions(request: HttpRequest, slug: str) -> list[dict[str, Any]]:
    """The offer's enforcement history (its publisher and staff)."""
    _offer, actions = offer_actions(actor_of(request), slug)
    zone = presenters.zone_of(request.user)
    return [_action_out(a, zone) for a in actions]


@router.post("/offers/{slug}/actions", response={201: OfferActionOut, **ERRORS}, operation_id="offer_action_create")
@requires(Permission.OFFER_ENFORCE)
def take_offer_action(request: HttpRequest, slug: str, payload: OfferActionIn) -> Status:
    """Suspend, delist or reinstate an offer (leads only), with a reason and a review date."""
    item = services.take_offer_action(actor_of(request), offer=slug, **payload.dict())
    return Status(201, _action_out(item, presenters.zone_of(request.user)))
