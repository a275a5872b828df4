"""Sending e-mail with its state in the database: claim, send, record.

Both kinds of outbound mail follow one pattern:

1. **claim** — a conditional UPDATE moves rows that are ``pending``, ``failed``
   and due for a retry, or ``sending`` but claimed longer ago than
   ``MAIL_CLAIM_TIMEOUT_SECONDS`` (their worker died) to ``sending`` with a fresh
   ``claim_token`` and ``attempts + 1``. Only rows the UPDATE matched are
   ours; two workers can never both hold a row (PostgreSQL: ``FOR UPDATE SKIP
   LOCKED`` picks disjoint rows; SQLite: the IMMEDIATE transaction serialises).
2. **send** over SMTP (``MAILERS["default"]``), one connection per batch.
3. **record** each outcome as soon as the server answers — a one-row UPDATE
   that only applies while we still hold the claim — ``sent`` (with
   ``sent_at`` and the Message-ID), ``bounced`` (a permanent 5xx refusal) or
   ``failed`` with ``next_attempt_at`` (exponential backoff) until
   ``MAIL_MAX_ATTEMPTS``.

So a worker killed at any point loses at most the one message between "the
server said 250" and "recorded as sent": that message is sent again later,
with the same Message-ID (fixed per row), and nothing else is sent twice or
skipped.
"""

from __future__ import annotations

import logging
import secrets
import smtplib
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import mail as django_mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.db import connection, transaction
from django.db.models import F, Min, Q, QuerySet
from django.utils import timezone

from secdesk.accounts.models import Membership
from secdesk.notices import addresses, mail
from secdesk.notices.models import (
    DeliveryStatus,
    MailDelivery,
    Notice,
    NoticeRecipient,
    NoticeStatus,
    NoticeVersion,
    RecipientStatus,
)
from secdesk.tickets import timeline
from secdesk.tickets.models import Ticket

logger = logging.getLogger("secdesk.notices.delivery")

SENDING = "sending"
MAX_BACKOFF = timedelta(hours=6)
ERROR_CHARS = 1000


def claim_timeout() -> timedelta:
    return timedelta(seconds=settings.MAIL_CLAIM_TIMEOUT_SECONDS)


def backoff(attempts: int) -> timedelta:
    """The wait before attempt ``attempts + 1``: base * 2 ** (attempts - 1), at most six hours."""
    base = timedelta(seconds=settings.MAIL_RETRY_BASE_SECONDS)
    return min(base * (2 ** max(0, min(attempts - 1, 20))), MAX_BACKOFF)


def claimable(now: datetime) -> Q:
    """Rows a worker may claim now: pending, failed and due, or claimed by a worker that stopped."""
    return (
        Q(status="pending")
        | Q(status="failed", next_attempt_at__isnull=False, next_attempt_at__lte=now)
        | Q(status=SENDING, claimed_at__lt=now - claim_timeout())
    )


def unfinished() -> Q:
    """Rows that still need work (a failed row with no next attempt has been given up)."""
    return Q(status__in=["pending", SENDING]) | Q(status="failed", next_attempt_at__isnull=False)


