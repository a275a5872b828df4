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
  ``selectors.py`` scopes every read to the actor.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils.timezone import now

from secdesk.marketplace.models import Customer, CustomerContact
from secdesk.tickets.models import Ticket

SUBJECT_MAX_CHARS = 200
BODY_MAX_CHARS = 50_000


class NoticeStatus(models.TextChoices):
    DRAFT = "draft", "draft"
    APPROVED = "approved", "approved"
    # Set by the delivery work (a later issue).
    SENDING = "sending", "sending"
    SENT = "sent", "sent"


class RecipientStatus(models.TextChoices):
    PENDING = "pending", "pending"
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

    class Meta:
        constraints: ClassVar = [
            # One message per mailbox, however the address is capitalised.
            models.UniqueConstraint("notice", Lower("email"), name="notice_recipient_unique_email"),
        ]
        indexes: ClassVar = [models.Index(fields=["notice", "status", "id"], name="notice_recipient_status")]

    def __str__(self) -> str:
        return f"{self.email} ({self.status})"
