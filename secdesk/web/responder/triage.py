"""A ticket's triage page: what was reported, where it stands, and every step a responder may take now.

The page is read with the queue's permission (``queue:read``: marketplace
staff), so a publisher is refused even on its own ticket and another
organisation's ticket answers 404 like a missing one. Each form on it posts
to its own small view (``actions``, ``conversation``, ``notices``) which calls
one service and comes back here: redirected with a message, or this page
again with the field errors next to the fields and what was typed kept.
Forms are shown only to those who may use them (``can``); the services
refuse anyway.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from secdesk.accounts.views import requires
from secdesk.domain.errors import FieldError
from secdesk.domain.policy import Actor, Permission
from secdesk.tickets import selectors
from secdesk.tickets.models import Ticket
from secdesk.web.common import actor_of, domain_errors, page, zone_of
from secdesk.web.responder import sections
from secdesk.web.responder.errors import by_field


def ticket_for(request: HttpRequest, confirmation_number: str) -> tuple[Actor, Ticket]:
    """The signed-in person and the ticket, if they are staff who may read the queue (404/403 otherwise)."""
    actor = actor_of(request)
    return actor, selectors.access_ticket(actor, confirmation_number, Permission.QUEUE_READ)


def triage_url(ticket: Ticket, anchor: str = "") -> str:
    url = reverse("web:triage", kwargs={"confirmation_number": ticket.confirmation_number})
    return f"{url}#{anchor}" if anchor else url


def back_to(ticket: Ticket, anchor: str) -> HttpResponse:
    return redirect(triage_url(ticket, anchor))


def form_state(
    values: dict[str, Any],
    errors: list[FieldError],
    *,
    known: tuple[str, ...],
    specific: dict[tuple[str, str], Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """What a refused form shows again: the values typed and the messages per field."""
    return {"values": values, "errors": by_field(errors, known=known, specific=specific), **extra}


def render_triage(
    request: HttpRequest, actor: Actor, ticket: Ticket, *, status: int = 200, **forms: dict[str, Any]
) -> HttpResponse:
    """The triage page; ``forms`` carries a refused form (``acknowledge=form_state(...)``) to show again."""
    now, zone = timezone.now(), zone_of(request.user)
    context: dict[str, Any] = {
        "ticket": ticket,
        "nav": "queue",
        "page_url": triage_url(ticket),
        "forms": forms,
        **sections.permissions(actor, ticket),
        **sections.summary(ticket, now, zone),
        **sections.classification(actor, ticket, forms.get("acknowledge")),
        **sections.steps(actor, ticket),
        **sections.conversation(actor, ticket),
        **sections.exposure(actor, ticket),
        **sections.notice(actor, ticket),
        "events": sections.timeline(actor, ticket),
    }
    return page(request, "web/responder/triage.html", context, status=status)


@login_required
@require_GET
@requires(Permission.TICKET_READ)
@domain_errors
def triage_page(request: HttpRequest, confirmation_number: str) -> HttpResponse:
    """The ticket's triage page (staff). Declared with ``ticket:read`` so another organisation's
    publisher gets the same 404 as for a missing ticket; the page itself needs ``queue:read``."""
    actor, ticket = ticket_for(request, confirmation_number)
    return render_triage(request, actor, ticket)
