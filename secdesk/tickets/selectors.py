"""The only reads of tickets and their threads, always scoped to the actor.

``access_ticket`` answers ``NotFound`` alike for a ticket that does not
exist, one the actor may not see and a malformed confirmation number.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import NotSupportedError
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    F,
    Func,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    prefetch_related_objects,
)

from secdesk.domain import confirmation
from secdesk.domain.cvss import SEVERITIES
from secdesk.domain.errors import FieldError, InvalidInput, NotFound, PermissionDenied
from secdesk.domain.intake import CATEGORIES
from secdesk.domain.lifecycle import Status
from secdesk.domain.policy import Actor, Permission, can
from secdesk.marketplace.models import Customer, Deployment, Offer
from secdesk.tickets.models import (
    OPEN_STATUS_VALUES,
    Attachment,
    Message,
    PublisherRequest,
    RequestStatus,
    Ticket,
    TimelineEvent,
)

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.sql.compiler import SQLCompiler

MAX_PAGE = 100


def tickets_visible_to(actor: Actor) -> QuerySet[Ticket]:
    """Publishers: their organisations' tickets. Staff: every ticket past draft. Others: none."""
    if actor.is_anonymous:
        return Ticket.objects.none()
    if actor.is_staff_member and can(actor, Permission.TICKET_READ):
        return Ticket.objects.exclude(status=Status.DRAFT.value)
    return Ticket.objects.filter(organization_id__in=actor.organization_ids())


def access_ticket(
    actor: Actor,
    confirmation_number: str,
    permission: Permission = Permission.TICKET_READ,
    *,
    for_update: bool = False,
) -> Ticket:
    """The ticket if the actor may see it and holds ``permission`` on it.

    Raises ``NotFound`` when it is missing or invisible, ``PermissionDenied``
    when it is visible but the permission is not held. With ``for_update``
    the row is locked until the surrounding transaction ends.
    """
    try:
        number = confirmation.normalise(confirmation_number)
    except confirmation.InvalidConfirmationNumber:
        raise NotFound("no such ticket") from None
    queryset = tickets_visible_to(actor).select_related("organization", "assignee")
    if for_update:
        queryset = queryset.select_for_update(of=("self",))
    ticket = queryset.filter(confirmation_number=number).first()
    if ticket is None:
        raise NotFound("no such ticket")
    if not can(actor, permission, organization_id=ticket.organization_id):
        raise PermissionDenied(f"you may not {permission.value.replace(':', ' ')} on this ticket")
    return ticket


@dataclass(frozen=True)
class Page:
    items: list[Ticket]
    next_cursor: str | None


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"t:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = raw.partition(":")
        if kind != "t":
            raise ValueError
        return int(value)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise InvalidInput([FieldError("cursor", "is not a cursor this desk issued", "invalid_cursor")]) from None


