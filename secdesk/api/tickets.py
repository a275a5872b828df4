"""Ticket routes: file, list, show, edit a draft, submit, correspond, download attachments."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from django.http import HttpRequest, StreamingHttpResponse
from ninja import Header, Query, Router, Status
from ninja.errors import HttpError, ValidationError
from pydantic import ValidationError as PydanticValidationError

from secdesk.api import presenters
from secdesk.api.auth import actor_of
from secdesk.api.permissions import requires
from secdesk.api.schemas import (
    MessageIn,
    MessageOut,
    ProblemOut,
    TicketIn,
    TicketOut,
    TicketPageOut,
    TicketPatch,
)
from secdesk.domain.intake import Answers
from secdesk.domain.policy import Permission
from secdesk.tickets import selectors, services, storage

router = Router(tags=["tickets"])
ERRORS: dict[int, type[ProblemOut]] = {
    400: ProblemOut,
    401: ProblemOut,
    403: ProblemOut,
    404: ProblemOut,
    409: ProblemOut,
    413: ProblemOut,
    422: ProblemOut,
}


def ticket_detail_for(request: HttpRequest, number: str) -> dict[str, Any]:
    actor = actor_of(request)
    ticket = selectors.access_ticket(actor, number)
    events = list(selectors.timeline_for(actor, ticket))
    return presenters.ticket_detail(ticket, events, presenters.zone_of(request.user), staff_view=actor.is_staff_member)


@router.post("/tickets", response={200: TicketOut, 201: TicketOut, **ERRORS}, operation_id="ticket_create")
@requires(Permission.TICKET_CREATE)
def create_ticket(
    request: HttpRequest,
    payload: TicketIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
) -> Status:
    """File a ticket: a draft, or submitted at once with `"submit": true`.

    With an `Idempotency-Key` header a retried request returns the first
    ticket (200) instead of creating a second one.
    """
    answers = Answers(
        category=payload.category,
        problem_type=payload.problem_type,
        offers=tuple(payload.offers),
        description=payload.description,
        cvss_vectors=tuple(payload.cvss_vectors),
        cve_ids=tuple(payload.cve_ids),
        cwe_ids=tuple(payload.cwe_ids),
        mitigation=payload.mitigation,
        remediation_steps=payload.remediation_steps,
        customer_message=payload.customer_message,
    )
    actor = actor_of(request)
    filed = services.create_ticket(
        actor,
        answers=answers,
        submit=payload.submit,
        organization=payload.organization,
        idempotency_key=idempotency_key,
    )
    if not filed.created:
        return Status(200, ticket_detail_for(request, filed.ticket.confirmation_number))
    # Answer from what was just written instead of reading it back.
    zone = presenters.zone_of(request.user)
    body = presenters.ticket_detail(
        filed.ticket, filed.events, zone, staff_view=actor.is_staff_member, offers=filed.offers
    )
    return Status(201, body)


@router.get("/tickets", response={200: TicketPageOut, **ERRORS}, operation_id="ticket_list")
@requires(Permission.TICKET_READ)
def list_tickets(
    request: HttpRequest,
    status: str | None = Query(None),
    category: str | None = Query(None),
    severity: str | None = Query(None),
    cursor: str | None = Query(None),
    limit: int = Query(50, ge=1, le=100),
) -> dict[str, Any]:
    """The tickets you may see, newest first; follow `next_cursor` for more."""
    page = selectors.list_tickets(
        actor_of(request), status=status, category=category, severity=severity, cursor=cursor, limit=limit
    )
    zone = presenters.zone_of(request.user)
    return {
        "items": [presenters.ticket_summary(ticket, zone) for ticket in page.items],
        "next_cursor": page.next_cursor,
    }


@router.get("/tickets/{confirmation_number}", response={200: TicketOut, **ERRORS}, operation_id="ticket_show")
@requires(Permission.TICKET_READ)
def show_ticket(request: HttpRequest, confirmation_number: str) -> dict[str, Any]:
    """One ticket with its timeline (publishers see the publisher-visible events)."""
    return ticket_detail_for(request, confirmation_number)


@router.patch("/tickets/{confirmation_number}", response={200: TicketOut, **ERRORS}, operation_id="ticket_update")
@requires(Permission.TICKET_EDIT_DRAFT)
def update_draft(request: HttpRequest, confirmation_number: str, payload: TicketPatch) -> dict[str, Any]:
    """Change a draft's answers."""
    ticket = services.update_draft(
        actor_of(request), confirmation_number=confirmation_number, changes=payload.dict(exclude_unset=True)
    )
    return ticket_detail_for(request, ticket.confirmation_number)


