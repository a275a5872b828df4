"""The triage queue: open tickets, what is due first, with their clocks, filters and full-text search.

One selector call (``secdesk.triage.selectors.queue``) per page: it checks
every filter, pages by keyset and loads each row's organisation, assignee and
offers, so the page costs the same number of queries however long the queue.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from secdesk.accounts.views import requires
from secdesk.domain.errors import FieldError, InvalidInput
from secdesk.domain.lifecycle import OPEN_STATUSES, Status
from secdesk.domain.policy import Permission, can
from secdesk.tickets.models import PRIORITY_CHOICES, SEVERITY_CHOICES
from secdesk.triage import selectors
from secdesk.web import labels
from secdesk.web.common import actor_of, domain_errors, page, zone_of
from secdesk.web.responder import words
from secdesk.web.responder.clocks import next_clock
from secdesk.web.responder.errors import by_field as errors_by_field

PAGE_SIZE = 50
#: The filters of the queue form, named as the selector names them.
FILTERS = ("q", "status", "category", "severity", "priority", "offer", "publisher", "assignee", "breached")
_BREACHED = {"yes": True, "no": False}
_SPECIFIC = {("assignee", "unknown"): _("Give “me”, “none” or the e-mail address of someone at the desk.")}
_EXCERPT = 140
#: The preset views above the filters: one click to the usual questions.
_VIEWS: tuple[tuple[dict[str, str], Promise], ...] = (
    ({}, _("All open")),
    ({"assignee": "me"}, _("Assigned to me")),
    ({"assignee": "none"}, _("Unassigned")),
    ({"breached": "yes"}, _("Breached")),
)


def _filters(query: QueryDict) -> tuple[dict[str, str], list[FieldError]]:
    """What was typed (trimmed, empty ones dropped) and the problems the form itself can see."""
    values = {name: query.get(name, "").strip() for name in FILTERS}
    errors = []
    if values["breached"] and values["breached"] not in _BREACHED:
        errors.append(FieldError("breached", "must be yes or no", "invalid_choice"))
    return {name: value for name, value in values.items() if value}, errors


def _excerpt(text: str) -> str:
    first = " ".join(text.split())
    return first if len(first) <= _EXCERPT else first[: _EXCERPT - 1].rstrip() + "…"


def _fields(filters: dict[str, str], errors: dict[str, list[str]]) -> list[dict[str, Any]]:
    """The filter form's controls, in order, with what was typed and their errors."""
    open_statuses = [s.value for s in Status if s in OPEN_STATUSES]
    selects: dict[str, tuple[Promise, list[tuple[str, str]]]] = {
        "status": (_("Status"), [(value, words.label(words.STATUS, value)) for value in open_statuses]),
        "category": (_("Category"), [(value, str(text)) for value, text in labels.CATEGORY.items()]),
        "severity": (
            _("Severity"),
            [(value, labels.label(labels.SEVERITY, value)) for value, _text in reversed(SEVERITY_CHOICES)],
        ),
        "priority": (_("Priority"), [(value, value) for value, _text in PRIORITY_CHOICES]),
        "breached": (_("Deadlines"), [("yes", str(_("Missed a deadline"))), ("no", str(_("Kept every deadline")))]),
    }
    texts: dict[str, tuple[Promise, Promise]] = {
        "offer": (_("Offer"), _("Slug, e.g. contoso-backup")),
        "publisher": (_("Publisher"), _("Slug, e.g. contoso")),
        "assignee": (_("Assignee"), _("me, none or an e-mail")),
    }
    fields: list[dict[str, Any]] = []
    for name in ("status", "category", "severity", "priority", "breached", "offer", "publisher", "assignee"):
        field: dict[str, Any] = {"name": name, "value": filters.get(name, ""), "errors": errors.get(name, [])}
        if name in selects:
            field |= {"kind": "select", "label": selects[name][0], "choices": selects[name][1]}
        else:
            field |= {"kind": "text", "label": texts[name][0], "hint": texts[name][1]}
        fields.append(field)
    return fields


def _page_url(filters: dict[str, str], **extra: str) -> str:
    return reverse("web:queue") + "?" + urlencode({**filters, **extra}) if filters or extra else reverse("web:queue")


@login_required
@require_GET
@requires(Permission.QUEUE_READ)
@domain_errors
def queue_page(request: HttpRequest) -> HttpResponse:
    """Open tickets, what is due first: clocks, breach marks, filters, search and a keyset "next page"."""
    actor = actor_of(request)
    filters, errors = _filters(request.GET)
    cursor = request.GET.get("cursor", "").strip() or None
    rows: list[dict[str, Any]] = []
    next_cursor = None
    try:
        found = selectors.queue(
            actor,
            status=filters.get("status"),
            category=filters.get("category"),
            severity=filters.get("severity"),
            priority=filters.get("priority"),
            offer=filters.get("offer"),
            publisher=filters.get("publisher"),
            assignee=filters.get("assignee"),
            breached=_BREACHED.get(filters.get("breached", "")),
            q=filters.get("q"),
            cursor=cursor,
            limit=PAGE_SIZE,
        )
    except InvalidInput as exc:
        errors = [*errors, *exc.errors]  # every problem at once: the form's and the desk's
    else:
        if not errors:
            now, zone = timezone.now(), zone_of(request.user)
            rows = [
                {
                    "ticket": ticket,
                    "offers": getattr(ticket, selectors.OFFERS_ATTR),
                    "excerpt": _excerpt(ticket.description),
                    "status_label": words.label(words.STATUS, ticket.status),
                    "clock": next_clock(ticket, now, zone),
                    "mine": ticket.assignee_id is not None and ticket.assignee_id == actor.user_id,
                }
                for ticket in found.items
            ]
            next_cursor = found.next_cursor
    by_field = errors_by_field(errors, known=(*FILTERS, "cursor"), specific=_SPECIFIC)
    context = {
        "nav": "queue",
        "rows": rows,
        "filters": filters,
        "errors": by_field,
        "error_count": sum(len(v) for v in by_field.values()),
        "fields": _fields(filters, by_field),
        "next_url": _page_url(filters, cursor=next_cursor) if next_cursor else None,
        "first_url": _page_url(filters) if cursor else None,
        "filtered": bool(filters),
        "here": request.get_full_path(),
        "can_claim": can(actor, Permission.TICKET_TRIAGE),
        "views": [{"url": _page_url(preset), "current": filters == preset, "name": name} for preset, name in _VIEWS],
    }
    if request.headers.get("HX-Request") == "true" and request.headers.get("HX-Target") == "queue-results":
        # htmx refreshes the table alone. A refused filter answers 200 here: htmx swaps no 4xx answer, and
        # the results say what is wrong (the whole page, without JavaScript, answers 400).
        return page(request, "web/responder/_queue_results.html", context)
    return page(request, "web/responder/queue.html", context, status=400 if errors else 200)
