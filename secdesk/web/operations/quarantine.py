"""The quarantine of inbound e-mail: what the desk could not match to a ticket or a sender.

Staff look (``queue:read``) and decide (``ticket:triage``): release the e-mail
onto a ticket — posted as the marketplace, saying who sent it — or discard it.
An e-mail is shown as text: its headers, its text body escaped, its
attachments by name and size (never served, never rendered).
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from secdesk.accounts.views import requires
from secdesk.domain import confirmation
from secdesk.domain.errors import Conflict, InvalidInput, NotFound
from secdesk.domain.policy import Actor, Permission, can
from secdesk.inbound import selectors, services
from secdesk.inbound.models import WAITING_STATUSES
from secdesk.web.catalogue.links import triage_url
from secdesk.web.common import actor_of, domain_errors, page
from secdesk.web.forms import describe
from secdesk.web.operations.paging import after_position
from secdesk.web.operations.vocabulary import INBOUND_STATUS, QUARANTINE_FILTERS

PAGE_SIZE = 25
DISCARD_REASON_CHARS = 300


@login_required
@require_GET
@requires(Permission.QUEUE_READ)
@domain_errors
def quarantine_list(request: HttpRequest) -> HttpResponse:
    """Inbound e-mail newest first: waiting for a decision (the default), released, or discarded."""
    actor = actor_of(request)
    status = request.GET.get("status", "") or "waiting"
    after_text = request.GET.get("after", "")
    after = after_position(after_text) if after_text else None
    context: dict[str, Any] = {
        "nav": "quarantine",
        "status": status,
        "filters": [
            {"value": value, "label": label, "url": f"{reverse('web:quarantine')}?status={value}"}
            for value, label in QUARANTINE_FILTERS.items()
        ],
        "first_page": after is None,
    }
    if status not in QUARANTINE_FILTERS or (after_text and after is None):
        context.update(rows=[], bad_link=True)
        return page(request, "web/operations/quarantine_list.html", context, status=400)
    found = selectors.quarantine(actor, status=status, after=after, limit=PAGE_SIZE)
    context.update(
        rows=[{"message": row, "status_label": str(INBOUND_STATUS.get(row.status, row.status))} for row in found.items],
        next_url=f"?status={status}&after={found.next_after}" if found.next_after else None,
        first_url=f"?status={status}",
    )
    return page(request, "web/operations/quarantine_list.html", context)


def _detail_page(
    request: HttpRequest,
    actor: Actor,
    inbound_id: int,
    *,
    release: dict[str, Any] | None = None,
    discard: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    inspection = selectors.inspect_inbound(actor, inbound_id)
    row, parsed = inspection.message, inspection.parsed
    waiting = row.status in WAITING_STATUSES
    named = row.ticket.confirmation_number if row.ticket else ""
    context = {
        "nav": "quarantine",
        "page_url": reverse("web:quarantine_detail", kwargs={"inbound_id": row.pk}),
        "message": row,
        "parsed": parsed,
        "status_label": str(INBOUND_STATUS.get(row.status, row.status)),
        "waiting": waiting,
        "body": parsed.full_text or parsed.text,
        # "-0000" (RFC 5322: UTC, the sender's zone unknown) parses without a zone.
        "sent_at": parsed.date.replace(tzinfo=UTC) if parsed.date and parsed.date.tzinfo is None else parsed.date,
        "named_ticket_url": triage_url(named) if named else None,
        "posted_url": triage_url(named) if named and row.status == "posted" else None,
        "can_decide": waiting and can(actor, Permission.TICKET_TRIAGE),
        "release": release or {"confirmation_number": named, "errors": {}},
        "discard": discard or {"reason": "", "errors": {}},
        "reason_chars": DISCARD_REASON_CHARS,
    }
    return page(request, "web/operations/quarantine_detail.html", context, status=status)


@login_required
@require_GET
@requires(Permission.QUEUE_READ)
@domain_errors
def quarantine_detail(request: HttpRequest, inbound_id: int) -> HttpResponse:
    """One inbound e-mail: headers, text, attachments, why it is here; release or discard it."""
    return _detail_page(request, actor_of(request), inbound_id)


@login_required
@require_POST
@requires(Permission.TICKET_TRIAGE)
@domain_errors
def quarantine_release(request: HttpRequest, inbound_id: int) -> HttpResponse:
    """Post the e-mail onto the ticket named by its confirmation number, as the marketplace."""
    actor = actor_of(request)
    typed = request.POST.get("confirmation_number", "").strip()[:40]
    problem = ""
    number = ""
    if not typed:
        problem = _("Give the confirmation number of the ticket to post the e-mail to.")
    else:
        try:
            number = confirmation.normalise(typed)
        except confirmation.InvalidConfirmationNumber:
            problem = _("This is not a confirmation number (SEC-XXXX-XXXX-X): check it for a typo.")
    status = 400
    if not problem:
        try:
            services.release(actor, inbound_id=inbound_id, confirmation_number=number)
        except NotFound:
            # The page below answers 404 if the e-mail itself is missing; otherwise the ticket is.
            problem = _("No ticket has this confirmation number.")
        except Conflict:
            problem = _("This e-mail is no longer waiting: someone decided on it meanwhile.")
            status = 409
        except InvalidInput as exc:
            problem = " ".join(describe(error)[1] for error in exc.errors)
        else:
            messages.success(request, _("The e-mail was posted to ticket %(number)s.") % {"number": number})
            return redirect("web:quarantine")
    release = {"confirmation_number": typed, "errors": {"confirmation_number": [problem]}}
    return _detail_page(request, actor, inbound_id, release=release, status=status)


@login_required
@require_POST
@requires(Permission.TICKET_TRIAGE)
@domain_errors
def quarantine_discard(request: HttpRequest, inbound_id: int) -> HttpResponse:
    """Set the e-mail aside for good (it stays on record), with an optional reason."""
    actor = actor_of(request)
    reason = request.POST.get("reason", "").strip()
    if len(reason) > DISCARD_REASON_CHARS:
        discard = {
            "reason": reason,
            "errors": {"reason": [_("Keep the reason under %(count)s characters.") % {"count": DISCARD_REASON_CHARS}]},
        }
        return _detail_page(request, actor, inbound_id, discard=discard, status=400)
    try:
        services.discard(actor, inbound_id=inbound_id, reason=reason)
    except Conflict:
        discard = {
            "reason": reason,
            "errors": {"reason": [_("This e-mail is no longer waiting: someone decided on it meanwhile.")]},
        }
        return _detail_page(request, actor, inbound_id, discard=discard, status=409)
    messages.success(request, _("The e-mail was discarded. It stays on record."))
    return redirect("web:quarantine")
