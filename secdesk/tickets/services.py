"""The only code that writes tickets, messages and attachments.

Every public function takes ``actor`` first and everything else by keyword,
runs in one transaction, authorises through the policy, locks the ticket
row it changes, appends the timeline event in the same transaction and
queues side effects with ``transaction.on_commit``.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from secdesk.accounts.models import Organization
from secdesk.domain import confirmation, intake
from secdesk.domain.errors import Conflict, ErrorList, FieldError, InvalidInput, PermissionDenied
from secdesk.domain.lifecycle import Action, Status, plan_transition
from secdesk.domain.policy import Actor, Permission, can
from secdesk.marketplace.models import Offer
from secdesk.marketplace.selectors import resolve_own_offers
from secdesk.tickets import search, storage, timeline
from secdesk.tickets.clock import desk_calendar
from secdesk.tickets.models import Attachment, Message, Ticket, TimelineEvent
from secdesk.tickets.selectors import access_ticket

CONFIRMATION_ATTEMPTS = 8


def _fingerprint(answers: intake.Answers, submit: bool, organization: str | None) -> str:
    payload = json.dumps({"a": asdict(answers), "s": submit, "o": organization}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def _choose_organization(actor: Actor, offers: Sequence[Offer], organization_slug: str | None) -> int:
    """The publisher organisation a new ticket belongs to.

    Offers decide it; otherwise the named organisation; otherwise the actor's
    only one. Offers from two organisations cannot share one ticket.
    """

    org_ids = {offer.organization_id for offer in offers}
    if organization_slug:
        org = (
            Organization.objects.filter(slug=organization_slug, id__in=actor.organization_ids()).first()
            if "\x00" not in organization_slug  # names none (and PostgreSQL refuses NUL in a parameter)
            else None
        )
        if org is None:
            raise InvalidInput([FieldError("organization", "not one of your organisations", "unknown_organization")])
        if org_ids - {org.id}:
            raise InvalidInput([FieldError("offers", "all offers must belong to the organisation", "mixed")])
        return org.id
    if len(org_ids) > 1:
        raise InvalidInput([FieldError("offers", "offers of different organisations cannot share a ticket", "mixed")])
    if org_ids:
        return org_ids.pop()
    if len(actor.organization_ids()) == 1:
        return next(iter(actor.organization_ids()))
    raise InvalidInput([FieldError("organization", "say which of your organisations files this", "required")])


def _apply_answers(ticket: Ticket, checked: intake.CheckedAnswers) -> None:
    answers = checked.answers
    ticket.category = answers.category
    ticket.problem_type = answers.problem_type
    ticket.description = answers.description
    ticket.cvss = checked.cvss_dicts()
    ticket.cve_ids = list(answers.cve_ids)
    ticket.cwe_ids = list(answers.cwe_ids)
    ticket.mitigation = answers.mitigation
    ticket.remediation_steps = answers.remediation_steps
    ticket.customer_message = answers.customer_message
    ticket.suggested_severity = checked.suggested_severity or ""


def _submit(actor: Actor, ticket: Ticket) -> None:
    """Move a locked draft to ``submitted`` and start the acknowledgement clock."""
    plan_transition(
        actor=actor,
        status=Status(ticket.status),
        action=Action.SUBMIT,
        organization_id=ticket.organization_id,
        facts={"intake_complete": True},
    )
    now = timezone.now()
    ticket.status = Status.SUBMITTED.value
    ticket.submitted_at = now
    ticket.updated_at = now
    ticket.acknowledgement_due = desk_calendar().acknowledgement_due(now)
    ticket.due_at = ticket.acknowledgement_due  # the queue's key, as create_ticket sets it
    ticket.save(update_fields=["status", "submitted_at", "updated_at", "acknowledgement_due", "due_at"])
    timeline.append(
        ticket,
        "ticket.submitted",
        actor=actor,
        data={
            "confirmation_number": ticket.confirmation_number,
            "acknowledgement_due": ticket.acknowledgement_due.isoformat(),
        },
    )


@dataclass
class Filed:
    """A filed ticket with what was written alongside it, so adapters can answer without reading back."""

    ticket: Ticket
    offers: list[Offer]
    events: list[TimelineEvent]
    created: bool

    def __iter__(self) -> Iterator[Any]:
        # Unpacks as ``ticket, created`` — what most callers want.
        return iter((self.ticket, self.created))


def create_ticket(
    actor: Actor,
    *,
    answers: intake.Answers,
    submit: bool = False,
    organization: str | None = None,
    idempotency_key: str | None = None,
) -> Filed:
    """File a new ticket as a draft, or submitted at once.

    With ``idempotency_key``, a retry with the same key and the same input
    returns the first ticket (``created`` False); the same key with other
    input is a ``Conflict``. The key and the confirmation number are unique
    in the database: a concurrent retry loses on the key, and a (vanishingly
    rare) clash of random confirmation numbers retries with a fresh one.
    Everything that can be decided is decided before the transaction, so the
    write lock is held only for the inserts.
    """
    if actor.user_id is None or not actor.organization_ids() or not can(actor, Permission.TICKET_CREATE):
        raise PermissionDenied("only members of a publisher organisation file tickets")
    if idempotency_key is not None and not (0 < len(idempotency_key) <= 200):
        raise InvalidInput([FieldError("Idempotency-Key", "must be 1 to 200 characters", "invalid")])
    fingerprint = _fingerprint(answers, submit, organization) if idempotency_key else ""
    checked, offers = _check_with_offers(actor, answers, complete=submit)
    org_id = _choose_organization(actor, offers, organization)
    if not can(actor, Permission.TICKET_CREATE, organization_id=org_id):
        raise PermissionDenied("you may not file tickets for this organisation")
    if submit:
        plan_transition(
            actor=actor,
            status=Status.DRAFT,
            action=Action.SUBMIT,
            organization_id=org_id,
            facts={"intake_complete": True},
        )
    for _ in range(CONFIRMATION_ATTEMPTS):
        now = timezone.now()
        ticket = Ticket(
            confirmation_number=confirmation.generate(),
            organization_id=org_id,
            created_by_id=actor.signed_in_id(),
            created_at=now,
            updated_at=now,
            idempotency_key=idempotency_key,
            idempotency_fingerprint=fingerprint,
        )
        _apply_answers(ticket, checked)
        ticket.search_document = search.document_for(ticket, offers=offers)
        created = [("ticket.created", {"category": ticket.category, "offers": [o.slug for o in offers]})]
        if submit:
            ticket.status = Status.SUBMITTED.value
            ticket.submitted_at = now
            ticket.acknowledgement_due = desk_calendar().acknowledgement_due(now)
            ticket.due_at = ticket.acknowledgement_due
            created.append(
                (
                    "ticket.submitted",
                    {
                        "confirmation_number": ticket.confirmation_number,
                        "acknowledgement_due": ticket.acknowledgement_due.isoformat(),
                    },
                )
            )
        try:
            with transaction.atomic():
                ticket.save(force_insert=True)
                ticket.offers.add(*offers)
                events = timeline.append_new(ticket, created, actor=actor)
        except IntegrityError:
            if idempotency_key:
                existing = _replayed(actor, idempotency_key, fingerprint)
                if existing is not None:
                    return Filed(existing, list(existing.offers.all()), [], created=False)
            if Ticket.objects.filter(confirmation_number=ticket.confirmation_number).exists():
                continue
            raise
        ticket.organization = offers[0].organization if offers else Organization.objects.get(pk=org_id)
        return Filed(ticket, offers, events, created=True)
    raise Conflict("could not draw a free confirmation number; try again")


def _check_with_offers(
    actor: Actor, answers: intake.Answers, *, complete: bool
) -> tuple[intake.CheckedAnswers, list[Offer]]:
    """Check the answers and the offers together, so every problem is reported at once."""
    errors: list[FieldError] = []
    checked = None
    offers: list[Offer] = []
    try:
        checked = intake.check(answers, complete=complete, max_text_chars=settings.MAX_TEXT_CHARS)
    except InvalidInput as exc:
        errors.extend(exc.errors)
    try:
        offers = resolve_own_offers(actor, answers.offers)
    except InvalidInput as exc:
        errors.extend(exc.errors)
    if errors or checked is None:
        raise InvalidInput(errors)
    return checked, offers


def _replayed(actor: Actor, key: str, fingerprint: str) -> Ticket | None:
    ticket = Ticket.objects.filter(created_by_id=actor.user_id, idempotency_key=key).first()
    if ticket is not None and ticket.idempotency_fingerprint != fingerprint:
        raise Conflict("this Idempotency-Key was already used with a different request")
    return ticket


def stored_answers(ticket: Ticket) -> intake.Answers:
    return intake.Answers(
        category=ticket.category,
        problem_type=ticket.problem_type,
        offers=tuple(ticket.offers.order_by("slug").values_list("slug", flat=True)),
        description=ticket.description,
        cvss_vectors=tuple(item["vector"] for item in ticket.cvss),
        cve_ids=tuple(ticket.cve_ids),
        cwe_ids=tuple(ticket.cwe_ids),
        mitigation=ticket.mitigation,
        remediation_steps=ticket.remediation_steps,
        customer_message=ticket.customer_message,
    )


def update_draft(actor: Actor, *, confirmation_number: str, changes: dict[str, Any]) -> Ticket:
    """Change answers of a draft; only the fields in ``changes`` move."""
    with transaction.atomic():
        ticket = access_ticket(actor, confirmation_number, Permission.TICKET_EDIT_DRAFT, for_update=True)
        if ticket.status != Status.DRAFT.value:
            raise Conflict("only a draft can be edited; add a message instead")
        current = asdict(stored_answers(ticket))
        unknown = set(changes) - set(current)
        if unknown:
            raise InvalidInput([FieldError(name, "is not an answer of a ticket", "unknown_field") for name in unknown])
        current.update({k: tuple(v) if isinstance(v, list) else v for k, v in changes.items()})
        checked = intake.check(intake.Answers(**current), complete=False, max_text_chars=settings.MAX_TEXT_CHARS)
        offers = resolve_own_offers(actor, checked.answers.offers)
        if any(offer.organization_id != ticket.organization_id for offer in offers):
            raise InvalidInput([FieldError("offers", "all offers must belong to the ticket's organisation", "mixed")])
        _apply_answers(ticket, checked)
        ticket.updated_at = timezone.now()
        ticket.save()
        ticket.offers.set(offers)
        search.refresh(ticket)
        timeline.append(ticket, "ticket.draft_updated", actor=actor, data={"fields": sorted(changes)})
    return ticket


def submit_ticket(actor: Actor, *, confirmation_number: str) -> Ticket:
    """Submit a draft once its answers are complete (every missing answer reported at once)."""
    with transaction.atomic():
        ticket = access_ticket(actor, confirmation_number, Permission.TICKET_SUBMIT, for_update=True)
        if ticket.status != Status.DRAFT.value:
            raise Conflict(f"the ticket is already {ticket.status}")
        intake.check(stored_answers(ticket), complete=True, max_text_chars=settings.MAX_TEXT_CHARS)
        _submit(actor, ticket)
    return ticket


def post_message(
    actor: Actor,
    *,
    confirmation_number: str,
    body: str,
    internal: bool = False,
    files: Sequence[storage.IncomingFile] = (),
) -> Message:
    """Add a message (or, for staff, an internal note) with attachments to a ticket's thread.

    Files are written before the transaction and removed again if it does
    not commit, so a failure leaves neither rows nor orphan files.
    """
    errors = ErrorList()
    if not body.strip() and not files:
        errors.add("body", "write a message or attach a file", code="required")
    if len(body) > settings.MAX_TEXT_CHARS:
        errors.add("body", f"is longer than {settings.MAX_TEXT_CHARS} characters", code="too_long")
    if "\x00" in body:
        errors.add("body", "must not contain NUL characters")
    if len(files) > 10:
        errors.add("files", "at most 10 attachments per message", code="too_many")
    errors.raise_if_any()
    permission = Permission.NOTE_CREATE if internal else Permission.MESSAGE_CREATE
    # Authorise before touching the disk.
    ticket = access_ticket(actor, confirmation_number, permission)
    if files and not can(actor, Permission.ATTACHMENT_CREATE, organization_id=ticket.organization_id):
        raise PermissionDenied("you may not attach files to this ticket")
    stored: list[storage.StoredFile] = []
    try:
        for index, incoming in enumerate(files):
            try:
                item = storage.write(incoming, max_bytes=settings.MAX_ATTACHMENT_BYTES)
            except storage.FileTooLarge:
                errors.add(f"files.{index}", f"is larger than {settings.MAX_ATTACHMENT_BYTES} bytes", code="too_large")
                continue
            if item.size == 0:
                storage.remove([item.storage_name])
                errors.add(f"files.{index}", "is empty", code="empty")
                continue
            stored.append(item)
        errors.raise_if_any()
        with transaction.atomic():
            ticket = access_ticket(actor, confirmation_number, permission, for_update=True)
            if ticket.status == Status.DRAFT.value and internal:
                raise Conflict("a draft has no internal notes")
            now = timezone.now()
            message = Message.objects.create(
                ticket=ticket,
                author_id=actor.user_id,
                body=body,
                internal=internal,
                from_marketplace=actor.is_staff_member,
                created_at=now,
            )
            Attachment.objects.bulk_create(
                [
                    Attachment(
                        ticket=ticket,
                        message=message,
                        public_id=secrets.token_hex(8),
                        filename=item.filename,
                        content_type=item.content_type,
                        size=item.size,
                        sha256=item.sha256,
                        storage_name=item.storage_name,
                        uploaded_by_id=actor.signed_in_id(),
                        created_at=now,
                    )
                    for item in stored
                ]
            )
            ticket.updated_at = now
            ticket.save(update_fields=["updated_at"])
            search.append_message(ticket.pk, body)
            timeline.append(
                ticket,
                "note.added" if internal else "message.created",
                actor=actor,
                public=not internal,
                data={"message_id": message.pk, "attachments": [item.sha256 for item in stored]},
            )
    except BaseException:
        storage.remove(item.storage_name for item in stored)
        raise
    return message
