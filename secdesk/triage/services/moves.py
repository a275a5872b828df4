"""Applying a lifecycle step the domain planned, with its timeline event."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils import timezone

from secdesk.domain.lifecycle import Action, Status, Transition, plan_transition
from secdesk.domain.policy import Actor
from secdesk.tickets import timeline
from secdesk.tickets.models import Ticket
from secdesk.triage.services.clocks import sync_pause


def move(
    actor: Actor,
    ticket: Ticket,
    action: Action,
    *,
    facts: Mapping[str, object] | None = None,
    data: dict[str, Any] | None = None,
) -> Transition:
    """Plan ``action`` with the domain (raising its errors), then apply it to the locked ``ticket``."""
    facts = dict(facts or {})
    planned = plan_transition(
        actor=actor,
        status=Status(ticket.status),
        action=action,
        organization_id=ticket.organization_id,
        facts=facts,
    )
    previous = ticket.status
    now = timezone.now()
    ticket.status = planned.target.value
    ticket.updated_at = now
    if planned.target == Status.CLOSED:
        ticket.closed_at = now
        ticket.close_reason = str(facts.get("close_reason") or dict(planned.implies).get("close_reason", ""))
    if planned.target == Status.REOPENED:
        ticket.closed_at = None
        ticket.close_reason = ""
    sync_pause(ticket, now)
    ticket.save()
    timeline.append(
        ticket,
        planned.emits[0],
        actor=actor,
        data={"from": previous, "to": ticket.status, **(data or {})},
    )
    return planned
