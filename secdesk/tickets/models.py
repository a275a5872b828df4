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

from datetime import UTC, datetime
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.timezone import now

from secdesk.accounts.models import Organization
from secdesk.domain.lifecycle import OPEN_STATUSES, Status
from secdesk.marketplace.models import Offer, Plan

# Sorts after every real deadline, so "no deadline" can share the keyset index.
NO_DEADLINE = datetime(9999, 12, 31, tzinfo=UTC)
OPEN_STATUS_VALUES = sorted(s.value for s in OPEN_STATUSES)

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
    offers: models.ManyToManyField[Offer, TicketOffer] = models.ManyToManyField(
        Offer, related_name="tickets", through="TicketOffer"
    )
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

    actively_exploited = models.BooleanField(default=False)
    affected_plans = models.ManyToManyField(Plan, related_name="tickets", blank=True)
    affected_versions = models.JSONField(default=list, blank=True)
    affected_customers = models.PositiveIntegerField(default=0)
    assessment_outcome = models.CharField(max_length=32, blank=True)
    duplicate_of = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    close_reason = models.CharField(max_length=32, blank=True)
    resolution = models.TextField(blank=True)

    # Clocks. ``due_at`` is the next deadline the marketplace owes (the
    # acknowledgement, then remediation), NO_DEADLINE when none runs; the
    # triage queue is ordered on it.
    due_at = models.DateTimeField(default=NO_DEADLINE)
    remediation_due = models.DateTimeField(null=True, blank=True)
    remediation_paused_at = models.DateTimeField(null=True, blank=True)
    remediation_paused_seconds = models.PositiveBigIntegerField(default=0)
    breached = models.BooleanField(default=False)
    ack_breached_at = models.DateTimeField(null=True, blank=True)
    remediation_breached_at = models.DateTimeField(null=True, blank=True)

    # Text of the ticket and its thread, kept by the services for full-text search.
    search_document = models.TextField(blank=True)

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
            # The triage queue: open tickets by what is due first, optionally narrowed.
            models.Index(fields=["due_at", "id"], name="queue_due", condition=models.Q(status__in=OPEN_STATUS_VALUES)),
            *[
                models.Index(
                    fields=[name, "due_at", "id"],
                    name=f"queue_{short}_due",
                    condition=models.Q(status__in=OPEN_STATUS_VALUES),
                )
                for name, short in (
                    ("status", "status"),
                    ("severity", "sev"),
                    ("priority", "prio"),
                    ("assignee", "assignee"),
                    ("organization", "org"),
                    ("category", "cat"),
                    ("breached", "breach"),
                )
            ],
            # The breach sweep looks only at running clocks.
            models.Index(
                fields=["acknowledgement_due"],
                name="sweep_ack",
                condition=models.Q(status="submitted", ack_breached_at__isnull=True),
            ),
            models.Index(
                fields=["remediation_due"],
                name="sweep_remediation",
                condition=models.Q(remediation_breached_at__isnull=True, remediation_paused_at__isnull=True)
                & models.Q(status__in=OPEN_STATUS_VALUES),
            ),
            # The dashboard (secdesk/triage/metrics.py): each of its three ticket queries reads a window or a
            # group of tickets from one of these alone, every column it needs in the index (bench/pages.py).
            models.Index(
                fields=["submitted_at", "acknowledged_at", "acknowledgement_due", "ack_breached_at", "status"],
                name="dashboard_ack",
                condition=models.Q(submitted_at__isnull=False),
            ),
            models.Index(
                fields=["remediation_due", "remediation_breached_at", "status", "close_reason"],
                name="dashboard_remediation",
                condition=models.Q(remediation_due__isnull=False),
            ),
            # Not partial: SQLite uses a partial index only when the query spells its predicate with literals.
            models.Index(fields=["status", "severity", "submitted_at"], name="dashboard_open_age"),
        ]

    def __str__(self) -> str:
        return self.confirmation_number


