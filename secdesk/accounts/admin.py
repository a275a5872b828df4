"""Admin views of organisations' sign-in mapping and of people waiting to join.

An organisation's Entra ID tenant id and e-mail domains are configuration and
are edited here. Membership requests and invitations are read-only: they are
decided through ``services.py`` (the API), which checks who may. The security
audit log is append-only and shown read-only.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from secdesk.accounts.models import AuditEvent, Invitation, MembershipRequest, Organization, OrganizationDomain


class ReadOnly:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OrganizationDomainInline(admin.TabularInline):
    model = OrganizationDomain
    extra = 1


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "oidc_tenant_id")
    search_fields = ("name", "slug", "oidc_tenant_id", "email_domains__domain")
    fields = ("name", "slug", "oidc_tenant_id")
    inlines = (OrganizationDomainInline,)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # organisations own tickets and offers


@admin.register(MembershipRequest)
class MembershipRequestAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("email", "organization", "source", "status", "requested_at", "decided_by", "decided_at")
    list_filter = ("status",)
    search_fields = ("email", "organization__slug")
    list_select_related = ("organization", "decided_by")


@admin.register(Invitation)
class InvitationAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("email", "organization", "role", "invited_by", "created_at", "expires_at", "accepted_at")
    search_fields = ("email", "organization__slug")
    list_select_related = ("organization", "invited_by")


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("at", "kind", "actor_email", "subject_email", "ip")
    list_filter = ("kind",)
    search_fields = ("subject_email", "actor_email", "ip")
    date_hierarchy = "at"
    ordering = ("-id",)
    show_full_result_count = False  # counting a large log on every page is slow
