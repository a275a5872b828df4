"""The marketplace's customers (tenants) as staff see them: contacts, deployments, the tickets affecting them.

Staff only (``customer:read``); publishers never see who the customers are.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from secdesk.accounts.views import requires
from secdesk.domain.errors import InvalidInput
from secdesk.domain.policy import Permission
from secdesk.marketplace.selectors import customer_catalogue, customer_sheet
from secdesk.tickets.selectors import tickets_affecting
from secdesk.web.catalogue.links import triage_url
from secdesk.web.catalogue.vocabulary import OFFER_STATUS, word
from secdesk.web.common import actor_of, domain_errors, page

PAGE_SIZE = 25


@login_required
@require_GET
@requires(Permission.CUSTOMER_READ)
@domain_errors
def customer_list(request: HttpRequest) -> HttpResponse:
    """Customers by slug with their tenant id and how many contacts and deployments each has."""
    actor = actor_of(request)
    q = request.GET.get("q", "").strip()[:100]
    cursor = request.GET.get("cursor") or None
    context: dict[str, Any] = {"nav": "customers", "q": q, "first_page": cursor is None}
    try:
        found = customer_catalogue(actor, q=q or None, cursor=cursor, limit=PAGE_SIZE)
    except InvalidInput:
        context.update(customers=[], bad_cursor=True)
        return page(request, "web/catalogue/customer_list.html", context, status=400)
    kept = {"q": q} if q else {}
    context.update(
        customers=found.items,
        first_url="?" + urlencode(kept) if kept else reverse("web:customer_list"),
        next_url="?" + urlencode({**kept, "cursor": found.next_cursor}) if found.next_cursor else None,
    )
    return page(request, "web/catalogue/customer_list.html", context)


@login_required
@require_GET
@requires(Permission.CUSTOMER_READ)
@domain_errors
def customer_detail(request: HttpRequest, customer_slug: str) -> HttpResponse:
    """One customer: its contacts, what it runs, and the tickets whose affected customers include it."""
    actor = actor_of(request)
    sheet = customer_sheet(actor, customer_slug)
    tickets = tickets_affecting(actor, sheet.customer)
    context = {
        "nav": "customers",
        "customer": sheet.customer,
        "contacts": sheet.contacts,
        "deployments": [
            {"deployment": deployment, "offer_status": word(OFFER_STATUS, deployment.offer.status)}
            for deployment in sheet.deployments
        ],
        "tickets": tickets,
        "open_rows": [{"ticket": t, "url": triage_url(t.confirmation_number)} for t in tickets.open],
        "other_rows": [{"ticket": t, "url": triage_url(t.confirmation_number)} for t in tickets.other],
    }
    return page(request, "web/catalogue/customer_detail.html", context)
