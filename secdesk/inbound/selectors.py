"""Reads of inbound e-mail: marketplace staff only (``queue:read``); to anyone else it does not exist."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from secdesk.domain.errors import FieldError, InvalidInput, NotFound, PermissionDenied
from secdesk.domain.policy import Actor, Permission, can
from secdesk.inbound.models import WAITING_STATUSES, InboundMessage, InboundStatus
from secdesk.inbound.parsing import ParsedReply, parse_reply

MAX_PAGE = 100
#: The ``status`` filter for what staff released onto a ticket.
RELEASED = "released"


def _visible(actor: Actor) -> bool:
    # Quarantined mail may concern any organisation (or none): staff only, never a publisher.
    return actor.is_staff_member and can(actor, Permission.QUEUE_READ)


def access_inbound(
    actor: Actor, inbound_id: int, permission: Permission = Permission.QUEUE_READ, *, for_update: bool = False
) -> InboundMessage:
    """One inbound message; ``NotFound`` for anyone who may not see the quarantine, as for a missing one."""
    if not _visible(actor):
        raise NotFound("no such inbound message")
    queryset = InboundMessage.objects.select_related("ticket")
    if for_update:
        queryset = queryset.select_for_update(of=("self",))
    row = queryset.filter(pk=inbound_id).first()
    if row is None:
        raise NotFound("no such inbound message")
    if not can(actor, permission):
        raise PermissionDenied(f"you may not {permission.value.replace(':', ' ')}")
    return row


@dataclass(frozen=True)
class Page:
    items: list[InboundMessage]
    next_after: int | None


STATUS_FILTERS = {
    "waiting": [s.value for s in WAITING_STATUSES],
    **{s.value: [s.value] for s in InboundStatus},
    "all": [s.value for s in InboundStatus],
    # Posted by staff out of the quarantine (``services.release``), not threaded on arrival.
    RELEASED: [InboundStatus.POSTED.value],
}


_TICKET_TEXTS = ("description", "remediation_steps", "customer_message", "resolution", "search_document", "cvss")


def quarantine(actor: Actor, *, status: str = "waiting", after: int | None = None, limit: int = 50) -> Page:
    """Inbound messages newest first (default: those waiting for staff — quarantined or malformed)."""
    if not _visible(actor):
        raise PermissionDenied("only marketplace staff see inbound e-mail")
    if status not in STATUS_FILTERS:
        raise InvalidInput([FieldError("status", f"must be one of: {', '.join(STATUS_FILTERS)}", "invalid_choice")])
    limit = max(1, min(limit, MAX_PAGE))
    queryset: QuerySet[InboundMessage] = InboundMessage.objects.filter(status__in=STATUS_FILTERS[status]).defer("raw")
    if status == RELEASED:
        queryset = queryset.filter(threaded_by=RELEASED)
    if after is not None:
        queryset = queryset.filter(pk__lt=after)
    # A row names its ticket by confirmation number only: the ticket's long texts stay in the database.
    rows = list(
        queryset.select_related("ticket", "decided_by")
        .defer(*(f"ticket__{name}" for name in _TICKET_TEXTS))
        .order_by("-id")[: limit + 1]
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(items=rows, next_after=rows[-1].pk if more and rows else None)


@dataclass(frozen=True)
class Inspection:
    """One inbound message as staff inspect it: the row, and what its raw bytes say (never rendered)."""

    message: InboundMessage
    parsed: ParsedReply


def inspect_inbound(actor: Actor, inbound_id: int) -> Inspection:
    """The message and its parsed headers, text and attachments; ``NotFound`` as :func:`access_inbound`."""
    row = access_inbound(actor, inbound_id)
    return Inspection(message=row, parsed=parse_reply(bytes(row.raw)))
