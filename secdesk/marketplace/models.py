"""The marketplace: offers with plans/versions, customers and their deployments.

A deployment (customer x offer x plan/version) is how the affected
customers of a ticket are computed.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.timezone import now

from secdesk.accounts.models import Organization


class OfferStatus(models.TextChoices):
    LIVE = "live", "live"
    MODIFICATION_REQUESTED = "modification_requested", "modification requested"
    SUSPENDED = "suspended", "suspended"
    DELISTED = "delisted", "delisted"


class Offer(models.Model):
    """A marketplace listing owned by one publisher; referenced by ``slug`` in the API."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="offers")
    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=32, choices=OfferStatus.choices, default=OfferStatus.LIVE)
    security_contact = models.EmailField(blank=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        indexes: ClassVar = [models.Index(fields=["organization", "slug"], name="offer_org_slug")]

    def __str__(self) -> str:
        return self.name


class Plan(models.Model):
    """A plan of an offer, with the version currently sold under it."""

    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="plans")
    slug = models.SlugField(max_length=80)
    name = models.CharField(max_length=200)
    version = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints: ClassVar = [models.UniqueConstraint(fields=["offer", "slug"], name="plan_unique_offer_slug")]

    def __str__(self) -> str:
        return f"{self.offer.slug}/{self.slug}"


class Customer(models.Model):
    """A customer tenant of the marketplace."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    tenant_id = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(default=now)

    def __str__(self) -> str:
        return self.name


class CustomerContact(models.Model):
    """A person at a customer tenant who receives security notices."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField()
    language = models.CharField(max_length=8, default="en")

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["customer", "email"], name="contact_unique_customer_email")
        ]

    def __str__(self) -> str:
        return self.email


class Deployment(models.Model):
    """A customer running an offer on a plan at a version."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="deployments")
    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="deployments")
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="deployments", null=True, blank=True)
    version = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["customer", "offer", "plan", "version"], name="deployment_unique_customer_offer_plan"
            )
        ]
        indexes: ClassVar = [models.Index(fields=["offer", "plan"], name="deployment_offer_plan")]

    def __str__(self) -> str:
        return f"{self.customer} runs {self.offer} {self.version}".strip()


class OfferActionKind(models.TextChoices):
    SUSPEND = "suspend", "suspend"
    DELIST = "delist", "delist"
    REINSTATE = "reinstate", "reinstate"


class OfferAction(models.Model):
    """An enforcement by the marketplace on an offer, with its reason and review date.

    Rows are append-only: reversing an action is a new ``reinstate`` row.
    """

    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="actions")
    action = models.CharField(max_length=16, choices=OfferActionKind.choices)
    reason = models.TextField()
    review_date = models.DateField(null=True, blank=True)
    previous_status = models.CharField(max_length=32, choices=OfferStatus.choices)
    new_status = models.CharField(max_length=32, choices=OfferStatus.choices)
    # A string reference: the tickets app sits above this one.
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    taken_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    taken_at = models.DateTimeField(default=now)

    class Meta:
        indexes: ClassVar = [models.Index(fields=["offer", "-taken_at"], name="offer_action_offer")]

    def __str__(self) -> str:
        return f"{self.action} {self.offer_id}"