def classify(exc: BaseException) -> str:
    """``bounced`` when the server refused for good (5xx for the recipient or the message), else ``failed``."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        if codes and all(500 <= int(code) < 600 for code in codes):
            return "bounced"
    if isinstance(exc, smtplib.SMTPDataError) and 500 <= exc.smtp_code < 600:
        return "bounced"
    return "failed"


def _connection_broken(exc: BaseException) -> bool:
    """Whether the SMTP session is unusable after ``exc`` (refusals leave it usable: smtplib sends RSET)."""
    return not isinstance(exc, smtplib.SMTPRecipientsRefused | smtplib.SMTPDataError)


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:ERROR_CHARS]


def _failure_fields(attempts: int, outcome: str, exc: BaseException, now: datetime) -> dict[str, Any]:
    if outcome == "bounced":
        return {"status": "bounced", "next_attempt_at": None, "last_error": _error_text(exc), "updated_at": now}
    retry = attempts < settings.MAIL_MAX_ATTEMPTS
    return {
        "status": "failed",
        "next_attempt_at": now + backoff(attempts) if retry else None,
        "last_error": _error_text(exc),
        "updated_at": now,
    }


def _lock_skipping(queryset: QuerySet[Any]) -> QuerySet[Any]:
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True)
    return queryset  # SQLite: the IMMEDIATE transaction already serialises writers


# --- e-mails about timeline events -------------------------------------------------------------------


@dataclass
class Outcome:
    status: str  # sent, failed, bounced, cancelled, or skipped (not ours to send now)
    retry_at: datetime | None = None
    message_id: str = ""


def _cancel_reason(delivery: MailDelivery) -> str:
    """Why this e-mail must not go out any more (empty when it may)."""
    user = delivery.recipient
    if not user.is_active:
        return "the recipient's account is inactive"
    if user.staff_role:
        return ""
    if not delivery.event.public:
        return "an internal event is never mailed to a publisher"
    organization = Ticket.objects.filter(pk=delivery.ticket_id).values("organization_id")
    if not Membership.objects.filter(user=user, organization_id__in=organization).exists():
        return "the recipient is no longer a member of the ticket's organisation"
    return ""


def send_delivery(delivery_id: int, *, backend: BaseEmailBackend | None = None) -> Outcome:
    """Claim, send and record one ``MailDelivery``; ``retry_at`` says when to try again after a failure."""
    now = timezone.now()
    token = secrets.token_hex(16)
    claimed = (
        MailDelivery.objects.filter(pk=delivery_id)
        .filter(claimable(now))
        .update(status=SENDING, claimed_at=now, claim_token=token, attempts=F("attempts") + 1, updated_at=now)
    )
    if not claimed:
        return Outcome("skipped")
    delivery = MailDelivery.objects.select_related("event", "recipient").get(pk=delivery_id)
    mine = MailDelivery.objects.filter(pk=delivery_id, claim_token=token, status=SENDING)
    reason = _cancel_reason(delivery)
    if reason:
        mine.update(status="cancelled", last_error=reason, next_attempt_at=None, updated_at=timezone.now())
        return Outcome("cancelled")
    message_id = addresses.delivery_message_id(delivery.pk, delivery.event.hash)
    try:
        email = mail.delivery_message(delivery)
        (backend or django_mail.mailers.default).send_messages([email])
    except Exception as exc:
        now = timezone.now()
        outcome = classify(exc)
        fields = _failure_fields(delivery.attempts, outcome, exc, now)
        if fields.get("next_attempt_at"):
            fields["enqueued_at"] = fields["next_attempt_at"]  # the retry task becomes runnable then
        mine.update(**fields)
        logger.warning("e-mail %s to %s: %s (%s)", delivery_id, delivery.email, fields["status"], exc)
        return Outcome(fields["status"], retry_at=fields.get("next_attempt_at"), message_id=message_id)
    now = timezone.now()
    if not mine.update(status="sent", sent_at=now, message_id=message_id, last_error="", updated_at=now):
        logger.warning("e-mail %s was sent after its claim had been taken back (it may go out twice)", delivery_id)
    return Outcome("sent", message_id=message_id)


# --- customer notices ----------------------------------------------------------------------------------


@dataclass
class SliceReport:
    """What one ``deliver_notice`` run did, and whether (and when) the notice needs another run."""

    sent: int = 0
    failed: int = 0
    bounced: int = 0
    more: bool = False
    run_after: datetime | None = None
    finished: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "failed": self.failed,
            "bounced": self.bounced,
            "more": self.more,
            "run_after": self.run_after.isoformat() if self.run_after else None,
            "finished": self.finished,
        }


@dataclass
class Claim:
    token: str
    rows: list[NoticeRecipient]
    start: float  # wall-clock time (time.time()) the first message may go, for the rate limit
    interval: float  # seconds between two messages (0: no limit)
    customers: dict[int, str] = field(default_factory=dict)


def batch_size() -> int:
    """Recipients per claim (and per SMTP connection); at most ~5 s of sending at the rate limit."""
    rate = settings.NOTICE_RATE_PER_SECOND
    size = settings.NOTICE_BATCH_SIZE
    return max(1, min(size, rate * 5)) if rate else size


def _claim_recipients(notice_id: int, limit: int) -> Claim | None:
    """Claim up to ``limit`` recipients and reserve their slot of the notice's rate (one transaction)."""
    now = timezone.now()
    token = secrets.token_hex(16)
    rate = settings.NOTICE_RATE_PER_SECOND
    with transaction.atomic():
        # The notice row is the rate limiter's clock: every claim reserves the next len(batch)/rate seconds.
        slot = (
            Notice.objects.select_for_update().filter(pk=notice_id).values_list("delivery_slot_at", flat=True).first()
        )
        base = NoticeRecipient.objects.filter(notice_id=notice_id)
        ids = list(_lock_skipping(base.filter(claimable(now)).order_by("id")).values_list("id", flat=True)[:limit])
        if not ids:
            return None
        claimed = (
            NoticeRecipient.objects.filter(id__in=ids)
            .filter(claimable(now))
            .update(status=SENDING, claimed_at=now, claim_token=token, attempts=F("attempts") + 1, updated_at=now)
        )
        start = max(now, slot) if slot else now
        interval = 1.0 / rate if rate else 0.0
        Notice.objects.filter(pk=notice_id).update(
            delivery_heartbeat_at=now, delivery_slot_at=start + timedelta(seconds=interval * claimed)
        )
    if not claimed:
        return None
    rows = list(
        NoticeRecipient.objects.select_related("customer").filter(claim_token=token, status=SENDING).order_by("id")
    )
    return Claim(
        token=token,
        rows=rows,
        start=start.timestamp(),
        interval=interval,
        customers={r.customer_id: r.customer.name for r in rows},
    )


