"""The customer notice from the marketplace's side: start it, co-edit it, approve it (leads), and read
its versions side by side.

Edits are optimistic: the form carries the version it was loaded from, and a
save on top of someone else's newer version is refused with the typed text
kept, so nobody overwrites a text they have not read.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from secdesk.accounts.views import requires
from secdesk.domain.errors import Conflict, FieldError, InvalidInput, NotFound, PermissionDenied
from secdesk.domain.policy import Permission
from secdesk.notices import selectors, services
from secdesk.web.common import domain_errors, page
from secdesk.web.responder.triage import back_to, form_state, render_triage, ticket_for, triage_url


def _int(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None


@login_required
@require_POST
@requires(Permission.NOTICE_READ)
@domain_errors
def notice_start(request: HttpRequest, confirmation_number: str) -> HttpResponse:
    """Start the notice from the publisher's message for customers (version 1)."""
    actor, ticket = ticket_for(request, confirmation_number)
    try:
        services.start_notice(actor, confirmation_number=ticket.confirmation_number)
    except Conflict as exc:
        messages.error(request, _("The notice was not started: %(detail)s") % {"detail": exc.message})
    else:
        messages.success(request, _("The customer notice was started from the publisher's message."))
    return back_to(ticket, "notice")


@login_required
@require_POST
@requires(Permission.NOTICE_READ)
@domain_errors
def notice_edit(request: HttpRequest, confirmation_number: str) -> HttpResponse:
    """Save a new version, edited from the version the responder saw; both approvals start again."""
    actor, ticket = ticket_for(request, confirmation_number)
    values = {"subject": request.POST.get("subject", ""), "body": request.POST.get("body", "")}
    base_version = _int(request.POST.get("base_version", ""))
    errors: list[FieldError] = []
    status = 400
    if base_version is None:
        errors = [FieldError("__all__", _("Reload the page and edit again."), "invalid")]
    else:
        try:
            services.edit_notice(
                actor, confirmation_number=ticket.confirmation_number, base_version=base_version, **values
            )
        except InvalidInput as exc:
            errors = exc.errors
        except Conflict as exc:
            status = 409
            detail = _(
                "Someone saved the notice since you loaded it, or it can no longer be edited (%(detail)s). "
                "Your text is kept below: compare it with the current version above, then save again."
            )
            errors = [FieldError("__all__", detail % {"detail": exc.message}, "conflict")]
    if errors:
        state = form_state(values, errors, known=("subject", "body"), base_version=base_version)
        return render_triage(request, actor, ticket, status=status, notice=state)
    messages.success(request, _("A new version of the customer notice was saved; it needs approving again."))
    return back_to(ticket, "notice")


@login_required
@require_POST
@requires(Permission.NOTICE_READ)
@domain_errors
def notice_approve(request: HttpRequest, confirmation_number: str) -> HttpResponse:
    """Approve the current version for the marketplace (leads); with the publisher's approval it is sent."""
    actor, ticket = ticket_for(request, confirmation_number)
    version = _int(request.POST.get("version", "")) or 0
    try:
        notice = services.approve_notice(actor, confirmation_number=ticket.confirmation_number, version=version)
    except (InvalidInput, Conflict, PermissionDenied) as exc:
        messages.error(request, _("The notice was not approved: %(detail)s") % {"detail": exc.message})
        return back_to(ticket, "notice")
    if notice.publisher_approved_by_id is None:
        messages.success(request, _("You approved the notice for the marketplace; the publisher approves it too."))
    else:
        messages.success(request, _("The notice is approved by both sides and queued for delivery."))
    return back_to(ticket, "notice")


def _diff_lines(text: str) -> list[dict[str, str]]:
    kinds = {"+": "added", "-": "removed", "@": "hunk"}
    return [
        {"text": line, "kind": "header" if index < 2 else kinds.get(line[:1], "same")}
        for index, line in enumerate(text.splitlines())
    ]


@login_required
@require_GET
@requires(Permission.NOTICE_READ)
@domain_errors
def notice_versions(request: HttpRequest, confirmation_number: str) -> HttpResponse:
    """Every version of the notice, who wrote it and when, and the changes between two of them."""
    actor, ticket = ticket_for(request, confirmation_number)
    try:
        versions = list(selectors.versions(actor, ticket.confirmation_number))
    except NotFound:
        return back_to(ticket, "notice")
    latest = versions[-1].number
    chosen = {
        "from": _int(request.GET.get("from", "")) or max(1, latest - 1),
        "to": _int(request.GET.get("to", "")) or latest,
    }
    context: dict[str, Any] = {
        "ticket": ticket,
        "nav": "queue",
        "versions": versions,
        "chosen": chosen,
        "back_url": triage_url(ticket, "notice"),
        "errors": {},
    }
    status = 200
    try:
        changes = selectors.diff(
            actor,
            ticket.confirmation_number,
            chosen["from"],
            chosen["to"],
            version_label=_("Version %(number)s"),
            subject_label=_("Subject: %(subject)s"),
        )
        context["diff"] = _diff_lines(changes)
    except InvalidInput as exc:
        status = 400
        context["errors"] = {
            error.field: [_("Version %(number)s does not exist.") % {"number": chosen[error.field]}]
            for error in exc.errors
        }
    return page(request, "web/responder/notice_versions.html", context, status=status)
