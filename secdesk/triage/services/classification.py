"""Acknowledging a ticket, setting and changing priority and severity, assignment, affected customers."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from secdesk.accounts.models import User
from secdesk.domain.errors import Conflict, ErrorList, FieldError, InvalidInput
from secdesk.domain.lifecycle import OPEN_STATUSES, Action, Status
from secdesk.domain.policy import Actor, Permission, Role
from secdesk.domain.priority import SEVERITIES, Priority, suggest_priority
from secdesk.marketplace.models import Plan
from secdesk.tickets import timeline
from secdesk.tickets.models import Ticket
from secdesk.tickets.selectors import access_ticket, affected_customers_of
from secdesk.triage.config import priority_policy
from secdesk.triage.services.clocks import refresh_due, restart_remediation
from secdesk.triage.services.moves import move

PRIORITIES = tuple(p.value for p in Priority)


def count_affected(ticket: Ticket) -> int:
    return affected_customers_of(ticket).count()


def suggested_priority(ticket: Ticket, severity: str) -> str:
    return suggest_priority(
        priority_policy(),
        severity=severity,
        category=ticket.category,
        affected_customers=ticket.affected_customers,
        actively_exploited=ticket.actively_exploited,
    ).value


def _check_choices(priority: str | None, severity: str | None) -> None:
    errors = ErrorList()
    if priority is not None and priority not in PRIORITIES:
        errors.add("priority", "must be one of P1, P2, P3, P4", code="invalid_choice")
    if severity is not None and severity not in SEVERITIES:
        errors.add("severity", f"must be one of {', '.join(SEVERITIES)}", code="invalid_choice")
    errors.raise_if_any()


def acknowledge(
    actor: Actor,
    *,
    confirmation_number: str,
    priority: str,
    severity: str,
    reason: str = "",
    actively_exploited: bool | None = None,
) -> Ticket:
    """Acknowledge a submitted ticket with a priority and a severity.

    The desk suggests the severity (highest CVSS base score) and the priority
    (the configured policy applied to the chosen severity, category, number
    of affected customers and active exploitation); choosing otherwise needs
    a ``reason``. Starts the remediation clock. Locks the ticket row.
    """
    _check_choices(priority, severity)
    with transaction.atomic():
        ticket = access_ticket(actor, confirmation_number, Permission.TICKET_TRIAGE, for_update=True)
        if actively_exploited is not None:
            ticket.actively_exploited = actively_exploited
        ticket.affected_customers = count_affected(ticket)
        suggestion = {"severity": ticket.suggested_severity or None, "priority": suggested_priority(ticket, severity)}
        overridden = [
            name
            for name, chosen in (("severity", severity), ("priority", priority))
            if suggestion[name] is not None and chosen != suggestion[name]
        ]
        if overridden and not reason.strip():
            raise InvalidInput(
                [
                    FieldError(
                        "reason",
                        "give a reason for choosing "
                        + " and ".join(f"{name} other than the suggested {suggestion[name]}" for name in overridden),
                        "required",
                    )
                ]
            )
        now = timezone.now()
        ticket.priority = priority
        ticket.severity = severity
        ticket.acknowledged_at = now
        # The remediation clock starts now: time with the publisher before it started does not count.
        ticket.remediation_paused_seconds = 0
        if ticket.remediation_paused_at is not None:
            ticket.remediation_paused_at = now
        restart_remediation(ticket)
        move(
            actor,
            ticket,
            Action.ACKNOWLEDGE,
            facts={"priority": priority, "severity": severity},
            data={
                "priority": priority,
                "severity": severity,
                "suggested": suggestion,
                "overridden": overridden,
                "reason": reason.strip(),
                "remediation_due": ticket.remediation_due.isoformat() if ticket.remediation_due else None,
                "affected_customers": ticket.affected_customers,
            },
        )
    return ticket


def reclassify(
    actor: Actor,
    *,
    confirmation_number: str,
    reason: str,
    priority: str | None = None,
    severity: str | None = None,
    actively_exploited: bool | None = None,
) -> Ticket:
    """Change priority, severity or the exploitation flag after acknowledgement; always with a reason."""
    _check_choices(priority, severity)
    errors = ErrorList()
    if not reason.strip():
        errors.add("reason", "a change of priority or severity needs a reason", code="required")
    if priority is None and severity is None and actively_exploited is None:
        errors.add("priority", "say what changes: priority, severity or actively_exploited", code="required")
    errors.raise_if_any()
    with transaction.atomic():
        ticket = access_ticket(actor, confirmation_number, Permission.TICKET_TRIAGE, for_update=True)
        if ticket.acknowledged_at is None or Status(ticket.status) not in OPEN_STATUSES:
            raise Conflict("only an acknowledged, open ticket can be reclassified")
        before = {
            "priority": ticket.priority,
            "severity": ticket.severity,
            "actively_exploited": ticket.actively_exploited,
        }
        if priority is not None:
            ticket.priority = priority
        if actively_exploited is not None:
            ticket.actively_exploited = actively_exploited
        if severity is not None and severity != ticket.severity:
            ticket.severity = severity
            restart_remediation(ticket)
        refresh_due(ticket)
        ticket.updated_at = timezone.now()
        ticket.save()
        after = {
            "priority": ticket.priority,
            "severity": ticket.severity,
            "actively_exploited": ticket.actively_exploited,
        }
        timeline.append(
            ticket,
            "ticket.reclassified",
            actor=actor,
            data={"before": before, "after": after, "reason": reason.strip()},
        )
    return ticket


def assign(actor: Actor, *, confirmation_number: str, assignee: str | None) -> Ticket:
    """Assign to a responder or lead by e-mail, to oneself with ``"me"``, or unassign with None."""
    with transaction.atomic():
        ticket = access_ticket(actor, confirmation_number, Permission.TICKET_TRIAGE, for_update=True)
        user: User | None = None
        if assignee == "me":
            user = User.objects.get(pk=actor.signed_in_id())
        elif assignee:
            user = User.objects.filter(
                email=assignee.strip().lower(),
                is_active=True,
                staff_role__in=[Role.RESPONDER.value, Role.LEAD.value],
            ).first()
            if user is None:
                raise InvalidInput([FieldError("assignee", "no active responder or lead with that e-mail", "unknown")])
        if Status(ticket.status) not in OPEN_STATUSES:
            raise Conflict("only an open ticket can be assigned")
        ticket.assignee = user
        ticket.updated_at = timezone.now()
        ticket.save(update_fields=["assignee", "updated_at"])
        timeline.append(
            ticket,
            "ticket.assigned",
            actor=actor,
            public=False,
            data={"assignee": user.email if user else None},
        )
    return ticket


def set_affected(
    actor: Actor, *, confirmation_number: str, plans: Sequence[str] = (), versions: Sequence[str] = ()
) -> Ticket:
    """Narrow the affected deployments to plans (``offer/plan``) and versions; recounts affected customers."""
    with transaction.atomic():
        ticket = access_ticket(actor, confirmation_number, Permission.TICKET_TRIAGE, for_update=True)
        offer_ids = set(ticket.offers.values_list("id", flat=True))
        found: list[Plan] = []
        errors = ErrorList()
        for index, ref in enumerate(plans):
            offer_slug, _, plan_slug = ref.partition("/")
            plan = Plan.objects.filter(offer__slug=offer_slug, slug=plan_slug, offer_id__in=offer_ids).first()
            if plan is None:
                errors.add(f"plans.{index}", f"no plan {ref!r} among the ticket's offers", code="unknown_plan")
            else:
                found.append(plan)
        cleaned = sorted({v.strip() for v in versions if v.strip()})
        if any(len(v) > 64 for v in cleaned):
            errors.add("versions", "a version is at most 64 characters")
        errors.raise_if_any()
        ticket.affected_plans.set(found)
        ticket.affected_versions = cleaned
        ticket.affected_customers = count_affected(ticket)
        ticket.updated_at = timezone.now()
        ticket.save(update_fields=["affected_versions", "affected_customers", "updated_at"])
        timeline.append(
            ticket,
            "ticket.affected_updated",
            actor=actor,
            data={
                "plans": [f"{p.offer.slug}/{p.slug}" for p in found],
                "versions": cleaned,
                "affected_customers": ticket.affected_customers,
            },
        )
    return ticket
