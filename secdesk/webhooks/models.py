"""Webhook endpoints, their deliveries, the attempt log and the drain cursor.

Invariants:
- an endpoint belongs to one publisher organisation, or to the marketplace
  (``organization`` null); a publisher's endpoint only ever gets public
  events of that organisation's tickets;
- ``secret`` signs every delivery (HMAC-SHA256); it is shown once, when the
  endpoint is created, and never returned by the API again;
- one delivery per (endpoint, event id): draining the timeline twice, or by
  two workers, cannot send an event twice to the same endpoint;
- a delivery is claimed for sending with a conditional UPDATE (``pending`` →
  ``sending``), so two senders never send the same delivery at once; a
  claim older than the lease is taken over (the sender died);
- ``WebhookCursor`` is one row: the last timeline event drained, and the
  ids below it not yet seen (transactions that had not committed), which are
  looked at again until they turn up or expire;
- only ``services.py`` and ``dispatch.py`` write these rows.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.timezone import now

from secdesk.accounts.models import Organization
from secdesk.tickets.models import TimelineEvent


class WebhookEndpoint(models.Model):
    """An HTTPS URL that receives signed events."""

    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="webhook_endpoints",
        help_text="The publisher whose tickets it follows; empty for the marketplace (every ticket).",
    )
    public_id = models.CharField(max_length=32, unique=True)
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list, help_text='Event types it receives, or ["*"] for all.')
    secret = models.CharField(max_length=100)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=now)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes: ClassVar = [
            models.Index(fields=["organization", "id"], name="webhook_endpoint_org"),
        ]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return "*" in self.events or event_type in self.events


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "pending"
    SENDING = "sending", "sending"
    DELIVERED = "delivered", "delivered"
    FAILED = "failed", "failed"


class WebhookDelivery(models.Model):
    """One event for one endpoint, with its retry state."""

    public_id = models.CharField(max_length=32, unique=True, help_text="Sent as Secdesk-Delivery")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.CharField(max_length=100, help_text="The event's id, the same for every endpoint")
    event_type = models.CharField(max_length=64)
    timeline_event = models.ForeignKey(
        TimelineEvent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["endpoint", "event_id"], name="webhook_delivery_unique_event"),
        ]
        indexes: ClassVar = [
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_delivery_due",
                condition=models.Q(status__in=["pending", "sending"]),
            ),
            models.Index(fields=["endpoint", "-id"], name="webhook_delivery_endpoint"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} to {self.endpoint_id} ({self.status})"


class WebhookAttempt(models.Model):
    """The delivery log: one row per HTTP attempt."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    at = models.DateTimeField(default=now)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        indexes: ClassVar = [models.Index(fields=["delivery", "number"], name="webhook_attempt_delivery")]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}"


class WebhookCursor(models.Model):
    """How far the timeline has been drained into deliveries (a single row, ``id`` 1)."""

    last_event_id = models.BigIntegerField(default=0)
    pending_ids = models.JSONField(
        default=dict, blank=True, help_text="Ids below the cursor not seen yet → when first missed (ISO 8601)"
    )
    updated_at = models.DateTimeField(default=now)

    def __str__(self) -> str:
        return f"webhooks drained to {self.last_event_id}"
