"""Admin for marketplace reference data: staff keep offers, plans, customers and deployments here.

Offer *status* changes are enforcement and go through the offer-action service
(with reason, review date and timeline), so the status is read-only here and
offer actions are listed, never edited.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from secdesk.marketplace.models import Customer, CustomerContact, Deployment, Offer, OfferAction, Plan


class PlanInline(admin.TabularInline):
    model = Plan
    extra = 0


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "organization", "status")
    list_filter = ("status", "organization")
    search_fields = ("slug", "name")
    readonly_fields = ("status",)
    inlines = (PlanInline,)


class ContactInline(admin.TabularInline):
    model = CustomerContact
    extra = 0


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "tenant_id")
    search_fields = ("slug", "name", "tenant_id")
    inlines = (ContactInline,)


@admin.register(Deployment)
class DeploymentAdmin(admin.ModelAdmin):
    list_display = ("customer", "offer", "plan", "version")
    list_filter = ("offer",)
    search_fields = ("customer__name", "offer__slug", "version")
    list_select_related = ("customer", "offer", "plan")


@admin.register(OfferAction)
class OfferActionAdmin(admin.ModelAdmin):
    list_display = ("offer", "action", "previous_status", "new_status", "taken_by", "taken_at", "review_date")
    list_select_related = ("offer", "taken_by")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
