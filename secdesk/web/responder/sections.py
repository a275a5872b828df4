"""The parts of a ticket's triage page, each read with a bounded number of queries.

Every function takes the actor and a ticket already read through
``access_ticket`` (so the ticket is one the actor may see) and returns the
template context of one part of the page.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, tzinfo
from typing import Any

from django.db.models import Prefetch
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode

from secdesk.domain.lifecycle import (
    CLOSE_REASONS_FROM_OPEN,
    OPEN_STATUSES,
    Action,
    CloseReason,
    Status,
    allowed_actions,
)
from secdesk.domain.policy import Actor, Permission, can
from secdesk.domain.priority import SEVERITIES
from secdesk.marketplace.models import Plan
from secdesk.notices import selectors as notice_selectors
from secdesk.notices.models import NoticeStatus
from secdesk.tickets import selectors
from secdesk.tickets.models import RequestKind, RequestStatus, Ticket
from secdesk.triage.services.assessment import NAMED_ACTIONS
from secdesk.triage.services.classification import count_affected, suggested_priority
from secdesk.web import labels
from secdesk.web.responder import words
from secdesk.web.responder.clocks import next_clock, ticket_clocks

#: Affected customers listed on the page; the whole list is the CSV download.
CUSTOMERS_SHOWN = 50
#: A new request is due this many days from today unless the responder says otherwise.
REQUEST_DAYS = 5
#: Steps that need a written reason, and the one that needs a close reason.
_NEEDS_REASON = {Action.RESOLVE, Action.REOPEN}


def permissions(actor: Actor, ticket: Ticket) -> dict[str, bool]:
    """Which controls to show: only those the actor may use (the services check again)."""
    org = ticket.organization_id
    is_open = Status(ticket.status) in OPEN_STATUSES
    return {
        "is_open": is_open,
        "is_mine": ticket.assignee_id is not None and ticket.assignee_id == actor.user_id,
        "can_triage": can(actor, Permission.TICKET_TRIAGE, organization_id=org),
        "can_reply": can(actor, Permission.MESSAGE_CREATE, organization_id=org) and ticket.status != "closed",
        "can_note": can(actor, Permission.NOTE_CREATE, organization_id=org),
        "can_attach": can(actor, Permission.ATTACHMENT_CREATE, organization_id=org),
        "can_request": can(actor, Permission.REQUEST_CREATE, organization_id=org)
        and ticket.status not in ("closed", "resolved"),
        "can_decide": can(actor, Permission.REQUEST_DECIDE, organization_id=org),
        "can_see_customers": can(actor, Permission.CUSTOMER_READ, organization_id=org),
        "can_edit_notice": can(actor, Permission.NOTICE_EDIT, organization_id=org),
        "can_approve_for_marketplace": can(actor, Permission.NOTICE_APPROVE_MARKETPLACE, organization_id=org),
    }


def _catalogue_url(route: str, kind: str, slug: str) -> str:
    """An offer's or a customer's page (the catalogue part of the portal), by its route or its address."""
    try:
        return reverse(f"web:{route}", kwargs={f"{kind}_slug": slug})
    except NoReverseMatch:
        return f"/{kind}s/{slug}/"


def _offer_url(slug: str, confirmation_number: str) -> str:
    """The offer's page, opened for this ticket (where offer actions are taken)."""
    return f"{_catalogue_url('offer_detail', 'offer', slug)}?{urlencode({'ticket': confirmation_number})}"


def summary(ticket: Ticket, now: datetime, zone: tzinfo) -> dict[str, Any]:
    """What was reported, the offers with their plans, and the clocks."""
    offers = list(
        ticket.offers.select_related("organization")
        .prefetch_related(Prefetch("plans", queryset=Plan.objects.order_by("name")))
        .order_by("name")
    )
    affected_plans = set(ticket.affected_plans.values_list("id", flat=True))
    local_today = now.astimezone(zone).date()
    return {
        "offers": [
            {
                "offer": offer,
                "status_label": words.label(words.OFFER_STATUS, offer.status),
                "url": _offer_url(offer.slug, ticket.confirmation_number),
                "plans": [
                    {"plan": plan, "ref": f"{offer.slug}/{plan.slug}", "chosen": plan.pk in affected_plans}
                    for plan in offer.plans.all()
                ],
            }
            for offer in offers
        ],
        "narrowed_plans": [
            f"{offer.name} {plan.name}" for offer in offers for plan in offer.plans.all() if plan.pk in affected_plans
        ],
        "default_due": (local_today + timedelta(days=REQUEST_DAYS)).isoformat(),
        "status_label": words.label(words.STATUS, ticket.status),
        "clock": next_clock(ticket, now, zone),
        "clocks": ticket_clocks(ticket, now, zone),
        "outcome_label": words.label(words.OUTCOME, ticket.assessment_outcome),
        "close_reason_label": words.label(words.CLOSE_REASON, ticket.close_reason),
        "duplicate_of": ticket.duplicate_of if ticket.duplicate_of_id else None,
    }


def _highest_score(ticket: Ticket) -> float | None:
    scores = [float(item["base_score"]) for item in ticket.cvss or [] if item.get("base_score") is not None]
    return max(scores) if scores else None


