"""The webhook event catalogue, and how timeline events become webhook events.

Every change to a ticket is a ``TimelineEvent``; a webhook event is a
(timeline event, type) pair, so one timeline event may be sent as several
types (an acknowledgement is ``ticket.acknowledged`` and
``ticket.status_changed``). The event id is stable — the same for every
endpoint and every retry — so receivers can de-duplicate on it.
"""

from __future__ import annotations

from typing import Any, Final

from secdesk.domain.lifecycle import STATUS_CHANGED, TRANSITIONS, Status
from secdesk.tickets.models import Message, RequestKind, TimelineEvent

#: type → what it means (shown in the API documentation).
EVENT_TYPES: Final[dict[str, str]] = {
    "ticket.submitted": "A publisher submitted a ticket.",
    "ticket.acknowledged": "The marketplace acknowledged a ticket (priority and severity set).",
    "ticket.status_changed": 'Every lifecycle move; data has "from" and "to".',
    "ticket.reclassified": "Priority, severity or exploitation changed (with the reason).",
    "ticket.assessed": "The marketplace recorded its assessment.",
    "ticket.resolved": "The ticket was resolved.",
    "ticket.closed": "The ticket was closed (also when withdrawn); data has the reason.",
    "ticket.reopened": "A closed or resolved ticket was reopened.",
    "message.created": "A message was added to the ticket's thread.",
    "note.created": "An internal note was added (marketplace endpoints only).",
    "request.created": "The marketplace asked the publisher for something.",
    "request.answered": "The publisher answered a request (done or declined).",
    "request.extension_requested": "The publisher asked for more time.",
    "request.extension_decided": "The marketplace granted or refused more time.",
    "offer_action.requested": "The marketplace asked for an offer to be modified or removed.",
    "offer_action.taken": "The marketplace suspended, delisted or reinstated an offer.",
    "notice.approved": "The customer notice was approved by both sides.",
}

_SAME: Final = {
    "ticket.submitted",
    "ticket.acknowledged",
    "ticket.reclassified",
    "ticket.assessed",
    "ticket.resolved",
    "ticket.closed",
    "ticket.reopened",
    "message.created",
    "request.created",
    "request.extension_requested",
    "notice.approved",
}
_RENAMED: Final = {
    "ticket.withdrawn": "ticket.closed",
    "note.added": "note.created",
    "request.done": "request.answered",
    "request.declined": "request.answered",
    "request.extension_granted": "request.extension_decided",
    "request.extension_refused": "request.extension_decided",
    "offer.suspend": "offer_action.taken",
    "offer.delist": "offer_action.taken",
    "offer.reinstate": "offer_action.taken",
}
#: Timeline kinds written by a lifecycle move (each is also a ``ticket.status_changed``).
LIFECYCLE_KINDS: Final = frozenset(kind for t in TRANSITIONS for kind in t.emits) - {STATUS_CHANGED}
_OFFER_REQUESTS: Final = {RequestKind.MODIFY_OFFER.value, RequestKind.REMOVE_OFFER.value}


def types_for(event: TimelineEvent) -> list[str]:
    """The webhook event types a timeline event is sent as (none for most internal bookkeeping)."""
    kind = event.kind
    found: list[str] = []
    if kind in _SAME:
        found.append(kind)
    elif kind in _RENAMED:
        found.append(_RENAMED[kind])
    if kind == "request.created" and (event.data or {}).get("kind") in _OFFER_REQUESTS:
        found.append("offer_action.requested")
    if kind in LIFECYCLE_KINDS:
        found.append(STATUS_CHANGED)
    return found


def event_id(event: TimelineEvent, event_type: str) -> str:
    return f"evt_{event.pk}.{event_type}"


def payload(event: TimelineEvent, event_type: str) -> dict[str, Any]:
    """``{"id", "type", "created_at", "data": {..., "confirmation_number"}}`` — what is signed and sent."""
    ticket = event.ticket
    data: dict[str, Any] = {
        key: value for key, value in (event.data or {}).items() if key not in {"confirmation_number"}
    }
    if event_type == STATUS_CHANGED and event.kind == "ticket.submitted":
        data.setdefault("from", Status.DRAFT.value)
        data.setdefault("to", Status.SUBMITTED.value)
    message_id = data.get("message_id")
    if event_type in ("message.created", "note.created") and isinstance(message_id, int):
        message = Message.objects.select_related("author").filter(pk=message_id).first()
        if message is not None:
            data["message"] = {
                "id": message.pk,
                "body": message.body,
                "author": message.author.email if message.author else None,
                "from_marketplace": message.from_marketplace,
                "attachments": [
                    {"filename": a.filename, "content_type": a.content_type, "size": a.size, "sha256": a.sha256}
                    for a in message.attachments.order_by("id")
                ],
            }
    data.update(
        {
            "confirmation_number": ticket.confirmation_number,
            "organization": ticket.organization.slug,
            "timeline_kind": event.kind,
            "timeline_seq": event.seq,
            "actor": event.actor_label,
        }
    )
    return {
        "id": event_id(event, event_type),
        "type": event_type,
        "created_at": event.created_at.isoformat(),
        "data": data,
    }
