"""Triage steps from the triage page: assign, acknowledge, reclassify, assess, lifecycle steps.

Each view parses its form, calls one ``secdesk.triage.services`` function and
redirects back to the page with a message (POST/redirect/GET), or shows the
page again with the field errors next to the fields (400), keeping what was
typed. A step the ticket no longer allows (someone else moved it meanwhile)
comes back to the page as it stands now, with the reason in the message.
"""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from secdesk.accounts.views import requires
from secdesk.domain.errors import Conflict, FieldError, InvalidInput, InvalidTransition
from secdesk.domain.policy import Permission
from secdesk.tickets.models import Ticket
from secdesk.triage import services
from secdesk.web import labels
from secdesk.web.common import domain_errors
from secdesk.web.responder import words
from secdesk.web.responder.triage import back_to, form_state, render_triage, ticket_for, triage_url

logger = logging.getLogger(__name__)

_ACK_FIELDS = ("priority", "severity", "reason", "actively_exploited")
_SPECIFIC = {
    ("reason", "required"): gettext_lazy(
        "You chose other than the suggested priority or severity: say why (it is kept on the timeline)."
    )
}


def refused_now(request: HttpRequest, ticket: Ticket, exc: Conflict | InvalidTransition, anchor: str) -> HttpResponse:
    """The ticket moved on (another responder, another tab): say so above the page as it stands now.

    Said in the reader's language with the ticket's status as it is now; the service's own explanation
    (``exc.message``, in English) is kept for the log, not shown.
    """
    _actor, current = ticket_for(request, ticket.confirmation_number)
    messages.error(
        request,
        _("This step cannot be taken now: the ticket is %(status)s, or someone changed it since you loaded the page.")
        % {"status": labels.label(labels.STATUS, current.status)},
    )
    logger.info("refused on %s: %s", ticket.confirmation_number, exc.message)
    return back_to(ticket, anchor)


