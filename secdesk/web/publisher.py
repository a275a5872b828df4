"""The publisher's pages: their organisation's tickets, starting a request, following and answering it.

Every view parses a form, calls one service or selector and renders (or
redirects: POST/redirect/GET, so the whole flow works without JavaScript).
Each declares the permission it needs as ``view.permission`` through
:func:`secdesk.accounts.views.requires` — a permission that can be checked
before the ticket is known (seeing tickets, filing them, reading notices);
what may be done to a particular ticket (reply, answer a request, edit or
approve its notice) is decided by the service on that ticket, and a ticket
the person may not see answers 404 exactly like a missing one.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from secdesk.accounts.views import requires
from secdesk.domain.errors import Conflict, FieldError, InvalidInput, PermissionDenied
from secdesk.domain.lifecycle import Status
from secdesk.domain.policy import Actor, Permission, can
from secdesk.marketplace.selectors import offers_visible_to
from secdesk.notices import selectors as notice_selectors
from secdesk.notices import services as notice_services
from secdesk.notices.models import NoticeStatus
from secdesk.tickets import selectors, services, storage
from secdesk.tickets.models import RequestStatus, Ticket
from secdesk.triage import services as triage
from secdesk.web import calculator, labels
from secdesk.web.common import actor_of, domain_errors, page, zone_of
from secdesk.web.forms import INTAKE_FIELDS, IntakeForm, end_of_day, field_errors

PAGE_SIZE = 25

# --- My tickets ------------------------------------------------------------------------------------


@login_required
@require_GET
@requires(Permission.TICKET_READ)
@domain_errors
def ticket_list(request: HttpRequest) -> HttpResponse:
    """The organisation's tickets, newest first, with what each waits for from the publisher."""
    actor = actor_of(request)
    cursor = request.GET.get("cursor") or None
    try:
        found = selectors.list_tickets(actor, cursor=cursor, limit=PAGE_SIZE)
    except InvalidInput:
        return page(request, "web/tickets/list.html", {"rows": [], "bad_cursor": True, "nav": "tickets"}, status=400)
    waiting = selectors.waiting_on_publisher(found.items)
    rows = [{"ticket": ticket, "waiting": waiting.get(ticket.pk)} for ticket in found.items]
    context = {"rows": rows, "next_cursor": found.next_cursor, "first_page": cursor is None, "nav": "tickets"}
    return page(request, "web/tickets/list.html", context)


# --- Start a request, continue a draft -------------------------------------------------------------


def _intake_page(
    request: HttpRequest,
    actor: Actor,
    form: IntakeForm,
    *,
    ticket: Ticket | None = None,
    errors: list[FieldError] | None = None,
    idempotency_key: str = "",
    status: int = 200,
) -> HttpResponse:
    offers = list(offers_visible_to(actor).select_related("organization").order_by("organization__name", "name"))
    by_field = field_errors(errors or [], form.vector_lines, known=INTAKE_FIELDS)
    context = {
        "form": form.values,
        "errors": by_field,
        "error_count": sum(len(v) for v in by_field.values()),
        "offers": offers,
        "several_organizations": len({offer.organization_id for offer in offers}) > 1,
        "ticket": ticket,
        "nav": "tickets" if ticket else "new",
        "idempotency_key": idempotency_key,
        "categories": list(labels.CATEGORY.items()),
        "mitigations": list(labels.MITIGATION.items()),
        "calculator_versions": [
            {"version": version, "groups": calculator.metric_groups(version)} for version in calculator.VERSIONS
        ],
    }
    return page(request, "web/tickets/form.html", context, status=status)


def _new_key() -> str:
    return secrets.token_urlsafe(24)