def list_tickets(
    actor: Actor,
    *,
    status: str | None = None,
    category: str | None = None,
    severity: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    """Newest first, keyset-paginated on the primary key (cost flat however deep)."""
    limit = max(1, min(limit, MAX_PAGE))
    # Filters take known values only: a typo is an error, not an empty page (and NUL never reaches the DB).
    allowed = {"status": [s.value for s in Status], "category": CATEGORIES, "severity": SEVERITIES}
    given = {"status": status, "category": category, "severity": severity}
    wrong = [
        FieldError(name, f"must be one of: {', '.join(allowed[name])}", "invalid_choice")
        for name, value in given.items()
        if value and value not in allowed[name]
    ]
    if wrong:
        raise InvalidInput(wrong)
    queryset = tickets_visible_to(actor)
    if status:
        queryset = queryset.filter(status=status)
    if category:
        queryset = queryset.filter(category=category)
    if severity:
        queryset = queryset.filter(severity=severity)
    if cursor:
        queryset = queryset.filter(id__lt=decode_cursor(cursor))
    rows = list(queryset.prefetch_related("offers").order_by("-id")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(items=rows, next_cursor=encode_cursor(rows[-1].id) if more and rows else None)


def messages_for(actor: Actor, ticket: Ticket) -> QuerySet[Message]:
    """The thread as the actor may read it: internal notes only for those holding ``note:read``."""
    queryset = ticket.messages.select_related("author").prefetch_related(
        Prefetch("attachments", queryset=Attachment.objects.order_by("id"))
    )
    if not can(actor, Permission.NOTE_READ, organization_id=ticket.organization_id):
        queryset = queryset.filter(internal=False)
    return queryset.order_by("id")


def timeline_for(actor: Actor, ticket: Ticket) -> QuerySet[TimelineEvent]:
    """Publishers see public events; staff see every event."""
    queryset = ticket.timeline.order_by("seq")
    if not (actor.is_staff_member and can(actor, Permission.NOTE_READ)):
        queryset = queryset.filter(public=True)
    return queryset


def access_attachment(actor: Actor, confirmation_number: str, public_id: str) -> Attachment:
    ticket = access_ticket(actor, confirmation_number, Permission.ATTACHMENT_READ)
    if "\x00" in public_id:  # names none (and PostgreSQL refuses NUL in a parameter)
        raise NotFound("no such attachment")
    attachment = Attachment.objects.select_related("message").filter(ticket=ticket, public_id=public_id).first()
    if attachment is None:
        raise NotFound("no such attachment")
    if attachment.message.internal and not can(actor, Permission.NOTE_READ, organization_id=ticket.organization_id):
        raise NotFound("no such attachment")
    return attachment


def requests_for(actor: Actor, ticket: Ticket) -> QuerySet[PublisherRequest]:
    """The ticket's requests to the publisher (both sides see them), oldest first."""
    return ticket.requests.select_related("offer").order_by("id")


def affected_customers_of(ticket: Ticket) -> QuerySet[Customer]:
    """The customers running an affected deployment of the ticket's offers, each once (unscoped).

    A deployment is affected when it is of one of the ticket's offers and
    - its plan is one of the ticket's ``affected_plans``, or none of that
      offer's plans is named (plans narrow per offer, never across offers);
    - its version is one of ``affected_versions`` when that list is not
      empty, or its version is unknown (blank) — better warned than missed.

    One SQL query: the ticket's offers and plans are read by subqueries and
    the deployments by a correlated ``EXISTS``, so no join fan-out, no DISTINCT.
    """
    ticket_offers = Ticket.offers.through.objects.filter(ticket_id=ticket.pk)
    ticket_plans = Ticket.affected_plans.through.objects.filter(ticket_id=ticket.pk)
    deployments = Deployment.objects.filter(
        customer_id=OuterRef("pk"),
        offer_id__in=ticket_offers.values("offer_id"),
    ).filter(Q(plan_id__in=ticket_plans.values("plan_id")) | ~Q(offer_id__in=ticket_plans.values("plan__offer_id")))
    versions = [str(v) for v in (ticket.affected_versions or [])]
    if versions:
        deployments = deployments.filter(Q(version__in=versions) | Q(version=""))
    return Customer.objects.filter(Exists(deployments))


def affected_customers(actor: Actor, confirmation_number: str) -> tuple[Ticket, QuerySet[Customer]]:
    """Customers running an affected deployment (staff only: ``customer:read``)."""
    ticket = access_ticket(actor, confirmation_number, Permission.CUSTOMER_READ)
    return ticket, affected_customers_of(ticket).prefetch_related("contacts").order_by("name")


@dataclass(frozen=True)
class Waiting:
    """What a ticket waits for from its publisher: open requests and the earliest due date."""

    open_requests: int
    next_due: datetime | None


def waiting_on_publisher(tickets: Sequence[Ticket]) -> dict[int, Waiting]:
    """Open requests per ticket, for tickets the caller got from a scoped selector (one query)."""
    rows = (
        PublisherRequest.objects.filter(ticket_id__in=[t.pk for t in tickets], status=RequestStatus.OPEN)
        .values("ticket_id")
        .annotate(n=Count("id"), due=Min("due_at"))
        .order_by()
    )
    return {row["ticket_id"]: Waiting(open_requests=row["n"], next_due=row["due"]) for row in rows}


# --- Tickets by offer and by customer (the responders' catalogue pages) ----------------------------

#: The most tickets of each kind (open, then closed or resolved) an offer's or a customer's page lists.
TICKETS_SHOWN = 50


@dataclass(frozen=True)
class TicketGroups:
    """Open tickets by what is due first, then the others newest first; ``*_more``: some were left out."""

    open: list[Ticket]
    open_more: bool
    other: list[Ticket]
    other_more: bool


def _grouped(queryset: QuerySet[Ticket], limit: int) -> TicketGroups:
    queryset = queryset.select_related("assignee").defer("search_document")
    open_rows = list(queryset.filter(status__in=OPEN_STATUS_VALUES).order_by("due_at", "id")[: limit + 1])
    other_rows = list(queryset.exclude(status__in=OPEN_STATUS_VALUES).order_by("-id")[: limit + 1])
    return TicketGroups(
        open=open_rows[:limit],
        open_more=len(open_rows) > limit,
        other=other_rows[:limit],
        other_more=len(other_rows) > limit,
    )


def _require_catalogue_reader(actor: Actor) -> None:
    if not (actor.is_staff_member and can(actor, Permission.CUSTOMER_READ)):
        raise PermissionDenied("only marketplace staff see tickets by offer and by customer")


def open_tickets_per_offer(actor: Actor, offers: Sequence[Offer]) -> dict[int, int]:
    """How many open tickets the actor may see name each of ``offers`` (one query)."""
    rows = (
        tickets_visible_to(actor)
        .filter(status__in=OPEN_STATUS_VALUES, offers__in=[offer.pk for offer in offers])
        .values("offers")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {row["offers"]: row["n"] for row in rows}


def tickets_of_offer(actor: Actor, offer: Offer, *, limit: int = TICKETS_SHOWN) -> TicketGroups:
    """The tickets naming ``offer`` (an offer the caller got from a scoped selector); two queries."""
    _require_catalogue_reader(actor)
    naming = Ticket.offers.through.objects.filter(ticket_id=OuterRef("pk"), offer_id=offer.pk)
    return _grouped(tickets_visible_to(actor).filter(Exists(naming)), limit)


class _VersionAffected(Func):
    """``versions`` (a ticket's JSON list of affected versions) is empty or holds ``version``.

    The JSON ``contains`` lookup does not exist on SQLite, so each backend gets its own spelling.
    """

    arity = 2
    output_field = BooleanField()

    def as_sql(
        self,
        compiler: SQLCompiler,
        connection: BaseDatabaseWrapper,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> tuple[str, tuple[Any, ...]]:
        raise NotSupportedError(f"affected versions are not matched on {connection.vendor}")

    def _parts(self, compiler: SQLCompiler) -> tuple[str, tuple[Any, ...], str, tuple[Any, ...]]:
        versions, version = (compiler.compile(expression) for expression in self.get_source_expressions())
        return versions[0], tuple(versions[1]), version[0], tuple(version[1])

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> tuple[str, tuple[Any, ...]]:
        versions, versions_params, version, version_params = self._parts(compiler)
        # Only compiled column references are spliced in; any value stays a parameter.
        exists = f"EXISTS (SELECT 1 FROM json_each({versions}) AS v WHERE v.value = {version})"  # noqa: S608 — see above
        sql = f"(json_array_length({versions}) = 0 OR {exists})"
        return sql, (*versions_params, *versions_params, *version_params)

    def as_postgresql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> tuple[str, tuple[Any, ...]]:
        versions, versions_params, version, version_params = self._parts(compiler)
        sql = f"(jsonb_array_length({versions}) = 0 OR {versions} @> jsonb_build_array({version}::text))"
        return sql, (*versions_params, *versions_params, *version_params)


def tickets_affecting(actor: Actor, customer: Customer, *, limit: int = TICKETS_SHOWN) -> TicketGroups:
    """The tickets that count ``customer`` among their affected customers, with their offers; three queries.

    The rule of :func:`affected_customers_of`, seen from the customer's side: one of its deployments
    is of one of the ticket's offers, on an affected plan (or the ticket names none of that offer's
    plans), at an affected version (or the ticket names none, or the version is unknown).
    """
    _require_catalogue_reader(actor)
    ticket = OuterRef(OuterRef("pk"))
    ticket_offers = Ticket.offers.through.objects.filter(ticket_id=ticket)
    ticket_plans = Ticket.affected_plans.through.objects.filter(ticket_id=ticket)
    deployments = (
        Deployment.objects.filter(customer_id=customer.pk, offer_id__in=ticket_offers.values("offer_id"))
        .filter(Q(plan_id__in=ticket_plans.values("plan_id")) | ~Q(offer_id__in=ticket_plans.values("plan__offer_id")))
        .filter(Q(version="") | Q(_VersionAffected(OuterRef("affected_versions"), F("version"))))
    )
    # Narrow to the tickets of the customer's offers first (an index on the ticket-offer table),
    # so the per-ticket rule runs on those only, however many tickets the desk holds.
    its_offers = Deployment.objects.filter(customer_id=customer.pk).values("offer_id")
    candidates = Ticket.offers.through.objects.filter(offer_id__in=its_offers).values("ticket_id")
    queryset = tickets_visible_to(actor).filter(pk__in=candidates).filter(Exists(deployments))
    groups = _grouped(queryset, limit)
    prefetch_related_objects([*groups.open, *groups.other], Prefetch("offers", queryset=Offer.objects.order_by("slug")))
    return groups