def _safe_next(request: HttpRequest) -> str | None:
    """Where a form from the queue asks to return (only a page of this desk)."""
    target = request.POST.get("next", "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return target
    return None


@login_required
@require_POST
@requires(Permission.TICKET_READ)
@domain_errors
def assign(request: HttpRequest, confirmation_number: str) -> HttpResponse:
    """Claim the ticket ("assign to me"), give it to a colleague by e-mail, or unassign it."""
    actor, ticket = ticket_for(request, confirmation_number)
    action = request.POST.get("action", "claim")
    email = request.POST.get("email", "").strip()
    assignee: str | None = {"claim": "me", "unassign": None}.get(action, email)
    errors: list[FieldError] = []
    if action == "assign" and not email:
        errors.append(FieldError("assignee", _("Give the e-mail address of a responder or lead."), "missing"))
    if not errors:
        try:
            services.assign(actor, confirmation_number=ticket.confirmation_number, assignee=assignee)
        except InvalidInput as exc:
            errors = [FieldError("assignee", error.message, error.code) for error in exc.errors]
        except Conflict as exc:
            return refused_now(request, ticket, exc, "assignee")
    if errors:
        state = form_state({"email": email}, errors, known=("assignee",))
        return render_triage(request, actor, ticket, status=400, assign=state)
    if assignee == "me":
        messages.success(request, _("%(number)s is assigned to you.") % {"number": ticket.confirmation_number})
    elif assignee is None:
        messages.success(request, _("%(number)s is unassigned.") % {"number": ticket.confirmation_number})
    else:
        done = _("%(number)s is assigned to %(email)s.") % {"number": ticket.confirmation_number, "email": email}
        messages.success(request, done)
    return redirect(_safe_next(request) or triage_url(ticket, "assignee"))


def _classification(request: HttpRequest) -> tuple[dict[str, str], bool]:
    """The acknowledge and reclassify forms' fields: priority, severity, reason; and the exploitation checkbox."""
    values = {name: request.POST.get(name, "").strip() for name in ("priority", "severity", "reason")}
    return values, request.POST.get("actively_exploited") in ("on", "true", "1", "yes")


@login_required
@require_POST
@requires(Permission.TICKET_READ)
@domain_errors
def acknowledge(request: HttpRequest, confirmation_number: str) -> HttpResponse:
    """Acknowledge with a priority and a severity; choosing other than the suggestion needs a reason."""
    actor, ticket = ticket_for(request, confirmation_number)
    values, exploited = _classification(request)
    try:
        services.acknowledge(
            actor,
            confirmation_number=ticket.confirmation_number,
            priority=values["priority"],
            severity=values["severity"],
            reason=values["reason"],
            actively_exploited=exploited,
        )
    except InvalidInput as exc:
        state = form_state(
            {**values, "actively_exploited": exploited}, exc.errors, known=_ACK_FIELDS, specific=_SPECIFIC
        )
        return render_triage(request, actor, ticket, status=400, acknowledge=state)
    except (Conflict, InvalidTransition) as exc:
        return refused_now(request, ticket, exc, "status")
    messages.success(
        request,
        _("Acknowledged with priority %(priority)s and severity %(severity)s. The publisher is told.")
        % {"priority": values["priority"], "severity": labels.label(labels.SEVERITY, values["severity"])},
    )
    return back_to(ticket, "classification")


@login_required
@require_POST
@requires(Permission.TICKET_READ)
@domain_errors
def reclassify(request: HttpRequest, confirmation_number: str) -> HttpResponse:
    """Change priority, severity or active exploitation later, always with a reason."""
    actor, ticket = ticket_for(request, confirmation_number)
    values, exploited = _classification(request)
    try:
        services.reclassify(
            actor,
            confirmation_number=ticket.confirmation_number,
            reason=values["reason"],
            priority=values["priority"] or None,
            severity=values["severity"] or None,
            actively_exploited=exploited,
        )
    except InvalidInput as exc:
        state = form_state({**values, "actively_exploited": exploited}, exc.errors, known=_ACK_FIELDS)
        return render_triage(request, actor, ticket, status=400, reclassify=state)
    except Conflict as exc:
        return refused_now(request, ticket, exc, "classification")
    messages.success(request, _("Priority and severity updated."))
    return back_to(ticket, "classification")


@login_required
@require_POST
@requires(Permission.TICKET_READ)
@domain_errors
def assess(request: HttpRequest, confirmation_number: str) -> HttpResponse:
    """Record the assessment's outcome; the publisher reads it on the thread."""
    actor, ticket = ticket_for(request, confirmation_number)
    values = {name: request.POST.get(name, "").strip() for name in ("outcome", "duplicate_of", "summary")}
    try:
        services.assess(
            actor,
            confirmation_number=ticket.confirmation_number,
            outcome=values["outcome"],
            summary=values["summary"],
            duplicate_of=values["duplicate_of"] or None,
        )
    except InvalidInput as exc:
        state = form_state(values, exc.errors, known=("outcome", "duplicate_of", "summary"))
        return render_triage(request, actor, ticket, status=400, assess=state)
    except (Conflict, InvalidTransition) as exc:
        return refused_now(request, ticket, exc, "assessment")
    messages.success(request, _("The assessment was recorded and sent to the publisher."))
    return back_to(ticket, "assessment")


@login_required
@require_POST
@requires(Permission.TICKET_READ)
@domain_errors
def step(request: HttpRequest, confirmation_number: str) -> HttpResponse:
    """Take a lifecycle step by name (resolve and reopen need a reason; close needs a close reason)."""
    actor, ticket = ticket_for(request, confirmation_number)
    names = ("action", "reason", "close_reason", "duplicate_of")
    values = {name: request.POST.get(name, "").strip() for name in names}
    try:
        services.transition(
            actor,
            confirmation_number=ticket.confirmation_number,
            action=values["action"],
            reason=values["reason"],
            close_reason=values["close_reason"],
            duplicate_of=values["duplicate_of"],
        )
    except InvalidInput as exc:
        state = form_state(values, exc.errors, known=names[1:], action=values["action"])
        return render_triage(request, actor, ticket, status=400, step=state)
    except (Conflict, InvalidTransition) as exc:
        return refused_now(request, ticket, exc, "status")
    messages.success(request, _("Done: %(step)s.") % {"step": words.label(words.STEP, values["action"])})
    return back_to(ticket, "status")