@login_required
@require_http_methods(["GET", "POST"])
@requires(Permission.TICKET_CREATE)
@domain_errors
def ticket_new(request: HttpRequest) -> HttpResponse:
    """Start a request: problem type, category, offers, the four questions; save a draft or submit."""
    actor = actor_of(request)
    if request.method != "POST":
        form = IntakeForm(values={"problem_type": "security_incident", "offers": []})
        return _intake_page(request, actor, form, idempotency_key=_new_key())
    form = IntakeForm.from_post(request.POST)
    submit = request.POST.get("action") == "submit"
    key = request.POST.get("idempotency_key", "")[:200] or _new_key()
    try:
        filed = services.create_ticket(actor, answers=form.answers(), submit=submit, idempotency_key=key)
    except InvalidInput as exc:
        return _intake_page(request, actor, form, errors=exc.errors, idempotency_key=key, status=422)
    except Conflict:
        # The same form was sent before with other answers (a second tab, the back button).
        error = FieldError("__all__", _("This form was already sent. Check your tickets before sending it again."))
        return _intake_page(request, actor, form, errors=[error], idempotency_key=_new_key(), status=409)
    ticket = filed.ticket
    if ticket.status == Status.DRAFT.value:
        messages.success(request, _("Draft saved. You can continue it at any time from your tickets."))
        return redirect("web:ticket_edit", confirmation_number=ticket.confirmation_number)
    return redirect("web:ticket_submitted", confirmation_number=ticket.confirmation_number)


@login_required
@require_http_methods(["GET", "POST"])
@requires(Permission.TICKET_CREATE)
@domain_errors
def ticket_edit(request: HttpRequest, confirmation_number: str) -> HttpResponse:
    """Continue a draft: save it again, or submit it."""
    actor = actor_of(request)
    ticket = selectors.access_ticket(actor, confirmation_number, Permission.TICKET_EDIT_DRAFT)
    if ticket.status != Status.DRAFT.value:
        return redirect("web:ticket_detail", confirmation_number=ticket.confirmation_number)
    if request.method != "POST":
        return _intake_page(request, actor, IntakeForm.from_answers(services.stored_answers(ticket)), ticket=ticket)
    form = IntakeForm.from_post(request.POST)
    try:
        services.update_draft(actor, confirmation_number=ticket.confirmation_number, changes=form.changes())
    except InvalidInput as exc:
        return _intake_page(request, actor, form, ticket=ticket, errors=exc.errors, status=422)
    except Conflict:
        return redirect("web:ticket_detail", confirmation_number=ticket.confirmation_number)
    if request.POST.get("action") != "submit":
        messages.success(request, _("Draft saved."))
        return redirect("web:ticket_edit", confirmation_number=ticket.confirmation_number)
    try:
        services.submit_ticket(actor, confirmation_number=ticket.confirmation_number)
    except InvalidInput as exc:
        messages.info(request, _("Your changes are saved in the draft, but it cannot be submitted yet."))
        return _intake_page(request, actor, form, ticket=ticket, errors=exc.errors, status=422)
    except Conflict:
        pass  # submitted meanwhile (another tab): show where it stands
    return redirect("web:ticket_submitted", confirmation_number=ticket.confirmation_number)


@login_required
@require_GET
@requires(Permission.TICKET_READ)
@domain_errors
def ticket_submitted(request: HttpRequest, confirmation_number: str) -> HttpResponse:
    """The confirmation: the number to quote, and what happens next."""
    ticket = selectors.access_ticket(actor_of(request), confirmation_number)
    if ticket.status == Status.DRAFT.value:
        return redirect("web:ticket_edit", confirmation_number=ticket.confirmation_number)
    return page(request, "web/tickets/submitted.html", {"ticket": ticket, "nav": "tickets"})


# --- One ticket: progress, thread, requests, notice ------------------------------------------------


def _stages(ticket: Ticket) -> list[dict[str, object]]:
    current = labels.stage_of(ticket.status)
    names = [name for name, _label in labels.STAGES]
    reached = names.index(current) if current in names else -1
    return [
        {"name": name, "label": label, "done": index < reached, "current": index == reached}
        for index, (name, label) in enumerate(labels.STAGES)
    ]


