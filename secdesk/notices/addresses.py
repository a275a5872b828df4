"""Addresses and identifiers of the desk's e-mail: reply addresses, thread roots, Message-IDs.

Used by outbound mail (``mail.py``) and by the inbound gateway to thread a
reply back to its ticket:

- **reply address** ``reply+<token>@<MAIL_REPLY_DOMAIN>``: the token is
  ``t<ticket id>.<HMAC>``, an HMAC-SHA256 of the ticket id under the desk's
  ``SECRET_KEY`` (``SECRET_KEY_FALLBACKS`` still verify after a rotation),
  so it cannot be forged or guessed from a confirmation number, and finding
  the ticket needs no table. Lower case only: some MTAs fold local parts.
- **thread root** ``<ticket-<confirmation number>@<MAIL_DOMAIN>>``: every
  e-mail about a ticket names it in ``In-Reply-To`` and ``References``, so
  mail clients show one thread per ticket.
- **Message-IDs**: ``<delivery-<id>.<event hash prefix>@<MAIL_DOMAIN>>`` for
  an e-mail about a timeline event, ``<notice-<notice id>.<random>@…>`` for a
  customer notice (fixed when the recipient row is created). Both are the
  same every time the same e-mail is sent again.
"""

from __future__ import annotations

import re
import secrets

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

from secdesk.tickets.models import Ticket

_SALT = "secdesk.notices.reply-token"
_DIGEST_CHARS = 24  # 96 bits of the HMAC
_TOKEN = re.compile(r"^t([1-9][0-9]{0,18})\.([0-9a-f]{%d})$" % _DIGEST_CHARS)  # noqa: UP031 — a regex, not text
_DELIVERY_ID = re.compile(r"^<?delivery-([1-9][0-9]{0,18})\.([0-9a-f]{1,64})@([^<>@\s]+)>?$", re.IGNORECASE)
_NOTICE_ID = re.compile(r"^<?notice-([1-9][0-9]{0,18})\.([0-9a-z]{1,64})@([^<>@\s]+)>?$", re.IGNORECASE)
_THREAD_ID = re.compile(r"^<?ticket-([^<>@\s]{1,40})@([^<>@\s]+)>?$", re.IGNORECASE)


def mail_domain() -> str:
    return str(getattr(settings, "MAIL_DOMAIN", "") or "secdesk.localhost")


def reply_domain() -> str:
    return str(getattr(settings, "MAIL_REPLY_DOMAIN", "") or "inbound.secdesk.localhost")


def _digest(ticket_id: int, secret: str | bytes) -> str:
    return salted_hmac(_SALT, str(ticket_id), secret=secret, algorithm="sha256").hexdigest()[:_DIGEST_CHARS]


def reply_token(ticket: Ticket | int) -> str:
    """The token of the ticket's reply address (stable for a given ``SECRET_KEY``)."""
    ticket_id = ticket if isinstance(ticket, int) else int(ticket.pk)
    return f"t{ticket_id}.{_digest(ticket_id, settings.SECRET_KEY)}"


def reply_address(ticket: Ticket | int) -> str:
    return f"reply+{reply_token(ticket)}@{reply_domain()}"


def ticket_id_for_reply_token(token: str) -> int | None:
    """The ticket id a well-signed token names, or None (without touching the database)."""
    match = _TOKEN.match(token.strip().lower())
    if match is None:
        return None
    ticket_id = int(match.group(1))
    for secret in (settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])):
        if constant_time_compare(_digest(ticket_id, secret), match.group(2)):
            return ticket_id
    return None


def ticket_for_reply_token(token: str) -> Ticket | None:
    """The ticket of a reply address token, or None if the token is malformed, forged or the ticket is gone.

    Only *which ticket* — whether the sender may post to it is for the caller to check.
    """
    ticket_id = ticket_id_for_reply_token(token)
    if ticket_id is None:
        return None
    return Ticket.objects.filter(pk=ticket_id).first()


def thread_id(ticket: Ticket) -> str:
    """The Message-ID every e-mail about the ticket replies to (the root of its thread)."""
    return f"<ticket-{ticket.confirmation_number}@{mail_domain()}>"


def delivery_message_id(delivery_id: int, event_hash: str) -> str:
    return f"<delivery-{delivery_id}.{event_hash[:12].lower()}@{mail_domain()}>"


def new_notice_message_id(notice_id: int) -> str:
    """A fresh Message-ID for one recipient of a customer notice (stored on the recipient row)."""
    return f"<notice-{notice_id}.{secrets.token_hex(10)}@{mail_domain()}>"


def ticket_for_message_id(message_id: str) -> Ticket | None:
    """The ticket an e-mail of ours (a Message-ID seen in In-Reply-To/References) was about, or None.

    Only ids with our own domain count; the random or hashed part must match
    what was stored, so a guessed id finds nothing.
    """
    from secdesk.notices.models import MailDelivery, NoticeRecipient  # models import this module's callers

    text = message_id.strip()
    match = _THREAD_ID.match(text)
    if match and match.group(2).lower() == mail_domain():
        return Ticket.objects.filter(confirmation_number=match.group(1).upper()).first()
    match = _DELIVERY_ID.match(text)
    if match and match.group(3).lower() == mail_domain():
        delivery = MailDelivery.objects.select_related("ticket", "event").filter(pk=int(match.group(1))).first()
        if delivery is not None and delivery.event.hash.lower().startswith(match.group(2).lower()):
            return delivery.ticket
        return None
    match = _NOTICE_ID.match(text)
    if match and match.group(3).lower() == mail_domain():
        normalised = f"<{text.strip('<>')}>"
        recipient = (
            NoticeRecipient.objects.select_related("notice__ticket")
            .filter(notice_id=int(match.group(1)), message_id__iexact=normalised)
            .first()
        )
        return recipient.notice.ticket if recipient is not None else None
    return None