class TicketOffer(models.Model):
    """One offer of a ticket: the table behind ``Ticket.offers``, carrying copies of the ticket's queue keys.

    ``status`` and ``due_at`` repeat the ticket's, so that the partial index
    ``queue_offer_due`` narrows to one offer *and* reads its open tickets in
    deadline order (the triage queue's offer filter; on the ticket alone no
    index can do both). The database keeps the copies in step, not the
    application: triggers (migration ``tickets.0004``, described in
    :mod:`secdesk.tickets.offer_keys`) copy the ticket's values into a row
    when it is inserted, and into every row of a ticket whenever its
    ``status`` or ``due_at`` changes, in the same statement — whichever code
    writes them (a service, ``QuerySet.update``, raw SQL, the admin). Never
    write these two fields here; the defaults only fill the insert that the
    trigger then corrects.
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="offer_links")
    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=32, choices=STATUS_CHOICES, default=Status.DRAFT.value, editable=False)
    due_at = models.DateTimeField(default=NO_DEADLINE, editable=False)

    class Meta:
        # The table, its name and its unique pair are those Django made for the implicit
        # many-to-many (migration 0004 only adopted them).
        db_table = "tickets_ticket_offers"
        unique_together: ClassVar = [("ticket", "offer")]
        indexes: ClassVar = [
            # The triage queue filtered on an offer: that offer's open tickets by what is due first.
            models.Index(
                fields=["offer", "due_at", "ticket"],
                name="queue_offer_due",
                condition=models.Q(status__in=OPEN_STATUS_VALUES),
            ),
        ]

    def __str__(self) -> str:
        return f"offer {self.offer_id} of ticket {self.ticket_id}"


class Message(models.Model):
    """One message in a ticket's thread; ``internal`` notes are for staff only.

    ``body`` is the message as written (or, for what the desk says itself, in English); a message the
    desk writes also carries its ``kind`` and ``facts`` (the outcome, the offer, the reason...), so that
    each reader's page can say it in the reader's language. A person's message has no kind.
    """

    class Kind(models.TextChoices):
        WRITTEN = "", "written by a person"
        ASSESSMENT = "assessment", "assessment result"
        OFFER_ACTION = "offer_action", "offer action"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    body = models.TextField()
    kind = models.CharField(max_length=32, choices=Kind.choices, default=Kind.WRITTEN, blank=True)
    facts = models.JSONField(default=dict, blank=True)
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


class RequestKind(models.TextChoices):
    INFORMATION = "information", "Provide information"
    AFFECTED_VERSIONS = "affected_versions", "Confirm affected versions/plans"
    MODIFY_OFFER = "modify_offer", "Modify the offer"
    REMOVE_OFFER = "remove_offer", "Remove the offer"
    APPROVE_NOTICE = "approve_notice", "Approve the customer notice"


class RequestStatus(models.TextChoices):
    OPEN = "open", "open"  # the ball is with the publisher
    EXTENSION_REQUESTED = "extension_requested", "extension requested"  # the ball is with the marketplace
    DONE = "done", "done"
    DECLINED = "declined", "declined"
    WITHDRAWN = "withdrawn", "withdrawn"


class PublisherRequest(models.Model):
    """ "What we need from you": a typed request to the publisher with a due date.

    Invariants: answered once per step (done / declined with reason /
    extension asked with reason and proposed date); an extension decision
    moves ``due_at`` only when granted. Written only by the request services
    under the ticket row lock.
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="requests")
    public_id = models.CharField(max_length=16, unique=True)
    kind = models.CharField(max_length=32, choices=RequestKind.choices)
    description = models.TextField()
    offer = models.ForeignKey(Offer, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    due_at = models.DateTimeField()
    status = models.CharField(max_length=32, choices=RequestStatus.choices, default=RequestStatus.OPEN)
    answer = models.TextField(blank=True)
    decline_reason = models.TextField(blank=True)
    extension_reason = models.TextField(blank=True)
    extension_proposed_due = models.DateTimeField(null=True, blank=True)
    extension_decision = models.CharField(max_length=16, blank=True)
    extension_decision_reason = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=now)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes: ClassVar = [
            models.Index(fields=["ticket", "id"], name="request_ticket"),
            models.Index(
                fields=["due_at"], name="sweep_request", condition=models.Q(status="open", breached_at__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} on {self.ticket_id}"


class Breach(models.Model):
    """A missed deadline, recorded once: ``key`` is unique per ticket, so a sweep
    run twice (or by two workers at once) can neither record nor escalate it twice."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="breaches")
    key = models.CharField(max_length=64)  # "acknowledgement", "remediation", "request:<public_id>"
    kind = models.CharField(max_length=32)
    due_at = models.DateTimeField()
    detected_at = models.DateTimeField(default=now)
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [models.UniqueConstraint(fields=["ticket", "key"], name="breach_unique_key")]

    def __str__(self) -> str:
        return f"{self.key} breach on {self.ticket_id}"