def _detail_page(
    request: HttpRequest, actor: Actor, ticket: Ticket, *, status: int = 200, **forms: Any
) -> HttpResponse:
    org = ticket.organization_id
    events = [
        {"event": event, "label": labels.event_label(event.kind, event.data)}
        for event in selectors.timeline_for(actor, ticket)
    ]
    requests = list(selectors.requests_for(actor, ticket))
    notice = notice_selectors.find_notice(ticket) if can(actor, Permission.NOTICE_READ, organization_id=org) else None
    notice_version = notice_selectors.current_version(notice) if notice is not None else None
    publisher_side = can(actor, Permission.NOTICE_APPROVE_PUBLISHER, organization_id=org)
    context: dict[str, Any] = {
        "ticket": ticket,
        "nav": "tickets",
        "page_url": reverse("web:ticket_detail", kwargs={"confirmation_number": ticket.confirmation_number}),
        "offers": list(ticket.offers.order_by("name")),
        "stages": _stages(ticket),
        "events": events,
        "thread": list(selectors.messages_for(actor, ticket)),
        "open_requests": [r for r in requests if r.status == RequestStatus.OPEN],
        "other_requests": [r for r in requests if r.status != RequestStatus.OPEN],
        "notice": notice,
        "notice_version": notice_version,
        "can_reply": can(actor, Permission.MESSAGE_CREATE, organization_id=org),
        "can_attach": can(actor, Permission.ATTACHMENT_CREATE, organization_id=org),
        "can_answer": can(actor, Permission.REQUEST_ANSWER, organization_id=org),
        "can_edit_notice": can(actor, Permission.NOTICE_EDIT, organization_id=org)
        and (notice is None or notice.status == NoticeStatus.DRAFT),
        "can_approve_notice": publisher_side
        and notice is not None
        and notice.status == NoticeStatus.DRAFT
        and notice.publisher_approved_by_id is None,
        "is_draft": ticket.status == Status.DRAFT.value,
        "is_closed": ticket.status in (Status.CLOSED.value, Status.RESOLVED.value),
        "reply": forms.get("reply") or {},
        "answer": forms.get("answer") or {},
        "notice_form": forms.get("notice_form") or {},
    }
    return page(request, "web/tickets/detail.html", context, status=status)


@login_required
@require_GET
@requires(Permission.TICKET_READ)
@domain_errors
def ticket_detail(request: HttpRequest, confirmation_number: str) -> HttpResponse:
    actor = actor_of(request)
    ticket = selectors.access_ticket(actor, confirmation_number)
    if ticket.status == Status.DRAFT.value and can(
        actor, Permission.TICKET_EDIT_DRAFT, organization_id=ticket.organization_id
    ):
        return redirect("web:ticket_edit", confirmation_number=ticket.confirmation_number)
    return _detail_page(request, actor, ticket)


def _back_to(ticket: Ticket, anchor: str) -> HttpResponse:
    url = reverse("web:ticket_detail", kwargs={"confirmation_number": ticket.confirmation_number})
    return redirect(f"{url}#{anchor}")


@login_required
@require_POST
@requires(Permission.TICKET_READ)
@domain_errors
def post_reply(request: HttpRequest, confirmation_number: str) -> HttpResponse:
    """Reply on the thread, with attachments (multipart)."""
    actor = actor_of(request)
    ticket = selectors.access_ticket(actor, confirmation_number)
    body = request.POST.get("body", "")
    files = [
        storage.IncomingFile(filename=f.name or "", content_type=f.content_type or "", chunks=f.chunks())
        for f in request.FILES.getlist("files")
    ]
    try:
        services.post_message(actor, confirmation_number=ticket.confirmation_number, body=body, files=files)
    except (InvalidInput, Conflict) as exc:
        errors = exc.errors if isinstance(exc, InvalidInput) else [FieldError("body", exc.message)]
        reply = {"body": body, "errors": field_errors(errors, known=("body", "files"))}
        return _detail_page(request, actor, ticket, status=422, reply=reply)
    messages.success(request, _("Your message was sent."))
    return _back_to(ticket, "messages")


