"""The offers as marketplace staff see them: the catalogue, one offer, and enforcing against it.

Staff pages (``queue:read`` at the door, and the selectors ask for
``customer:read``: an offer page says how many customers run it). Publishers
follow their offers through their tickets; here they are refused (403).
Suspending, delisting and reinstating is for leads (``offer:enforce``);
``triage.services.take_offer_action`` validates, locks the offer and decides.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from secdesk.accounts.views import requires
from secdesk.domain import confirmation
from secdesk.domain.errors import Conflict, FieldError, InvalidInput, NotFound
from secdesk.domain.policy import Actor, Permission, can
from secdesk.marketplace.selectors import offer_catalogue, offer_sheet, publishers_with_offers
from secdesk.tickets.selectors import open_tickets_per_offer, tickets_of_offer
from secdesk.triage.services import take_offer_action
from secdesk.triage.services.offers import EFFECTS
from secdesk.web.catalogue.links import triage_url
from secdesk.web.catalogue.vocabulary import (
    OFFER_ACTION,
    OFFER_ACTION_DONE,
    OFFER_ACTION_HINT,
    OFFER_STATUS,
    word,
)
from secdesk.web.common import actor_of, domain_errors, page
from secdesk.web.forms import describe

PAGE_SIZE = 25
ACTION_FIELDS = ("action", "reason", "review_date", "confirmation_number")

# --- The catalogue -----------------------------------------------------------------------------------


@login_required
@require_GET
@requires(Permission.QUEUE_READ)
@domain_errors
def offer_list(request: HttpRequest) -> HttpResponse:
    """Every offer by slug: publisher, status, open tickets, customers deployed, last action; filters."""
    actor = actor_of(request)
    filters = {name: request.GET.get(name, "").strip()[:100] for name in ("status", "publisher", "q")}
    cursor = request.GET.get("cursor") or None
    context: dict[str, Any] = {
        "nav": "offers",
        "filters": filters,
        "statuses": list(OFFER_STATUS.items()),
        "publishers": publishers_with_offers(actor),
        "filtered": any(filters.values()),
        "first_page": cursor is None,
    }
    try:
        found = offer_catalogue(
            actor,
            status=filters["status"] or None,
            publisher=filters["publisher"] or None,
            q=filters["q"] or None,
            cursor=cursor,
            limit=PAGE_SIZE,
        )
    except InvalidInput as exc:
        fields = {error.field for error in exc.errors}
        errors = {"status": [_("Choose a status from the list.")]} if "status" in fields else {}
        context.update(rows=[], errors=errors, bad_cursor="cursor" in fields)
        return page(request, "web/catalogue/offer_list.html", context, status=400)
    open_counts = open_tickets_per_offer(actor, found.items)
    rows = [
        {
            "offer": offer,
            "status": word(OFFER_STATUS, offer.status),
            "open_tickets": open_counts.get(offer.pk, 0),
            "last_action": word(OFFER_ACTION_DONE, getattr(offer, "last_action", None)),
        }
        for offer in found.items
    ]
    kept = {name: value for name, value in filters.items() if value}
    context.update(
        rows=rows,
        errors={},
        first_url="?" + urlencode(kept) if kept else reverse("web:offer_list"),
        next_url="?" + urlencode({**kept, "cursor": found.next_cursor}) if found.next_cursor else None,
    )
    return page(request, "web/catalogue/offer_list.html", context)


# --- One offer ---------------------------------------------------------------------------------------


def _action_choices(status: str) -> list[dict[str, str]]:
    """The actions that may be taken from the offer's current status (the service checks it again)."""
    return [
        {"value": action, "label": word(OFFER_ACTION, action), "hint": word(OFFER_ACTION_HINT, action)}
        for action, (_target, sources) in EFFECTS.items()
        if status in sources
    ]