@router.post("/tickets/{confirmation_number}/submit", response={200: TicketOut, **ERRORS}, operation_id="ticket_submit")
@requires(Permission.TICKET_SUBMIT)
def submit_ticket(request: HttpRequest, confirmation_number: str) -> dict[str, Any]:
    """Submit a draft; every missing answer is reported at once."""
    ticket = services.submit_ticket(actor_of(request), confirmation_number=confirmation_number)
    return ticket_detail_for(request, ticket.confirmation_number)


@router.get(
    "/tickets/{confirmation_number}/messages",
    response={200: list[MessageOut], **ERRORS},
    operation_id="message_list",
)
@requires(Permission.MESSAGE_READ)
def list_messages(request: HttpRequest, confirmation_number: str) -> list[dict[str, Any]]:
    """The thread, oldest first; internal notes only for marketplace staff."""
    actor = actor_of(request)
    ticket = selectors.access_ticket(actor, confirmation_number)
    zone = presenters.zone_of(request.user)
    return [presenters.message(m, ticket.confirmation_number, zone) for m in selectors.messages_for(actor, ticket)]


MESSAGE_BODY_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": MessageIn.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "body": {"type": "string"},
                        "internal": {"type": "boolean"},
                        "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                    },
                }
            },
        },
    }
}


def _message_input(request: HttpRequest) -> tuple[MessageIn, list[storage.IncomingFile]]:
    """Read a message from JSON, or from multipart form data with attached ``files``."""
    content_type = request.content_type or ""
    files: list[storage.IncomingFile] = []
    if content_type.startswith("multipart/form-data"):
        raw: dict[str, Any] = {"body": request.POST.get("body", "")}
        if "internal" in request.POST:
            raw["internal"] = request.POST["internal"].lower() in {"1", "true", "yes", "on"}
        files = [
            storage.IncomingFile(filename=f.name or "", content_type=f.content_type or "", chunks=f.chunks())
            for f in request.FILES.getlist("files")
        ]
    else:
        try:
            raw = json.loads(request.body or b"{}")
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise HttpError(400, "not valid UTF-8 JSON") from None  # answered like any malformed body (400)
        if not isinstance(raw, dict):
            raise ValidationError([{"loc": ("body",), "msg": "expected a JSON object", "type": "malformed"}])
    try:
        return MessageIn.model_validate(raw), files
    except PydanticValidationError as exc:
        raise ValidationError(
            [{"loc": err["loc"], "msg": err["msg"], "type": err["type"]} for err in exc.errors()]
        ) from None


@router.post(
    "/tickets/{confirmation_number}/messages",
    response={201: MessageOut, **ERRORS},
    openapi_extra=MESSAGE_BODY_DOC,
    operation_id="message_create",
)
@requires(Permission.MESSAGE_CREATE, Permission.NOTE_CREATE)
def post_message(request: HttpRequest, confirmation_number: str) -> Status:
    """Reply on the thread (JSON), or with attachments (multipart `files`); staff may post `internal` notes."""
    data, files = _message_input(request)
    actor = actor_of(request)
    message = services.post_message(
        actor, confirmation_number=confirmation_number, body=data.body, internal=data.internal, files=files
    )
    zone = presenters.zone_of(request.user)
    return Status(201, presenters.message(message, message.ticket.confirmation_number, zone))


@router.get(
    "/tickets/{confirmation_number}/attachments/{attachment_id}",
    response={200: None, **ERRORS},
    url_name="attachment_download",
    operation_id="attachment_download",
)
@requires(Permission.ATTACHMENT_READ)
def download_attachment(request: HttpRequest, confirmation_number: str, attachment_id: str) -> StreamingHttpResponse:
    """The file, always as a download (never rendered by the browser)."""
    item = selectors.access_attachment(actor_of(request), confirmation_number, attachment_id)
    response = StreamingHttpResponse(storage.open_chunks(item.storage_name), content_type="application/octet-stream")
    ascii_name = item.filename.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    response["Content-Disposition"] = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(item.filename)}"
    response["Content-Length"] = str(item.size)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["X-Secdesk-Sha256"] = item.sha256
    response["Cache-Control"] = "private, no-store"
    return response
