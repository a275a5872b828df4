"""Talking with the publisher from the triage page: replies, internal notes, requests and their
extensions, and the affected plans and versions that decide which customers are told.

Each view calls one service and redirects back with a message, or shows the
page again with the field errors next to the fields (400), keeping what was typed.
"""

from __future__ import annotations

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from secdesk.accounts.views import requires
from secdesk.domain.errors import Conflict, FieldError, InvalidInput
from secdesk.domain.policy import Permission
from secdesk.tickets import selectors, services, storage
from secdesk.triage import services as triage
from secdesk.web.common import domain_errors, zone_of
from secdesk.web.forms import end_of_day
from secdesk.web.responder.actions import refused_now
from secdesk.web.responder.triage import back_to, form_state, render_triage, ticket_for

_VERSION_SEPARATORS = re.compile(r"[\s,;]+")


def _files(request: HttpRequest) -> list[storage.IncomingFile]:
    return [
        storage.IncomingFile(filename=f.name or "", content_type=f.content_type or "", chunks=f.chunks())
        for f in request.FILES.getlist("files")
    ]


def _post(request: HttpRequest, confirmation_number: str, *, internal: bool) -> HttpResponse:
    actor, ticket = ticket_for(request, confirmation_number)
    body = request.POST.get("body", "")
    try:
        services.post_message(
            actor,
            confirmation_number=ticket.confirmation_number,
            body=body,
            internal=internal,
            files=_files(request),
        )
    except InvalidInput as exc:
        state = form_state({"body": body}, exc.errors, known=("body", "files"))
        return render_triage(request, actor, ticket, status=400, **{"note" if internal else "reply": state})
    except Conflict as exc:
        return refused_now(request, ticket, exc, "messages")
    if internal:
        messages.success(request, _("Your internal note was added. The publisher does not see it."))
    else:
        messages.success(request, _("Your message was sent to the publisher."))
    return back_to(ticket, "messages")


@login_required
@require_POST
@requires(Permission.TICKET_READ)
@domain_errors
def reply(request: HttpRequest, confirmation_number: str) -> HttpResponse:
    """A message to the publisher on the thread, with attachments."""
    return _post(request, confirmation_number, internal=False)


@login_required
@require_POST
@requires(Permission.TICKET_READ)
@domain_errors
def note(request: HttpRequest, confirmation_number: str) -> HttpResponse:
    """An internal note: staff only, never shown or sent to the publisher."""
    return _post(request, confirmation_number, internal=True)


@login_required
@require_POST
@requires(Permission.TICKET_READ)
@domain_errors
def create_request(request: HttpRequest, confirmation_number: str) -> HttpResponse:
    """Ask the publisher for something by a due date (an offer change names the offer)."""
    actor, ticket = ticket_for(request, confirmation_number)
    names = ("kind", "description", "due_at", "offer")
    values = {name: request.POST.get(name, "").strip() for name in names}
    errors: list[FieldError] = []
    due = end_of_day(values["due_at"], zone_of(request.user)) if values["due_at"] else None
    if due is None:
        errors.append(FieldError("due_at", "", "required" if not values["due_at"] else "invalid"))
    else:
        try:
            triage.create_request(
                actor,
                confirmation_number=ticket.confirmation_number,
                kind=values["kind"],
                description=values["description"],
                due_at=due,
                offer=values["offer"] or None,
            )
        except InvalidInput as exc:
            errors = exc.errors
        except Conflict as exc:
            return refused_now(request, ticket, exc, "requests")
    if errors:
        state = form_state(values, errors, known=names)
        return render_triage(request, actor, ticket, status=400, ask=state)
    messages.success(request, _("Your request was sent to the publisher."))
    return back_to(ticket, "requests")


@login_required
@require_POST
@requires(Permission.TICKET_READ)
@domain_errors
def decide_extension(request: HttpRequest, confirmation_number: str, request_id: str) -> HttpResponse:
    """Grant the publisher the date it proposed, or refuse with a reason."""
    actor, ticket = ticket_for(request, confirmation_number)
    if not any(item.public_id == request_id for item in selectors.requests_for(actor, ticket)):
        raise Http404("no such request on this ticket")
    values = {name: request.POST.get(name, "").strip() for name in ("decision", "reason")}
    try:
        triage.decide_extension(actor, request_id=request_id, decision=values["decision"], reason=values["reason"])
    except InvalidInput as exc:
        state = form_state(values, exc.errors, known=("decision", "reason"), request_id=request_id)
        return render_triage(request, actor, ticket, status=400, extension=state)
    except Conflict as exc:
        return refused_now(request, ticket, exc, "requests")
    if values["decision"] == "granted":
        messages.success(request, _("Extension granted: the request is due on the date the publisher proposed."))
    else:
        messages.success(request, _("Extension refused: the request keeps its due date."))
    return back_to(ticket, "requests")


@login_required
@require_POST
@requires(Permission.TICKET_READ)
@domain_errors
def set_affected(request: HttpRequest, confirmation_number: str) -> HttpResponse:
    """Narrow the affected deployments to plans and versions; the affected customers are counted again."""
    actor, ticket = ticket_for(request, confirmation_number)
    plans = [ref for ref in request.POST.getlist("plans") if ref]
    versions_text = request.POST.get("versions", "")
    versions = [part for part in _VERSION_SEPARATORS.split(versions_text) if part]
    try:
        updated = triage.set_affected(
            actor, confirmation_number=ticket.confirmation_number, plans=plans, versions=versions
        )
    except InvalidInput as exc:
        state = form_state({"plans": plans, "versions": versions_text}, exc.errors, known=("plans", "versions"))
        return render_triage(request, actor, ticket, status=400, affected=state)
    count = updated.affected_customers
    messages.success(
        request,
        ngettext(
            "Affected plans and versions saved: %(count)s customer affected.",
            "Affected plans and versions saved: %(count)s customers affected.",
            count,
        )
        % {"count": count},
    )
    return back_to(ticket, "affected")