def _offer_page(
    request: HttpRequest,
    actor: Actor,
    offer_slug: str,
    *,
    form: dict[str, str],
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> HttpResponse:
    sheet = offer_sheet(actor, offer_slug)
    offer = sheet.offer
    tickets = tickets_of_offer(actor, offer)
    context: dict[str, Any] = {
        "nav": "offers",
        "page_url": reverse("web:offer_detail", kwargs={"offer_slug": offer.slug}),
        "sheet": sheet,
        "offer": offer,
        "status_label": word(OFFER_STATUS, offer.status),
        "tickets": tickets,
        "open_rows": [{"ticket": t, "url": triage_url(t.confirmation_number)} for t in tickets.open],
        "other_rows": [{"ticket": t, "url": triage_url(t.confirmation_number)} for t in tickets.other],
        "history": [
            {
                "action": item,
                "label": word(OFFER_ACTION_DONE, item.action),
                "from": word(OFFER_STATUS, item.previous_status),
                "ticket_url": triage_url(item.ticket.confirmation_number) if item.ticket else None,
            }
            for item in sheet.actions
        ],
        "can_act": can(actor, Permission.OFFER_ENFORCE),
        "choices": _action_choices(offer.status),
        "form": form,
        "errors": errors or {},
        "error_count": sum(len(v) for v in (errors or {}).values()),
        "today": timezone.localdate().isoformat(),  # the service checks review dates against it
    }
    return page(request, "web/catalogue/offer_detail.html", context, status=status)


@login_required
@require_GET
@requires(Permission.QUEUE_READ)
@domain_errors
def offer_detail(request: HttpRequest, offer_slug: str) -> HttpResponse:
    """The offer, its plans and deployments, its tickets, what was done to it; for leads, the action form.

    ``?ticket=<confirmation number>`` (from a ticket's triage page) fills in the ticket the action is for.
    """
    form = dict.fromkeys(ACTION_FIELDS, "")
    form["confirmation_number"] = request.GET.get("ticket", "").strip()[:40]
    return _offer_page(request, actor_of(request), offer_slug, form=form)


# A person's words for the service's refusals, by (field, code); the field they belong to in the form.
def _action_error(error: FieldError) -> tuple[str, str]:
    known: dict[tuple[str, str], tuple[str, str]] = {
        ("action", "invalid_choice"): ("action", _("Choose what to do: suspend, delist or reinstate.")),
        ("reason", "required"): ("reason", _("Give the reason for the action.")),
        ("review_date", "required"): ("review_date", _("Set the date the action will be reviewed.")),
        ("review_date", "invalid"): ("review_date", _("The review date must not be in the past.")),
        ("offer", "unknown_offer"): ("confirmation_number", _("This ticket does not concern this offer.")),
    }
    found = known.get((error.field, error.code))
    if found is not None:
        return found
    name, message = describe(error)
    return (name if name in ACTION_FIELDS else "__all__"), message


def _grouped(errors: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, message in errors:
        out.setdefault(name, []).append(message)
    return out


@login_required
@require_POST
@requires(Permission.OFFER_ENFORCE)
@domain_errors
def offer_act(request: HttpRequest, offer_slug: str) -> HttpResponse:
    """Suspend, delist or reinstate the offer, with a reason and a review date, optionally for a ticket."""
    actor = actor_of(request)
    form = {name: request.POST.get(name, "").strip() for name in ACTION_FIELDS}
    problems: list[tuple[str, str]] = []
    review_date = None
    if form["review_date"]:
        try:
            review_date = date.fromisoformat(form["review_date"])
        except ValueError:
            problems.append(("review_date", _("Give a date, for example 2026-12-31.")))
    number = None
    if form["confirmation_number"]:
        try:
            number = confirmation.normalise(form["confirmation_number"])
        except confirmation.InvalidConfirmationNumber:
            problems.append(
                ("confirmation_number", _("This is not a confirmation number (SEC-XXXX-XXXX-X): check it for a typo."))
            )
    status = 400
    if not problems:
        try:
            record = take_offer_action(
                actor,
                offer=offer_slug,
                action=form["action"],
                reason=form["reason"],
                review_date=review_date,
                confirmation_number=number,
            )
        except InvalidInput as exc:
            problems = [_action_error(error) for error in exc.errors]
        except Conflict:
            problems = [
                ("action", _("This action cannot be taken from the offer's current status; choose one offered below."))
            ]
            status = 409
        except NotFound:
            # The offer is looked up before the ticket: the page below answers 404 if the offer is
            # missing; otherwise it is the ticket that does not exist (or is not visible).
            problems = [("confirmation_number", _("No ticket has this confirmation number."))]
        else:
            offer_status = word(OFFER_STATUS, record.new_status)
            messages.success(
                request,
                _("%(offer)s is now %(status)s.") % {"offer": record.offer.name, "status": offer_status},
            )
            if number is not None:
                return redirect(triage_url(number))
            return redirect("web:offer_detail", offer_slug=record.offer.slug)
    return _offer_page(request, actor, offer_slug, form=form, errors=_grouped(problems), status=status)
