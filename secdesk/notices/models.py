"""Customer notices: a co-edited draft with versions, two approvals, a fixed audience.

Invariants:
- one notice per ticket (a one-to-one key); it starts from the publisher's
  answer (iv), ``Ticket.customer_message``, as version 1;
- versions are append-only: an edit adds version ``current_version + 1``
  (``number`` unique per notice) and records the ``base_version`` it was
  edited from; the text is stored raw (Markdown) and never rendered here;
- an approval always concerns the current version: saving a new version
  clears both approvals, and a notice is ``approved`` only once the publisher
  and the marketplace (a lead) have both approved it, by two different people;
- the audience is fixed at approval: one ``NoticeRecipient`` per distinct
  (case-insensitive) contact e-mail, with the address and language copied so
  later changes to the contact do not rewrite history;
- only ``services.py`` writes these rows, under the ticket's row lock;
  ``selectors.py`` scopes every read to the actor — except delivery state
  (``NoticeRecipient.status`` and its claim fields, ``Notice.delivery_*``),
  which ``delivery.py`` moves with conditional UPDATEs.

Outbound e-mail about tickets: ``OutboxCursor`` (how far the outbox drain has
read the timeline) and ``MailDelivery`` (one e-mail per event and recipient,
unique) — see ``outbox.py`` and ``delivery.py``. ``ScheduledJob`` records the
periodic jobs of ``secdesk/schedule.py``.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils.timezone import now

from secdesk.marketplace.models import Customer, CustomerContact
from secdesk.tickets.models import Ticket, TimelineEvent

SUBJECT_MAX_CHARS = 200
BODY_MAX_CHARS = 50_000


class NoticeStatus(models.TextChoices):
    DRAFT = "draft", "draft"
    APPROVED = "approved", "approved"
    # Set by the delivery work (delivery.py): sending from the first run, sent once no recipient needs work.
    SENDING = "sending", "sending"
    SENT = "sent", "sent"


class RecipientStatus(models.TextChoices):
    PENDING = "pending", "pending"
    # Claimed by a delivery worker (``claimed_at``, ``claim_token``); back to pending if it stalls.
    SENDING = "sending", "sending"
    SENT = "sent", "sent"
    FAILED = "failed", "failed"
    BOUNCED = "bounced", "bounced"


class Notice(models.Model):
    """The customer notice of one ticket."""

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="notice")
    status = models.CharField(max_length=16, choices=NoticeStatus.choices, default=NoticeStatus.DRAFT)
    current_version = models.PositiveIntegerField(default=1)
    publisher_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    publisher_approved_at = models.DateTimeField(null=True, blank=True)
    marketplace_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    marketplace_approved_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=now)
    # Delivery progress (``secdesk/notices/delivery.py``): the heartbeat is touched by every batch,
    # so a delivery no worker is working on any more is noticed and restarted.
    delivery_started_at = models.DateTimeField(null=True, blank=True)
    delivery_heartbeat_at = models.DateTimeField(null=True, blank=True)
    delivery_finished_at = models.DateTimeField(null=True, blank=True)
    # The rate limit's clock: every claimed batch reserves the next len(batch) / rate seconds from here.
    delivery_slot_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"notice of {self.ticket_id}"


class NoticeVersion(models.Model):
    """One saved text of a notice; never changed once written."""

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    subject = models.CharField(max_length=SUBJECT_MAX_CHARS)
    body = models.TextField(blank=True, help_text="Markdown, stored raw.")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=now)
    base_version = models.PositiveIntegerField(
        null=True, blank=True, help_text="The version this one was edited from (none for version 1)."
    )

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["notice", "number"], name="notice_version_unique_number"),
        ]
        ordering: ClassVar = ["notice", "number"]

    def __str__(self) -> str:
        return f"version {self.number} of notice {self.notice_id}"


class NoticeRecipient(models.Model):
    """One addressee of an approved notice and the state of its delivery.

    ``email`` and ``language`` are copied from the contact at approval; the
    contact link is kept for reference and cleared if the contact is removed.
    ``message_id`` is fixed when the row is created, so a message sent again
    after a crash carries the same Message-ID. A worker claims a row with a
    conditional UPDATE (``pending``/due ``failed`` → ``sending`` with its
    ``claim_token``) and records the outcome only while it still holds the claim.
    """

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="recipients")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    contact = models.ForeignKey(CustomerContact, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    email = models.EmailField()
    language = models.CharField(max_length=8, blank=True)
    status = models.CharField(max_length=16, choices=RecipientStatus.choices, default=RecipientStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    message_id = models.CharField(max_length=255, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True, help_text="When a failed delivery is retried.")

    class Meta:
        constraints: ClassVar = [
            # One message per mailbox, however the address is capitalised.
            models.UniqueConstraint("notice", Lower("email"), name="notice_recipient_unique_email"),
        ]
        indexes: ClassVar = [
            models.Index(fields=["notice", "status", "id"], name="notice_recipient_status"),
            models.Index(fields=["claimed_at"], name="notice_recipient_claimed", condition=models.Q(status="sending")),
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.status})"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "pending"
    SENDING = "sending", "sending"
    SENT = "sent", "sent"
    FAILED = "failed", "failed"
    BOUNCED = "bounced", "bounced"
    # Not sent on purpose: the recipient lost access to the ticket (or their account) before it went out.
    CANCELLED = "cancelled", "cancelled"


class OutboxCursor(models.Model):
    """How far the outbox drain has read the timeline (one row per ``name``; the mail drain is ``"mail"``).

    ``gaps`` holds event ids below ``last_event_id`` not seen yet, with when they
    were first missed: on PostgreSQL an id is drawn when a row is inserted but the
    row becomes visible when its transaction commits, so a later id can be read
    first. A gap is looked for again on every drain until it shows up or expires
    (a rolled-back insert leaves a gap forever).
    """

    name = models.CharField(max_length=32, unique=True)
    last_event_id = models.BigIntegerField(default=0)
    gaps = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(default=now)

    def __str__(self) -> str:
        return f"{self.name} outbox at event {self.last_event_id}"


class MailDelivery(models.Model):
    """One e-mail about one timeline event to one person, and the state of its delivery.

    Written by the outbox drain (one row per event and recipient: the unique
    constraint makes a second drain of the same event create nothing) and by
    the ``send_mail_delivery`` task, which claims the row with a conditional
    UPDATE so two workers never send it twice. The Message-ID is derived from
    the row id and the event hash, so a repeat carries the same one.
    """

    event = models.ForeignKey(TimelineEvent, on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    email = models.EmailField()
    kind = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    message_id = models.CharField(max_length=255, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["event", "recipient"], name="maildelivery_unique_event_recipient"),
        ]
        indexes: ClassVar = [
            models.Index(fields=["ticket", "id"], name="maildelivery_ticket"),
            models.Index(
                fields=["enqueued_at"],
                name="maildelivery_waiting",
                condition=models.Q(status__in=["pending", "failed"]),
            ),
            models.Index(fields=["claimed_at"], name="maildelivery_claimed", condition=models.Q(status="sending")),
        ]
        verbose_name_plural = "mail deliveries"

    def __str__(self) -> str:
        return f"{self.kind} to {self.email} ({self.status})"


class ScheduledJob(models.Model):
    """When each periodic job of ``secdesk/schedule.py`` last ran, and who ran it.

    A worker runs a due job only after winning a conditional UPDATE of its row
    (``last_started_at`` older than the interval), so with several workers each
    tick runs once. The jobs are idempotent anyway; this only saves the work.
    """

    name = models.CharField(max_length=64, unique=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_worker = models.CharField(max_length=64, blank=True)
    last_result = models.TextField(blank=True)
    last_error = models.TextField(blank=True)
    runs = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return self.name
