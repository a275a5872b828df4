"""The only code that writes notices, their versions and their recipients.

Every public function takes ``actor`` first and everything else by keyword,
runs in one transaction, locks the ticket row (so two editors or approvers
of one notice are serialised), appends the timeline event in the same
transaction and queues side effects with ``transaction.on_commit``.

The life of a notice::

    start (version 1 = the publisher's answer (iv))
      → edit (version N+1; clears both approvals)  … repeated
      → approve by the publisher  ┐ either order, on the current version,
      → approve by a lead         ┘ by two different people
      → approved: audience fixed, one pending recipient per contact e-mail
        (its Message-ID fixed), delivery queued after commit (:func:`queue_delivery`)
"""

from __future__ import annotations

import logging
import unicodedata

from django.db import transaction
from django.utils import timezone

from secdesk.domain.errors import Conflict, ErrorList, FieldError, InvalidInput, NotFound, PermissionDenied
from secdesk.domain.lifecycle import Status
from secdesk.domain.policy import Actor, Permission, can
from secdesk.notices import addresses, selectors
from secdesk.notices.models import (
    BODY_MAX_CHARS,
    SUBJECT_MAX_CHARS,
    Notice,
    NoticeRecipient,
    NoticeStatus,
    NoticeVersion,
    RecipientStatus,
)
from secdesk.tickets import timeline
from secdesk.tickets.models import Ticket
from secdesk.tickets.selectors import access_ticket

logger = logging.getLogger("secdesk.notices")

PUBLISHER = "publisher"
MARKETPLACE = "marketplace"


def queue_delivery(notice_id: int) -> None:
    """Hand an approved notice to delivery; called once, after the approval commits.

    Enqueues ``NOTICE_PARALLEL`` runs of the ``deliver_notice`` task, which
    share the notice's recipients (each claims its own batches) and its rate
    limit (``NOTICE_RATE_PER_SECOND``). Progress is in the database: every
    recipient goes ``pending`` → ``sending`` → ``sent`` / ``failed`` /
    ``bounced``; see ``secdesk/notices/delivery.py``.
    """
    from secdesk.notices import tasks

    tasks.start_notice_delivery(notice_id)
    logger.info("notice %s approved: delivery queued", notice_id)


def _default_subject(ticket: Ticket) -> str:
    first = ticket.offers.order_by("slug").first()
    subject = f"Security notice {ticket.confirmation_number}"
    if first is not None:
        subject = f"{subject}: {first.name}"
    return subject[:SUBJECT_MAX_CHARS]