def _record(row: NoticeRecipient, token: str, **fields: Any) -> bool:
    return bool(NoticeRecipient.objects.filter(pk=row.pk, claim_token=token, status=SENDING).update(**fields))


def _record_sent(row: NoticeRecipient, token: str) -> bool:
    """``_record(row, token, status="sent", …)`` as one prepared statement: it runs once per message."""
    table = connection.ops.quote_name(NoticeRecipient._meta.db_table)
    stamp = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, sent_at = %s, updated_at = %s, last_error = '', "  # noqa: S608 — our table
            "next_attempt_at = NULL WHERE id = %s AND claim_token = %s AND status = %s",
            ["sent", stamp, stamp, row.pk, token, SENDING],
        )
        return bool(cursor.rowcount)


def _ensure_message_id(row: NoticeRecipient) -> None:
    """Rows from before Message-IDs were fixed at creation get theirs now, once."""
    if row.message_id:
        return
    candidate = addresses.new_notice_message_id(row.notice_id)
    NoticeRecipient.objects.filter(pk=row.pk, message_id="").update(message_id=candidate)
    row.message_id = NoticeRecipient.objects.filter(pk=row.pk).values_list("message_id", flat=True).get()


def _send_one(backend: BaseEmailBackend, renderer: mail.NoticeRenderer, row: NoticeRecipient, customer: str) -> None:
    """Send over the batch's open connection: prebuilt bytes over SMTP, else through the backend's own API."""
    smtp = getattr(backend, "connection", None)
    if isinstance(backend, SmtpBackend) and smtp is not None:
        raw = renderer.raw(row, customer)
        if raw is not None:
            if renderer.envelope_from is None:
                renderer.envelope_from = backend.prep_address(settings.DEFAULT_FROM_EMAIL)
            smtp.sendmail(renderer.envelope_from, [row.email], raw)
            return
    backend.send_messages([renderer.message(row, customer)])


def _send_batch(renderer: mail.NoticeRenderer, claim: Claim, report: SliceReport) -> None:
    backend: BaseEmailBackend | None = None
    try:
        for index, row in enumerate(claim.rows):
            if claim.interval:
                wait = claim.start + index * claim.interval - time.time()
                if wait > 0:
                    time.sleep(wait)
            try:
                _ensure_message_id(row)
                if backend is None:
                    backend = django_mail.mailers.default
                    backend.open()
                _send_one(backend, renderer, row, claim.customers.get(row.customer_id, ""))
            except Exception as exc:
                outcome = classify(exc)
                _record(row, claim.token, **_failure_fields(row.attempts, outcome, exc, timezone.now()))
                if outcome == "bounced":
                    report.bounced += 1
                else:
                    report.failed += 1
                logger.warning("notice %s to %s: %s (%s)", row.notice_id, row.email, outcome, exc)
                if backend is not None and _connection_broken(exc):
                    _close(backend)
                    backend = None
                continue
            if not _record_sent(row, claim.token):
                logger.warning("notice recipient %s was sent after its claim was taken back", row.pk)
            report.sent += 1
    finally:
        if backend is not None:
            _close(backend)


