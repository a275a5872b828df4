"""Turning model rows into API dictionaries, with times in the caller's timezone."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from django.urls import reverse

from secdesk.marketplace.models import Offer
from secdesk.tickets.models import Attachment, Message, Ticket, TimelineEvent


def zone_of(user: Any) -> tzinfo:
    try:
        return ZoneInfo(getattr(user, "timezone", "") or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def _local(moment: datetime | None, zone: tzinfo) -> datetime | None:
    return moment.astimezone(zone) if moment else None


def ticket_summary(ticket: Ticket, zone: tzinfo, *, offers: Sequence[Offer] | None = None) -> dict[str, Any]:
    return {
        "confirmation_number": ticket.confirmation_number,
        "status": ticket.status,
        "problem_type": ticket.problem_type,
        "category": ticket.category,
        "organization": ticket.organization.slug,
        "offers": sorted(offer.slug for offer in (ticket.offers.all() if offers is None else offers)),
        "severity": ticket.severity or None,
        "priority": ticket.priority or None,
        "acknowledgement_due": _local(ticket.acknowledgement_due, zone),
        "created_at": _local(ticket.created_at, zone),
        "submitted_at": _local(ticket.submitted_at, zone),
    }


def timeline_entry(event: TimelineEvent, zone: tzinfo) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "kind": event.kind,
        "at": _local(event.created_at, zone),
        "actor": event.actor_label,
        "data": event.data,
    }


def ticket_detail(
    ticket: Ticket,
    events: list[TimelineEvent],
    zone: tzinfo,
    *,
    staff_view: bool,
    offers: Sequence[Offer] | None = None,
) -> dict[str, Any]:
    out = ticket_summary(ticket, zone, offers=offers)
    out.update(
        {
            "description": ticket.description,
            "cvss": ticket.cvss,
            "cve_ids": ticket.cve_ids,
            "cwe_ids": ticket.cwe_ids,
            "mitigation": ticket.mitigation or None,
            "remediation_steps": ticket.remediation_steps,
            "customer_message": ticket.customer_message,
            "suggested_severity": ticket.suggested_severity or None,
            "acknowledged_at": _local(ticket.acknowledged_at, zone),
            "actively_exploited": ticket.actively_exploited,
            "affected_customers": ticket.affected_customers,
            "assessment_outcome": ticket.assessment_outcome or None,
            "remediation_due": _local(ticket.remediation_due, zone),
            "remediation_paused": ticket.remediation_paused_at is not None,
            "breached": ticket.breached,
            "assignee": ticket.assignee.email if staff_view and ticket.assignee else None,
            "close_reason": ticket.close_reason or None,
            "resolution": ticket.resolution,
            "closed_at": _local(ticket.closed_at, zone),
            "timeline": [timeline_entry(event, zone) for event in events],
        }
    )
    return out


def attachment(item: Attachment, confirmation_number: str) -> dict[str, Any]:
    return {
        "id": item.public_id,
        "filename": item.filename,
        "content_type": item.content_type,
        "size": item.size,
        "sha256": item.sha256,
        "url": reverse(
            "api-1:attachment_download",
            kwargs={"confirmation_number": confirmation_number, "attachment_id": item.public_id},
        ),
    }


def message(item: Message, confirmation_number: str, zone: tzinfo) -> dict[str, Any]:
    return {
        "id": item.pk,
        "body": item.body,
        "internal": item.internal,
        "author": item.author.display_name if item.author else "system",
        "from_marketplace": item.from_marketplace,
        "kind": item.kind,
        "facts": item.facts,
        "created_at": _local(item.created_at, zone),
        "attachments": [attachment(a, confirmation_number) for a in item.attachments.all()],
    }