def _check_text(subject: str, body: str) -> None:
    """The subject becomes an e-mail header: one line, no control characters."""
    errors = ErrorList()
    if not subject.strip():
        errors.add("subject", "must not be empty", code="required")
    elif len(subject) > SUBJECT_MAX_CHARS:
        errors.add("subject", f"is longer than {SUBJECT_MAX_CHARS} characters", code="too_long")
    elif any(unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp"} for ch in subject):
        errors.add("subject", "must be one line without control characters")
    if len(body) > BODY_MAX_CHARS:
        errors.add("body", f"is longer than {BODY_MAX_CHARS} characters", code="too_long")
    elif "\x00" in body:
        errors.add("body", "must not contain NUL characters")
    errors.raise_if_any()


def _locked_notice(actor: Actor, confirmation_number: str, permission: Permission) -> tuple[Ticket, Notice]:
    """Lock the ticket row (held until the transaction ends) and load its notice."""
    ticket = access_ticket(actor, confirmation_number, permission, for_update=True)
    notice = Notice.objects.filter(ticket=ticket).first()
    if notice is None:
        raise NotFound("this ticket has no customer notice yet")
    notice.ticket = ticket
    return ticket, notice


def start_notice(actor: Actor, *, confirmation_number: str) -> tuple[Notice, bool]:
    """Start the ticket's notice from the publisher's answer (iv); returns ``(notice, created)``.

    Idempotent: when the ticket already has a notice it is returned as it is
    (``created`` False). Only a submitted ticket (not a draft) has a notice.
    """
    with transaction.atomic():
        ticket = access_ticket(actor, confirmation_number, Permission.NOTICE_EDIT, for_update=True)
        existing = Notice.objects.filter(ticket=ticket).first()
        if existing is not None:
            existing.ticket = ticket
            return existing, False
        if ticket.status == Status.DRAFT.value:
            raise Conflict("submit the ticket before starting its customer notice")
        now = timezone.now()
        notice = Notice.objects.create(ticket=ticket, status=NoticeStatus.DRAFT, current_version=1, created_at=now)
        subject = _default_subject(ticket)
        NoticeVersion.objects.create(
            notice=notice,
            number=1,
            subject=subject,
            body=ticket.customer_message,
            author_id=actor.signed_in_id(),
            created_at=now,
            base_version=None,
        )
        timeline.append(ticket, "notice.started", actor=actor, data={"version": 1, "subject": subject})
    return notice, True


def edit_notice(
    actor: Actor,
    *,
    confirmation_number: str,
    subject: str,
    body: str,
    base_version: int,
) -> Notice:
    """Save a new version edited from ``base_version``; both approvals are cleared.

    Optimistic concurrency: ``base_version`` must be the current version, or
    the edit is refused (``Conflict``) so nobody overwrites a text they have
    not seen. Saving the current text unchanged adds no version and keeps the
    approvals. An approved notice cannot be edited.
    """
    _check_text(subject, body)
    with transaction.atomic():
        ticket, notice = _locked_notice(actor, confirmation_number, Permission.NOTICE_EDIT)
        if notice.status != NoticeStatus.DRAFT:
            raise Conflict(f"the notice is {notice.status} and can no longer be edited")
        if base_version != notice.current_version:
            raise Conflict(f"the notice changed since you loaded it; version {notice.current_version} is current")
        current = NoticeVersion.objects.get(notice=notice, number=notice.current_version)
        if current.subject == subject and current.body == body:
            return notice
        now = timezone.now()
        number = notice.current_version + 1
        NoticeVersion.objects.create(
            notice=notice,
            number=number,
            subject=subject,
            body=body,
            author_id=actor.signed_in_id(),
            created_at=now,
            base_version=base_version,
        )
        approvers = {PUBLISHER: notice.publisher_approved_by_id, MARKETPLACE: notice.marketplace_approved_by_id}
        cleared = [side for side, by in approvers.items() if by is not None]
        notice.current_version = number
        notice.publisher_approved_by = None
        notice.publisher_approved_at = None
        notice.marketplace_approved_by = None
        notice.marketplace_approved_at = None
        notice.save(
            update_fields=[
                "current_version",
                "publisher_approved_by",
                "publisher_approved_at",
                "marketplace_approved_by",
                "marketplace_approved_at",
            ]
        )
        timeline.append(
            ticket,
            "notice.edited",
            actor=actor,
            data={"version": number, "base_version": base_version, "approvals_cleared": cleared},
        )
    return notice


def _sides_of(actor: Actor, ticket: Ticket) -> list[str]:
    sides = []
    if can(actor, Permission.NOTICE_APPROVE_PUBLISHER, organization_id=ticket.organization_id):
        sides.append(PUBLISHER)
    if can(actor, Permission.NOTICE_APPROVE_MARKETPLACE, organization_id=ticket.organization_id):
        sides.append(MARKETPLACE)
    return sides


def approve_notice(actor: Actor, *, confirmation_number: str, version: int) -> Notice:
    """Approve the current version for the publisher (a member) or the marketplace (a lead).

    Each call gives one approval. The two approvals come from two different
    people; approving a side that is already approved changes nothing. Once
    both are present the notice is ``approved``: the audience is fixed (see
    :func:`_fix_audience`) and delivery is queued after commit.
    """
    with transaction.atomic():
        ticket, notice = _locked_notice(actor, confirmation_number, Permission.NOTICE_READ)
        sides = _sides_of(actor, ticket)
        if not sides:
            raise PermissionDenied("only a member of the publisher or a lead may approve the notice")
        if not 1 <= version <= notice.current_version:
            raise InvalidInput(
                [
                    FieldError(
                        "version",
                        f"version {version} does not exist; version {notice.current_version} is current",
                        "unknown_version",
                    )
                ]
            )
        if version != notice.current_version:
            raise Conflict(f"version {version} is not the current text; version {notice.current_version} is current")
        approvers = {PUBLISHER: notice.publisher_approved_by_id, MARKETPLACE: notice.marketplace_approved_by_id}
        open_sides = [s for s in sides if approvers[s] is None]
        if not open_sides:
            return notice  # approved already on the actor's side(s): nothing to do
        if actor.user_id in approvers.values():
            raise PermissionDenied("the publisher and the marketplace approvals must come from two different people")
        if notice.status != NoticeStatus.DRAFT:
            raise Conflict(f"the notice is already {notice.status}")
        side = open_sides[0]
        now = timezone.now()
        setattr(notice, f"{side}_approved_by_id", actor.user_id)
        setattr(notice, f"{side}_approved_at", now)
        fields = [f"{side}_approved_by", f"{side}_approved_at"]
        timeline.append(ticket, "notice.approval_given", actor=actor, data={"side": side, "version": version})
        if notice.publisher_approved_by_id is not None and notice.marketplace_approved_by_id is not None:
            notice.status = NoticeStatus.APPROVED
            notice.approved_at = now
            fields += ["status", "approved_at"]
            count = _fix_audience(ticket, notice)
            timeline.append(
                ticket,
                "notice.approved",
                actor=actor,
                data={"version": version, "recipients": count},
            )
            notice_id = notice.pk
            transaction.on_commit(lambda: queue_delivery(notice_id))
        notice.save(update_fields=fields)
    return notice


def _fix_audience(ticket: Ticket, notice: Notice) -> int:
    """Record one pending recipient per distinct contact e-mail of the affected customers.

    The address is compared without regard to case; the first contact found
    (lowest customer id, then contact id) is the one recorded.
    """
    now = timezone.now()
    seen: set[str] = set()
    rows: list[NoticeRecipient] = []
    for contact in selectors.audience_contacts(ticket):
        key = contact.email.strip().lower()
        if not key or key in seen:
            continue
        seen.add(key)
        rows.append(
            NoticeRecipient(
                notice=notice,
                customer_id=contact.customer_id,
                contact=contact,
                email=contact.email.strip(),
                language=contact.language,
                status=RecipientStatus.PENDING,
                # Fixed now, so a message sent again after a crash carries the same Message-ID.
                message_id=addresses.new_notice_message_id(notice.pk),
                created_at=now,
                updated_at=now,
            )
        )
    NoticeRecipient.objects.bulk_create(rows, batch_size=500)
    return len(rows)