def _close(backend: BaseEmailBackend) -> None:
    try:
        backend.close()
    except Exception:
        logger.debug("closing the SMTP connection failed", exc_info=True)


def deliver_notice_slice(notice_id: int, *, seconds: float | None = None) -> SliceReport:
    """Send an approved notice to its recipients for up to ``seconds`` (``NOTICE_SLICE_SECONDS``).

    Several runs may work on one notice at once (each claims its own
    batches); each run says whether another is needed (``more``, from
    ``run_after``). The last one to find nothing left marks the notice sent.
    """
    report = SliceReport()
    notice = Notice.objects.select_related("ticket").filter(pk=notice_id).first()
    if notice is None or notice.status not in (NoticeStatus.APPROVED, NoticeStatus.SENDING):
        report.finished = True
        return report
    now = timezone.now()
    Notice.objects.filter(pk=notice_id, status=NoticeStatus.APPROVED).update(
        status=NoticeStatus.SENDING, delivery_started_at=now, delivery_heartbeat_at=now
    )
    version = NoticeVersion.objects.get(notice=notice, number=notice.current_version)
    renderer = mail.NoticeRenderer(notice, version)
    deadline = time.monotonic() + (seconds if seconds is not None else settings.NOTICE_SLICE_SECONDS)
    size = batch_size()
    while time.monotonic() < deadline:
        claim = _claim_recipients(notice_id, size)
        if claim is None:
            break
        _send_batch(renderer, claim, report)
    return _next_step(notice, report)


def _next_step(notice: Notice, report: SliceReport) -> SliceReport:
    now = timezone.now()
    base = NoticeRecipient.objects.filter(notice_id=notice.pk)
    if base.filter(claimable(now)).exists():
        report.more = True
        return report
    waits = base.filter(unfinished()).aggregate(
        retry=Min("next_attempt_at", filter=Q(status="failed")), claimed=Min("claimed_at", filter=Q(status=SENDING))
    )
    moments: list[datetime] = []
    if waits["retry"] is not None:
        moments.append(waits["retry"])
    if waits["claimed"] is not None:
        moments.append(waits["claimed"] + claim_timeout())
    if moments:
        # Nothing to claim now, but something later: a retry, or rows another run holds (and may never finish).
        report.more = True
        report.run_after = max(min(moments), now) + timedelta(seconds=1)
        return report
    report.finished = finish_notice(notice.pk)
    return report


def finish_notice(notice_id: int) -> bool:
    """Mark the notice sent once no recipient needs work; appends ``notice.delivered`` to the timeline once."""
    from secdesk.notices.selectors import recipient_counts

    ticket_id = Notice.objects.filter(pk=notice_id).values_list("ticket_id", flat=True).first()
    if ticket_id is None:
        return True
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket_id)  # the timeline's lock
        if NoticeRecipient.objects.filter(notice_id=notice_id).filter(unfinished()).exists():
            return False
        now = timezone.now()
        done = Notice.objects.filter(pk=notice_id, status__in=[NoticeStatus.APPROVED, NoticeStatus.SENDING]).update(
            status=NoticeStatus.SENT, delivery_finished_at=now, delivery_heartbeat_at=now
        )
        if done:
            notice = Notice.objects.get(pk=notice_id)
            counts = recipient_counts(notice)
            timeline.append(
                ticket,
                "notice.delivered",
                actor=None,
                data={"sent": counts["sent"], "failed": counts["failed"], "bounced": counts["bounced"]},
            )
    return True


__all__ = [
    "DeliveryStatus",
    "Outcome",
    "RecipientStatus",
    "SliceReport",
    "backoff",
    "claimable",
    "classify",
    "deliver_notice_slice",
    "finish_notice",
    "send_delivery",
]
