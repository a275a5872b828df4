"""Webhook endpoints: register one (its signing secret shown once), follow its deliveries, delete it.

``webhook:manage``: a publisher admin manages their organisation's endpoints
(the door lets them in through their organisation, the selectors scope what
they see), a lead the marketplace's and any organisation's. Another
organisation's endpoint answers 404, exactly like a missing one.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from secdesk.accounts.models import Organization
from secdesk.accounts.views import requires
from secdesk.domain.errors import FieldError, InvalidInput, NotFound, PermissionDenied
from secdesk.domain.policy import Actor, Permission
from secdesk.web.common import actor_of, domain_errors, page
from secdesk.web.forms import describe
from secdesk.web.operations.paging import after_position
from secdesk.web.operations.vocabulary import DELIVERY_STATUS, EVENTS, MARKETPLACE_ONLY_EVENTS
from secdesk.webhooks import selectors, services
from secdesk.webhooks.models import DeliveryStatus
from secdesk.webhooks.services import CreatedEndpoint

PAGE_SIZE = 25
FORM_FIELDS = ("url", "description", "events", "organization")
ALL_EVENTS = "*"


def _owner_choices(owners: list[Organization | None]) -> list[dict[str, str]]:
    return [
        {"value": owner.slug if owner else "", "label": owner.name if owner else _("The marketplace (every ticket)")}
        for owner in owners
    ]


def _event_choices(owners: list[Organization | None]) -> list[dict[str, str]]:
    marketplace = None in owners
    return [
        {"value": name, "label": str(label)}
        for name, label in EVENTS.items()
        if marketplace or name not in MARKETPLACE_ONLY_EVENTS
    ]


def _create_error(error: FieldError) -> tuple[str, str]:
    name, message = describe(error)
    known = {
        ("url", "invalid_url"): _("Use an https:// address of a server on the internet (%(detail)s).")
        % {"detail": error.message},
        ("url", "too_many"): _("This owner already has as many endpoints as allowed; delete one first."),
        ("events", "required"): _("Choose at least one event, or all events."),
        ("events", "invalid_choice"): _("Choose events from the list."),
        ("description", "too_long"): _("Keep the description under 200 characters."),
    }
    found = known.get((name, error.code))
    return (name if name in FORM_FIELDS else "__all__"), found or message


def _list_page(
    request: HttpRequest,
    actor: Actor,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, list[str]] | None = None,
    issued: CreatedEndpoint | None = None,
    status: int = 200,
) -> HttpResponse:
    after_text = request.GET.get("after", "")
    after = after_position(after_text) if after_text else None
    found = selectors.endpoint_page(actor, after=after, limit=PAGE_SIZE)
    owners = selectors.owners_for(actor)
    context = {
        "nav": "webhooks",
        "page_url": reverse("web:webhooks"),
        "endpoints": found.items,
        "next_url": f"?after={found.next_after}" if found.next_after else None,
        "first_page": after is None,
        "owners": _owner_choices(owners),
        "events": _event_choices(owners),
        "form": form or {"url": "", "description": "", "events": [], "organization": ""},
        "errors": errors or {},
        "error_count": sum(len(v) for v in (errors or {}).values()),
        "issued": issued,
    }
    return page(request, "web/operations/webhook_list.html", context, status=status)


@login_required
@never_cache  # the answer that shows a new signing secret must not be kept by any cache
@require_http_methods(["GET", "POST"])
@requires(Permission.WEBHOOK_MANAGE, in_organization=True)
@domain_errors
def webhook_list(request: HttpRequest) -> HttpResponse:
    """GET lists the endpoints one manages; POST registers one and shows its signing secret, once."""
    actor = actor_of(request)
    if request.method != "POST":
        return _list_page(request, actor)
    url = request.POST.get("url", "").strip()
    description = request.POST.get("description", "").strip()
    events = [name for name in request.POST.getlist("events") if name][: len(EVENTS) + 1]
    organization = request.POST.get("organization", "").strip()
    form = {"url": url, "description": description, "events": events, "organization": organization}
    problems: list[tuple[str, str]] = []
    try:
        created = services.create_endpoint(
            actor, url=url, events=events, organization=organization or None, description=description
        )
    except InvalidInput as exc:
        problems = [_create_error(error) for error in exc.errors]
    except (NotFound, PermissionDenied):
        # An organisation one does not manage (or none chosen when one manages several).
        problems = [("organization", _("Choose whom the endpoint is for, from the list."))]
    else:
        return _list_page(request, actor, issued=created, status=201)
    errors: dict[str, list[str]] = {}
    for name, message in problems:
        errors.setdefault(name, []).append(message)
    return _list_page(request, actor, form=form, errors=errors, status=400)


def _detail_page(
    request: HttpRequest, actor: Actor, webhook_id: str, *, confirm_error: str = "", status: int = 200
) -> HttpResponse:
    endpoint = selectors.access_endpoint(actor, webhook_id)
    chosen = request.GET.get("status", "") if request.method == "GET" else ""
    after_text = request.GET.get("after", "") if request.method == "GET" else ""
    after = after_position(after_text) if after_text else None
    if (chosen and chosen not in DeliveryStatus.values) or (after_text and after is None):
        chosen, after, status = "", None, 400
    found = selectors.deliveries(actor, endpoint.public_id, status=chosen or None, after=after, limit=PAGE_SIZE)
    base = reverse("web:webhook_detail", kwargs={"webhook_id": endpoint.public_id})
    query = f"status={chosen}&" if chosen else ""
    context = {
        "nav": "webhooks",
        "page_url": base,
        "endpoint": endpoint,
        "all_events": ALL_EVENTS in endpoint.events,
        "event_rows": [{"name": name, "label": str(EVENTS.get(name, ""))} for name in endpoint.events],
        "deliveries": [
            {
                "delivery": item,
                "status_label": str(DELIVERY_STATUS.get(item.status, item.status)),
                "waiting": item.status in (DeliveryStatus.PENDING, DeliveryStatus.SENDING),
                "attempt_log": list(item.attempt_log.all()),
            }
            for item in found.items
        ],
        "statuses": list(DELIVERY_STATUS.items()),
        "chosen": chosen,
        "bad_filter": status == 400 and not confirm_error,
        "next_url": f"{base}?{query}after={found.next_after}" if found.next_after else None,
        "first_url": f"{base}?{query}".rstrip("?&"),
        "first_page": after is None,
        "confirm_error": confirm_error,
    }
    return page(request, "web/operations/webhook_detail.html", context, status=status)


@login_required
@require_GET
@requires(Permission.WEBHOOK_MANAGE, in_organization=True)
@domain_errors
def webhook_detail(request: HttpRequest, webhook_id: str) -> HttpResponse:
    """One endpoint: what it receives, and its recent deliveries with their attempts."""
    return _detail_page(request, actor_of(request), webhook_id)


@login_required
@require_POST
@requires(Permission.WEBHOOK_MANAGE, in_organization=True)
@domain_errors
def webhook_delete(request: HttpRequest, webhook_id: str) -> HttpResponse:
    """Stop sending to the endpoint (deliveries not yet sent fail; the log stays), once confirmed."""
    actor = actor_of(request)
    if request.POST.get("confirm") != "yes":
        message = _("Tick the box to confirm that deliveries to this endpoint stop.")
        return _detail_page(request, actor, webhook_id, confirm_error=message, status=400)
    services.delete_endpoint(actor, endpoint_id=webhook_id)
    messages.success(request, _("The endpoint was deleted: nothing more is sent to it."))
    return redirect("web:webhooks")
