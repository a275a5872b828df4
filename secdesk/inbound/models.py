"""Every inbound e-mail the desk received, with what became of it.

Invariants:
- one row per message received, raw bytes kept (``raw``), whatever the outcome;
- ``message_id`` (the Message-ID, or a digest of the raw bytes when there is
  none) is unique among rows that are not ``duplicate``: the same message
  delivered twice (two MTAs, a retried poll, a crash before the IMAP move) is
  posted once, and the later copies are recorded as ``duplicate``;
- a ``posted`` row names the ticket message it became; ``quarantined`` and
  ``malformed`` rows wait for staff, who release them onto a ticket (posted
  as the marketplace) or discard them;
- only ``services.py`` writes these rows.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.timezone import now

from secdesk.tickets.models import Message, Ticket


class InboundStatus(models.TextChoices):
    POSTED = "posted", "posted"
    QUARANTINED = "quarantined", "quarantined"
    IGNORED_AUTO_REPLY = "ignored_auto_reply", "ignored (auto-reply or bounce)"
    MALFORMED = "malformed", "malformed"
    DUPLICATE = "duplicate", "duplicate"
    DISCARDED = "discarded", "discarded"


#: What staff can act on.
WAITING_STATUSES = (InboundStatus.QUARANTINED, InboundStatus.MALFORMED)


class InboundMessage(models.Model):
    """One e-mail received by IMAP polling or the LMTP gateway."""

    received_at = models.DateTimeField(default=now)
    source = models.CharField(max_length=16, help_text="imap, lmtp or api")
    message_id = models.CharField(max_length=255, help_text="Message-ID, or sha256:<digest> of the raw bytes")
    status = models.CharField(max_length=32, choices=InboundStatus.choices)
    reason = models.CharField(max_length=500, blank=True)
    sender = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=500, blank=True)
    threaded_by = models.CharField(max_length=32, blank=True, help_text="reply_token, subject or references")
    ticket = models.ForeignKey(Ticket, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    posted_message = models.ForeignKey(Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    duplicate_of = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    excerpt = models.TextField(blank=True, help_text="The start of the reply text, for staff deciding")
    attachments = models.JSONField(default=list, blank=True, help_text="[{filename, content_type, size}]")
    raw = models.BinaryField()
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["message_id"],
                condition=~models.Q(status="duplicate"),
                name="inbound_unique_message_id",
            ),
        ]
        indexes: ClassVar = [models.Index(fields=["status", "-id"], name="inbound_status_id")]

    def __str__(self) -> str:
        return f"{self.message_id} ({self.status})"