@login_required
@require_POST
@requires(Permission.TICKET_READ)
@domain_errors
def answer_request(request: HttpRequest, confirmation_number: str, request_id: str) -> HttpResponse:
    """Answer a request in one step: done, declined (with a reason) or more time (reason and date)."""
    actor = actor_of(request)
    ticket = selectors.access_ticket(actor, confirmation_number)
    if not any(item.public_id == request_id for item in selectors.requests_for(actor, ticket)):
        raise Http404("no such request on this ticket")
    values = {name: request.POST.get(name, "") for name in ("response", "text", "reason", "proposed_due")}
    errors: list[FieldError] = []
    proposed = None
    if values["response"] == "extension" and values["proposed_due"]:
        proposed = end_of_day(values["proposed_due"], zone_of(request.user))
        if proposed is None:
            errors.append(FieldError("proposed_due", _("Give a date, for example 2026-12-31."), "invalid"))
    if not errors:
        try:
            triage.answer_request(
                actor,
                request_id=request_id,
                response=values["response"],
                text=values["text"],
                reason=values["reason"],
                proposed_due=proposed,
            )
        except InvalidInput as exc:
            errors = exc.errors
        except Conflict as exc:
            errors = [FieldError("response", exc.message, "conflict")]
    if errors:
        known = ("response", "text", "reason", "proposed_due")
        answer = {"request_id": request_id, "values": values, "errors": field_errors(errors, known=known)}
        return _detail_page(request, actor, ticket, status=422, answer=answer)
    messages.success(request, _("Your answer was sent to the marketplace."))
    return _back_to(ticket, "requests")


@login_required
@require_POST
@requires(Permission.NOTICE_READ)
@domain_errors
def notice_start(request: HttpRequest, confirmation_number: str) -> HttpResponse:
    """Start the customer notice from the ticket's message for customers."""
    actor = actor_of(request)
    ticket = selectors.access_ticket(actor, confirmation_number)
    try:
        notice_services.start_notice(actor, confirmation_number=ticket.confirmation_number)
    except Conflict as exc:
        messages.error(request, exc.message)
    return _back_to(ticket, "notice")


def _int(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None


@login_required
@require_POST
@requires(Permission.NOTICE_READ)
@domain_errors
def notice_edit(request: HttpRequest, confirmation_number: str) -> HttpResponse:
    """Save a new version of the customer notice, edited from the version the person saw."""
    actor = actor_of(request)
    ticket = selectors.access_ticket(actor, confirmation_number)
    subject = request.POST.get("subject", "")
    body = request.POST.get("body", "")
    base_version = _int(request.POST.get("base_version", ""))
    errors: list[FieldError] = []
    if base_version is None:
        errors.append(FieldError("__all__", _("Reload the page and edit again."), "invalid"))
    else:
        try:
            notice_services.edit_notice(
                actor,
                confirmation_number=ticket.confirmation_number,
                subject=subject,
                body=body,
                base_version=base_version,
            )
        except InvalidInput as exc:
            errors = exc.errors
        except Conflict as exc:
            errors = [
                FieldError(
                    "__all__",
                    _(
                        "The notice changed since you loaded it, or can no longer be edited (%(detail)s). "
                        "Your text is kept below; compare it with the current version and save again."
                    )
                    % {"detail": exc.message},
                    "conflict",
                )
            ]
    if errors:
        notice_form = {
            "subject": subject,
            "body": body,
            "errors": field_errors(errors, known=("subject", "body")),
        }
        return _detail_page(request, actor, ticket, status=409 if base_version else 422, notice_form=notice_form)
    messages.success(request, _("The customer notice was saved."))
    return _back_to(ticket, "notice")


@login_required
@require_POST
@requires(Permission.NOTICE_READ)
@domain_errors
def notice_approve(request: HttpRequest, confirmation_number: str) -> HttpResponse:
    """Approve the current version of the customer notice for the publisher."""
    actor = actor_of(request)
    ticket = selectors.access_ticket(actor, confirmation_number)
    version = _int(request.POST.get("version", "")) or 0
    try:
        notice_services.approve_notice(actor, confirmation_number=ticket.confirmation_number, version=version)
    except (InvalidInput, Conflict, PermissionDenied) as exc:
        messages.error(request, _("The notice was not approved: %(detail)s") % {"detail": exc.message})
        return _back_to(ticket, "notice")
    messages.success(request, _("You approved the customer notice."))
    return _back_to(ticket, "notice")