def classification(actor: Actor, ticket: Ticket, refused: dict[str, Any] | None) -> dict[str, Any]:
    """The desk's suggested severity and priority, and the acknowledge form's values.

    The same functions as the acknowledge service (and the API's suggestions):
    the severity from the highest CVSS base score, the priority from the
    configured policy for a severity, the category, the customers affected now
    and active exploitation. A priority is suggested for each severity so the
    form can follow a changed severity (``responder.js``) without a round trip.
    """
    if not can(actor, Permission.TICKET_TRIAGE, organization_id=ticket.organization_id):
        return {"suggestion": None}
    ticket.affected_customers = count_affected(ticket)  # counted now, as acknowledge counts them
    exploited = copy.copy(ticket)
    exploited.actively_exploited = True
    calm = copy.copy(ticket)
    calm.actively_exploited = False
    severity = ticket.suggested_severity or ""
    suggestion = {
        "severity": severity,
        "priority": suggested_priority(ticket, severity) if severity else "",
        "highest_score": _highest_score(ticket),
        "affected_customers": ticket.affected_customers,
        "actively_exploited": ticket.actively_exploited,
        # "severity:exploited" → priority, for every choice the form offers.
        "table": ";".join(
            f"{s}:{flag}:{suggested_priority(variant, s)}"
            for s in SEVERITIES
            for flag, variant in (("0", calm), ("1", exploited))
        ),
    }
    if refused is not None:
        values = refused["values"]
    else:
        values = {
            "priority": suggestion["priority"],
            "severity": severity,
            "reason": "",
            "actively_exploited": ticket.actively_exploited,
        }
    return {
        "suggestion": suggestion,
        "acknowledge_values": values,
        "severities": [(value, labels.label(labels.SEVERITY, value)) for value in reversed(SEVERITIES)],
        "priorities": ["P1", "P2", "P3", "P4"],
    }


def steps(actor: Actor, ticket: Ticket) -> dict[str, Any]:
    """The lifecycle steps the actor may take now (from the declared table), and the assessment's choices."""
    status = Status(ticket.status)
    allowed = allowed_actions(actor=actor, status=status, organization_id=ticket.organization_id)
    # Closing as resolved needs the resolve step first (the domain refuses it from an open state).
    closable = set(CloseReason) if status is Status.RESOLVED else CLOSE_REASONS_FROM_OPEN
    reasons = [reason for reason in CloseReason if reason in closable]
    return {
        "steps": [
            {
                "action": action.value,
                "label": words.label(words.STEP, action.value),
                "needs_reason": action in _NEEDS_REASON,
                "needs_close_reason": action is Action.CLOSE,
            }
            for action in allowed
            if action in NAMED_ACTIONS
        ],
        "close_reasons": [(reason.value, words.label(words.CLOSE_REASON, reason.value)) for reason in reasons],
        "outcomes": list(words.OUTCOME.items()),
        "can_assess": status
        in (Status.ACKNOWLEDGED, Status.REOPENED, Status.ASSESSING, Status.AWAITING_PUBLISHER, Status.REMEDIATING),
    }


def conversation(actor: Actor, ticket: Ticket) -> dict[str, Any]:
    """The thread (internal notes included for staff) and the requests to the publisher."""
    requests = list(selectors.requests_for(actor, ticket).select_related("answered_by"))
    return {
        "thread": list(selectors.messages_for(actor, ticket)),
        "requests": [
            {
                "item": item,
                "kind_label": words.label(words.REQUEST_KIND, item.kind),
                "status_label": words.label(words.REQUEST_STATUS, item.status),
                "waiting": item.status == RequestStatus.EXTENSION_REQUESTED,
            }
            for item in requests
        ],
        "request_kinds": [(kind, words.label(words.REQUEST_KIND, kind)) for kind in RequestKind.values],
        "offer_kinds": "modify_offer remove_offer",
    }


def exposure(actor: Actor, ticket: Ticket) -> dict[str, Any]:
    """The customers running an affected deployment: how many, and the first of them by name."""
    if not can(actor, Permission.CUSTOMER_READ, organization_id=ticket.organization_id):
        return {"customers": None}
    _ticket, customers = selectors.affected_customers(actor, ticket.confirmation_number)
    shown = list(customers[: CUSTOMERS_SHOWN + 1])
    return {
        "customers": [
            {"customer": customer, "url": _catalogue_url("customer_detail", "customer", customer.slug)}
            for customer in shown[:CUSTOMERS_SHOWN]
        ],
        "customers_total": customers.count() if len(shown) > CUSTOMERS_SHOWN else len(shown),
        "affected_versions": ", ".join(str(v) for v in ticket.affected_versions or []),
    }


def notice(actor: Actor, ticket: Ticket) -> dict[str, Any]:
    """The customer notice: its current text, approvals, audience and delivery."""
    found = notice_selectors.find_notice(ticket)
    if found is None:
        return {"notice": None}
    progress = None
    staff_reader = can(actor, Permission.CUSTOMER_READ, organization_id=ticket.organization_id)
    if found.status != NoticeStatus.DRAFT and staff_reader:
        progress = notice_selectors.delivery_progress(found)
    return {
        "notice": found,
        "notice_version": notice_selectors.current_version(found),
        "notice_status_label": labels.label(labels.NOTICE_STATUS, found.status),
        "notice_is_draft": found.status == NoticeStatus.DRAFT,
        "delivery": progress,
        "delivery_counts": [
            (words.label(words.RECIPIENT_STATUS, status), count)
            for status, count in (notice_selectors.recipient_counts(found).items() if progress else ())
        ],
    }


def timeline(actor: Actor, ticket: Ticket) -> list[dict[str, Any]]:
    """Every event, newest first (staff see the internal ones too), with its reasons."""
    return [
        {
            "event": event,
            "label": words.event_label(event.kind, event.data),
            "details": words.event_details(event.kind, event.data),
        }
        for event in reversed(list(selectors.timeline_for(actor, ticket)))
    ]
