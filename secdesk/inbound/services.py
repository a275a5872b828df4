"""Turning a received e-mail into a ticket message, or into a quarantined item for staff.

:func:`receive` is the one entry point for every transport (IMAP polling,
the LMTP gateway): it parses the raw bytes with :func:`parsing.parse_reply`,
records the message, and either posts the reply with
``tickets.services.post_message`` as the person who sent it, or keeps it for
staff. It commits before it returns, so a transport acknowledges a message
(marks it seen, answers 250) only once the desk has it.

Threading, first match wins:

1. a per-ticket reply address ``reply+<token>@<MAIL_REPLY_DOMAIN>`` among the
   recipients (``notices.addresses.ticket_for_reply_token``);
2. a confirmation number in the subject, ``[SEC-XXXX-XXXX-C]``;
3. ``In-Reply-To`` then ``References`` (newest first): ``<ticket-<number>@…>``,
   or the Message-ID of one of the desk's outbound e-mails
   (``notices.addresses.ticket_for_message_id``).

Who may post: an active user with the sender's address who is a member of
the ticket's organisation, or marketplace staff allowed to write messages.
Everything else — strangers, unknown tickets, refused content — is
quarantined; auto-replies and bounces are ignored; broken MIME is kept as
``malformed``. Nothing is ever sent back to the sender (no backscatter).

A From address is easy to forge. Where the receiving MTA checks DMARC, set
``SECDESK_INBOUND_AUTHSERV_ID`` to its authserv-id: mail without an
``Authentication-Results`` header from it saying ``dmarc=pass`` is then
quarantined instead of posted.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from secdesk.accounts.actors import actor_for
from secdesk.accounts.models import User
from secdesk.domain import confirmation
from secdesk.domain.errors import Conflict, DomainError
from secdesk.domain.policy import Actor, Permission
from secdesk.inbound.models import WAITING_STATUSES, InboundMessage, InboundStatus
from secdesk.inbound.parsing import ParsedReply, confirmation_candidates, parse_reply, reply_tokens
from secdesk.inbound.selectors import access_inbound
from secdesk.notices import addresses
from secdesk.tickets import services as ticket_services
from secdesk.tickets import storage
from secdesk.tickets.models import Message, Ticket
from secdesk.tickets.selectors import access_ticket

logger = logging.getLogger("secdesk.inbound")

MAX_ATTACHMENTS = 10
EXCERPT_CHARS = 4000
_TICKET_ID = re.compile(r"^<ticket-([^@<>]{1,40})@([^<>]{1,253})>$", re.IGNORECASE)


@dataclass(frozen=True)
class Received:
    """What became of one message (for the transport's log and answer)."""

    inbound_id: int
    status: str
    reason: str
    confirmation_number: str | None = None
    message_id: int | None = None


def _reply_domain() -> str | None:
    return str(getattr(settings, "MAIL_REPLY_DOMAIN", "") or "") or None


def find_ticket(parsed: ParsedReply) -> tuple[Ticket | None, str]:
    """The ticket a reply belongs to, and how it was found (see the module docstring)."""
    for token in reply_tokens(parsed.recipients, _reply_domain()):
        found = addresses.ticket_for_reply_token(token)
        if found is not None:
            return found, "reply_token"
    for candidate in confirmation_candidates(parsed.subject):
        try:
            number = confirmation.normalise(candidate)
        except confirmation.InvalidConfirmationNumber:
            continue
        ticket = Ticket.objects.filter(confirmation_number=number).first()
        if ticket is not None:
            return ticket, "subject"
    for message_id in (*parsed.in_reply_to, *reversed(parsed.references)):
        match = _TICKET_ID.match(message_id)
        if match:
            try:
                number = confirmation.normalise(match.group(1))
            except confirmation.InvalidConfirmationNumber:
                continue
            ticket = Ticket.objects.filter(confirmation_number=number).first()
            if ticket is not None:
                return ticket, "references"
        else:
            found = addresses.ticket_for_message_id(message_id)
            if found is not None:
                return found, "references"
    return None, ""


def _sender_actor(parsed: ParsedReply, ticket: Ticket) -> tuple[Actor | None, str]:
    """The actor to post as, or why the sender may not post to this ticket."""
    user = User.objects.filter(email=parsed.sender, is_active=True).first() if parsed.sender else None
    if user is None:
        return None, "the sender is not a user of the desk"
    actor = actor_for(user)
    if not (actor.is_staff_member or ticket.organization_id in actor.organization_ids()):
        return None, "the sender is not a member of the ticket's organisation"
    authserv_id = str(getattr(settings, "INBOUND_AUTHSERV_ID", "") or "")
    if authserv_id and not _dmarc_passed(parsed, authserv_id):
        return None, f"no dmarc=pass from {authserv_id} (the sender address may be forged)"
    return actor, ""


def _dmarc_passed(parsed: ParsedReply, authserv_id: str) -> bool:
    for value in parsed.authentication_results:
        head, _, rest = value.partition(";")
        if head.strip().split()[0:1] == [authserv_id] and re.search(r"\bdmarc\s*=\s*pass\b", rest, re.I):
            return True
    return False


def _body_and_files(parsed: ParsedReply, *, prefix: str = "") -> tuple[str, list[storage.IncomingFile]]:
    """The message text and the files to post, within the desk's limits (what is left out is said)."""
    notes: list[str] = []
    files: list[storage.IncomingFile] = []
    for item in parsed.attachments:
        if not item.data:
            notes.append(f"{item.filename}: empty")
        elif len(item.data) > settings.MAX_ATTACHMENT_BYTES:
            notes.append(f"{item.filename}: larger than {settings.MAX_ATTACHMENT_BYTES} bytes")
        elif len(files) >= MAX_ATTACHMENTS:
            notes.append(f"{item.filename}: more than {MAX_ATTACHMENTS} attachments")
        else:
            files.append(storage.IncomingFile(item.filename, item.content_type, [item.data]))
    body = prefix + parsed.text
    if notes:
        body += "\n\n[Attachments not imported (the e-mail is kept by the desk): " + "; ".join(notes) + "]"
    limit = settings.MAX_TEXT_CHARS
    if len(body) > limit:
        marker = "\n\n[… truncated; the whole e-mail is kept by the desk]"
        body = body[: limit - len(marker)] + marker
    return body, files


def _post(actor: Actor, ticket: Ticket, body: str, files: Sequence[storage.IncomingFile]) -> Message:
    return ticket_services.post_message(
        actor, confirmation_number=ticket.confirmation_number, body=body, internal=False, files=files
    )


def _with_envelope(raw: bytes, envelope_from: str | None, envelope_to: Sequence[str]) -> bytes:
    """Prepend ``Return-Path`` and ``Delivered-To`` as a delivering MTA does (RFC 5321 4.4)."""
    lines = []
    if envelope_from is not None:
        lines.append(f"Return-Path: <{_header_safe(envelope_from)}>")
    lines.extend(f"Delivered-To: {_header_safe(address)}" for address in envelope_to)
    if not lines:
        return raw
    return ("\r\n".join(lines) + "\r\n").encode("utf-8", "replace") + raw


def _header_safe(value: str) -> str:
    return re.sub(r"[\x00-\x1f\x7f<>]", "", value)[:998]


def receive(
    raw: bytes,
    *,
    source: str,
    envelope_from: str | None = None,
    envelope_to: Sequence[str] = (),
) -> Received:
    """Record one received e-mail and post it, quarantine it or ignore it; committed on return.

    ``envelope_from``/``envelope_to`` are the SMTP/LMTP envelope (``""`` is
    the null return path of a bounce); an IMAP message already carries them
    as ``Return-Path``/``Delivered-To`` headers.
    """
    raw = _with_envelope(bytes(raw), envelope_from, envelope_to)
    limit = int(getattr(settings, "INBOUND_MAX_BYTES", 40 * 1024 * 1024))
    too_large = len(raw) > limit
    parsed = parse_reply(raw[:limit] if too_large else raw)
    posted_files: list[str] = []
    try:
        with transaction.atomic():
            row = _claim(raw[:limit] if too_large else raw, parsed, source)
            if row.status == InboundStatus.DUPLICATE:
                return _result(row)
            if too_large:
                _settle(row, InboundStatus.MALFORMED, f"larger than {limit} bytes (kept truncated)")
            else:
                message = _decide(row, parsed)
                if message is not None:
                    posted_files = list(message.attachments.values_list("storage_name", flat=True))
            return _result(row)
    except BaseException:
        # The message rows are gone with the transaction; so must their files be.
        storage.remove(posted_files)
        raise


def _claim(raw: bytes, parsed: ParsedReply, source: str) -> InboundMessage:
    """Insert the row for this message, or a ``duplicate`` row if its Message-ID was seen before."""
    fields: dict[str, Any] = {
        "source": source[:16],
        "message_id": parsed.dedupe_key,
        "sender": parsed.sender[:254],
        "subject": parsed.subject[:500],
        "excerpt": (parsed.text or parsed.full_text)[:EXCERPT_CHARS],
        "attachments": [
            {"filename": a.filename[:255], "content_type": a.content_type[:127], "size": len(a.data)}
            for a in parsed.attachments[:50]
        ],
        "raw": raw,
        "size": len(raw),
        "sha256": parsed.sha256,
    }
    first = InboundMessage.objects.filter(message_id=parsed.dedupe_key).exclude(status=InboundStatus.DUPLICATE).first()
    if first is None:
        try:
            with transaction.atomic():
                return InboundMessage.objects.create(status=InboundStatus.QUARANTINED, reason="processing", **fields)
        except IntegrityError:
            # Another worker took this Message-ID a moment ago.
            first = (
                InboundMessage.objects.filter(message_id=parsed.dedupe_key)
                .exclude(status=InboundStatus.DUPLICATE)
                .first()
            )
    return InboundMessage.objects.create(
        status=InboundStatus.DUPLICATE,
        reason=f"same Message-ID as inbound message {first.pk if first else '?'}",
        duplicate_of=first,
        ticket_id=first.ticket_id if first else None,
        **fields,
    )


def _settle(row: InboundMessage, status: str, reason: str, **extra: Any) -> None:
    row.status = status
    row.reason = reason[:500]
    for name, value in extra.items():
        setattr(row, name, value)
    row.save()


def _decide(row: InboundMessage, parsed: ParsedReply) -> Message | None:
    if parsed.auto_reply:
        _settle(row, InboundStatus.IGNORED_AUTO_REPLY, parsed.auto_reply_reason)
        return None
    if parsed.malformed:
        _settle(row, InboundStatus.MALFORMED, "; ".join(parsed.problems))
        return None
    ticket, how = find_ticket(parsed)
    if ticket is None:
        _settle(row, InboundStatus.QUARANTINED, "no ticket found (reply address, subject or references)")
        return None
    actor, refusal = _sender_actor(parsed, ticket)
    if actor is None:
        _settle(row, InboundStatus.QUARANTINED, refusal, ticket=ticket, threaded_by=how)
        return None
    body, files = _body_and_files(parsed)
    if not body.strip() and not files:
        _settle(
            row, InboundStatus.QUARANTINED, "no reply text above the quoted history", ticket=ticket, threaded_by=how
        )
        return None
    try:
        message = _post(actor, ticket, body, files)
    except DomainError as exc:
        _settle(row, InboundStatus.QUARANTINED, f"refused by the desk: {exc.message}", ticket=ticket, threaded_by=how)
        return None
    _settle(row, InboundStatus.POSTED, "", ticket=ticket, threaded_by=how, posted_message=message)
    logger.info("inbound %s posted to %s as message %s", row.pk, ticket.confirmation_number, message.pk)
    return message


def _result(row: InboundMessage) -> Received:
    return Received(
        inbound_id=row.pk,
        status=row.status,
        reason=row.reason,
        confirmation_number=row.ticket.confirmation_number if row.ticket_id and row.ticket else None,
        message_id=row.posted_message_id,
    )


# -- staff decisions on the quarantine ------------------------------------------------------------------


def _lock_waiting(actor: Actor, inbound_id: int, permission: Permission) -> InboundMessage:
    row = access_inbound(actor, inbound_id, permission, for_update=True)
    if row.status not in WAITING_STATUSES:
        raise Conflict(f"this message is {row.status}, not waiting for a decision")
    return row


def release(actor: Actor, *, inbound_id: int, confirmation_number: str) -> InboundMessage:
    """Post a quarantined (or malformed) e-mail onto ``confirmation_number``, as the marketplace.

    The message says who sent the e-mail; its attachments come along within
    the desk's limits. Needs ``ticket:triage`` and the right to write on the ticket.
    """
    posted_files: list[str] = []
    try:
        with transaction.atomic():
            row = _lock_waiting(actor, inbound_id, Permission.TICKET_TRIAGE)
            parsed = parse_reply(bytes(row.raw))
            sender = parsed.sender or row.sender or "an unknown sender"
            when = (parsed.date or row.received_at).isoformat(timespec="minutes")
            prefix = f"E-mail from {sender} ({when}), released from quarantine by the marketplace:\n\n"
            if not parsed.text.strip() and parsed.full_text.strip():
                parsed = replace(parsed, text=parsed.full_text)
            body, files = _body_and_files(parsed, prefix=prefix)
            ticket = access_ticket(actor, confirmation_number, Permission.MESSAGE_CREATE)
            message = _post(actor, ticket, body, files)
            posted_files = list(message.attachments.values_list("storage_name", flat=True))
            _settle(
                row,
                InboundStatus.POSTED,
                f"released by {actor.email} (was: {row.reason})",
                ticket=ticket,
                posted_message=message,
                threaded_by="released",
                decided_by_id=actor.user_id,
                decided_at=timezone.now(),
            )
            return row
    except BaseException:
        storage.remove(posted_files)
        raise


def discard(actor: Actor, *, inbound_id: int, reason: str = "") -> InboundMessage:
    """Set a quarantined (or malformed) e-mail aside for good; the raw message stays for the record."""
    with transaction.atomic():
        row = _lock_waiting(actor, inbound_id, Permission.TICKET_TRIAGE)
        note = reason.strip()[:300]
        _settle(
            row,
            InboundStatus.DISCARDED,
            f"discarded by {actor.email}" + (f": {note}" if note else "") + f" (was: {row.reason})",
            decided_by_id=actor.user_id,
            decided_at=timezone.now(),
        )
    return row
