"""The only reads of notices, scoped to the actor, and the affected-customers query.

Every read goes through :func:`secdesk.tickets.selectors.access_ticket`, so a
notice of a ticket the actor may not see answers ``NotFound`` exactly like a
ticket without a notice or one that does not exist.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, QuerySet

from secdesk.domain.errors import FieldError, InvalidInput, NotFound, PermissionDenied
from secdesk.domain.policy import Actor, Permission, can
from secdesk.marketplace.models import Customer, CustomerContact
from secdesk.notices.models import Notice, NoticeRecipient, NoticeVersion, RecipientStatus
from secdesk.tickets.models import Ticket
from secdesk.tickets.selectors import access_ticket, affected_customers_of

RECIPIENT_PAGE_MAX = 1000
UNDELIVERED = "undelivered"


def affected_customers_queryset(ticket: Ticket) -> QuerySet[Customer]:
    """The notice's audience: the ticket's affected customers (one rule, kept in the tickets selectors)."""
    return affected_customers_of(ticket).order_by("id")


def audience_contacts(ticket: Ticket) -> QuerySet[CustomerContact]:
    """Every contact of every affected customer, in a stable order (one query)."""
    return CustomerContact.objects.filter(customer__in=affected_customers_queryset(ticket).values("pk")).order_by(
        "customer_id", "id"
    )


def find_notice(ticket: Ticket) -> Notice | None:
    """The ticket's notice, for callers that already checked access to the ticket."""
    return (
        Notice.objects.select_related("publisher_approved_by", "marketplace_approved_by").filter(ticket=ticket).first()
    )


def notice_for(actor: Actor, confirmation_number: str) -> Notice:
    """The notice of a ticket the actor may read notices of; ``NotFound`` if none was started."""
    ticket = access_ticket(actor, confirmation_number, Permission.NOTICE_READ)
    notice = find_notice(ticket)
    if notice is None:
        raise NotFound("this ticket has no customer notice yet")
    notice.ticket = ticket  # keep the already-loaded ticket (and its organisation)
    return notice


def current_version(notice: Notice) -> NoticeVersion:
    """The version the notice currently stands at."""
    return NoticeVersion.objects.select_related("author").get(notice=notice, number=notice.current_version)


def versions(actor: Actor, confirmation_number: str) -> QuerySet[NoticeVersion]:
    """Every version, oldest first."""
    notice = notice_for(actor, confirmation_number)
    return NoticeVersion.objects.filter(notice=notice).select_related("author").order_by("number")


def diff(
    actor: Actor,
    confirmation_number: str,
    from_version: int,
    to_version: int,
    *,
    version_label: str = "version %(number)s",
    subject_label: str = "Subject: %(subject)s",
) -> str:
    """A unified diff of subject and body between two versions.

    Each version is its subject line (``subject_label``), a blank line, then
    its body; the file headers are ``version_label``. The labels are English
    unless the caller (a page in the reader's language) passes its own.
    """
    notice = notice_for(actor, confirmation_number)
    found = {v.number: v for v in NoticeVersion.objects.filter(notice=notice, number__in=[from_version, to_version])}
    errors = [
        FieldError(name, f"version {number} does not exist; the latest is {notice.current_version}", "unknown_version")
        for name, number in (("from", from_version), ("to", to_version))
        if number not in found
    ]
    if errors:
        raise InvalidInput(errors)

    def lines(version: NoticeVersion) -> list[str]:
        return [subject_label % {"subject": version.subject}, "", *version.body.splitlines()]

    return "\n".join(
        difflib.unified_diff(
            lines(found[from_version]),
            lines(found[to_version]),
            fromfile=version_label % {"number": from_version},
            tofile=version_label % {"number": to_version},
            lineterm="",
        )
    )


def recipient_counts(notice: Notice) -> dict[str, int]:
    """Recipients by delivery status, every status present (zero when none); one query."""
    counts = {status.value: 0 for status in RecipientStatus}
    rows = NoticeRecipient.objects.filter(notice=notice).values("status").annotate(n=Count("id")).order_by()
    for row in rows:
        counts[row["status"]] = row["n"]
    return counts


def recipients(actor: Actor, confirmation_number: str, status: str | None = None) -> QuerySet[NoticeRecipient]:
    """The audience of a notice and its delivery state; marketplace staff only (``customer:read``).

    A publisher who may see the notice is refused (``PermissionDenied``): the
    marketplace's customer list is not theirs to read. ``status`` filters by
    delivery status; ``"undelivered"`` is every recipient not (yet) sent.
    """
    notice = notice_for(actor, confirmation_number)
    if not can(actor, Permission.CUSTOMER_READ, organization_id=notice.ticket.organization_id):
        raise PermissionDenied("only marketplace staff may see a notice's recipients")
    queryset = NoticeRecipient.objects.filter(notice=notice).select_related("customer")
    if status == UNDELIVERED:
        queryset = queryset.exclude(status=RecipientStatus.SENT)
    elif status is not None:
        if status not in RecipientStatus.values:
            choices = ", ".join([*RecipientStatus.values, UNDELIVERED])
            raise InvalidInput([FieldError("status", f"must be one of {choices}", "invalid_choice")])
        queryset = queryset.filter(status=status)
    return queryset.order_by("id")


@dataclass(frozen=True)
class DeliveryProgress:
    """How the delivery of an approved notice stands (all counts from one query)."""

    total: int
    sent: int
    undelivered: int  # not sent (yet): pending, sending, failed (retrying or given up), bounced
    retrying: int  # failed, with another attempt scheduled
    started_at: datetime | None
    last_activity_at: datetime | None
    finished_at: datetime | None


def delivery_progress(notice: Notice) -> DeliveryProgress:
    counts = recipient_counts(notice)
    retrying = NoticeRecipient.objects.filter(
        notice=notice, status=RecipientStatus.FAILED, next_attempt_at__isnull=False
    ).count()
    total = sum(counts.values())
    return DeliveryProgress(
        total=total,
        sent=counts[RecipientStatus.SENT],
        undelivered=total - counts[RecipientStatus.SENT],
        retrying=retrying,
        started_at=notice.delivery_started_at,
        last_activity_at=notice.delivery_heartbeat_at,
        finished_at=notice.delivery_finished_at,
    )


@dataclass(frozen=True)
class RecipientPage:
    items: list[NoticeRecipient]
    next_after: int | None


def recipients_page(
    actor: Actor,
    confirmation_number: str,
    *,
    status: str | None = None,
    after: int | None = None,
    limit: int = 500,
) -> RecipientPage:
    """One page of :func:`recipients`, keyset-paginated on the id (pass ``next_after`` as ``after``)."""
    limit = max(1, min(limit, RECIPIENT_PAGE_MAX))
    queryset = recipients(actor, confirmation_number, status=status)
    if after is not None:
        queryset = queryset.filter(id__gt=after)
    rows = list(queryset[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return RecipientPage(items=rows, next_after=rows[-1].pk if more and rows else None)
