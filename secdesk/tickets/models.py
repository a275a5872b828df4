"""Tickets and everything attached to them.

Invariants:
- ``confirmation_number`` is unique (a database constraint), drawn at random
  when the ticket is created and shown from the moment it is submitted;
- ``cvss`` holds scores recomputed from the vectors by the domain, never
  copied from input; ``suggested_severity`` is the highest of them;
- only ``services.py`` writes these rows; ``selectors.py`` scopes reads;
- ``TimelineEvent`` rows are append-only and hash-chained per ticket.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.timezone import now

from secdesk.accounts.models import Organization
from secdesk.domain.lifecycle import Status
from secdesk.marketplace.models import Offer

STATUS_CHOICES = [(s.value, s.value) for s in Status]
SEVERITY_CHOICES = [(s, s) for s in ("none", "low", "medium", "high", "critical")]
PRIORITY_CHOICES = [(p, p) for p in ("P1", "P2", "P3", "P4")]


class Category(models.TextChoices):
    SECURITY_INCIDENT = "security_incident", "Security incident"
    VULNERABILITY = "vulnerability", "Vulnerability"


class Mitigation(models.TextChoices):
    NONE = "none", "No fix or mitigation yet"
    WORKAROUND = "workaround", "Workaround"
    FIX_AVAILABLE = "fix_available", "Fix available"


class Ticket(models.Model):
    """A security event reported by a publisher about one or more of its offers."""

    PROBLEM_TYPE = "security_incident"

    confirmation_number = models.CharField(max_length=20, unique=True)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="tickets")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    offers = models.ManyToManyField(Offer, related_name="tickets")
    problem_type = models.CharField(max_length=32, default=PROBLEM_TYPE)
    category = models.CharField(max_length=32, choices=Category.choices)
    status = models.CharField(max_length=32, choices=STATUS_CHOICES, default=Status.DRAFT.value)

    # The four answers.
    description = models.TextField(blank=True)
    cvss = models.JSONField(default=list, blank=True)
    cve_ids = models.JSONField(default=list, blank=True)
    cwe_ids = models.JSONField(default=list, blank=True)
    mitigation = models.CharField(max_length=32, choices=Mitigation.choices, blank=True)
    remediation_steps = models.TextField(blank=True)
    customer_message = models.TextField(blank=True)

    suggested_severity = models.CharField(max_length=16, choices=SEVERITY_CHOICES, blank=True)
    severity = models.CharField(max_length=16, choices=SEVERITY_CHOICES, blank=True)
    priority = models.CharField(max_length=4, choices=PRIORITY_CHOICES, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledgement_due = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    # A retried create with the same key returns the first ticket.
    # NULL (not "") when absent, so the partial unique constraint ignores keyless tickets.
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001 — see above
    idempotency_fingerprint = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["created_by", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="ticket_unique_idempotency_key",
            ),
        ]
        indexes: ClassVar = [
            models.Index(fields=["organization", "-id"], name="ticket_org_id"),
            models.Index(fields=["status", "-id"], name="ticket_status_id"),
        ]

    def __str__(self) -> str:
        return self.confirmation_number


class Message(models.Model):
    """One message in a ticket's thread; ``internal`` notes are for staff only."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    body = models.TextField()
    internal = models.BooleanField(default=False)
    from_marketplace = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=now)

    class Meta:
        indexes: ClassVar = [models.Index(fields=["ticket", "id"], name="message_ticket_id")]

    def __str__(self) -> str:
        return f"message {self.pk} on {self.ticket_id}"


class Attachment(models.Model):
    """A file attached to a message, stored outside the web root under a random name."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    public_id = models.CharField(max_length=32, unique=True)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=127)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    storage_name = models.CharField(max_length=100, unique=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=now)

    def __str__(self) -> str:
        return self.filename


class TimelineEvent(models.Model):
    """An append-only record of a change; ``hash`` covers the event and the previous hash."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="timeline")
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=64)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=254, blank=True)
    public = models.BooleanField(default=True, help_text="Visible to the publisher.")
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=now)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        constraints: ClassVar = [models.UniqueConstraint(fields=["ticket", "seq"], name="timeline_unique_seq")]
        ordering: ClassVar = ["ticket", "seq"]

    def __str__(self) -> str:
        return f"{self.kind} #{self.seq}"
