"""Read-only admin of tickets: every write goes through the services (and onto the timeline)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from secdesk.tickets.models import Attachment, Breach, Message, PublisherRequest, Ticket, TimelineEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Ticket)
class TicketAdmin(ReadOnlyAdmin):
    list_display = ("confirmation_number", "organization", "category", "status", "severity", "priority", "submitted_at")
    list_filter = ("status", "category", "severity", "priority")
    search_fields = ("confirmation_number",)
    list_select_related = ("organization",)
    exclude = ("search_document", "idempotency_key", "idempotency_fingerprint")


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = ("ticket", "author", "internal", "created_at")
    list_select_related = ("ticket", "author")


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdmin):
    list_display = ("ticket", "filename", "size", "sha256", "created_at")
    list_select_related = ("ticket",)
    exclude = ("storage_name",)


@admin.register(PublisherRequest)
class PublisherRequestAdmin(ReadOnlyAdmin):
    list_display = ("ticket", "kind", "status", "due_at", "breached_at")
    list_select_related = ("ticket",)


@admin.register(TimelineEvent)
class TimelineEventAdmin(ReadOnlyAdmin):
    list_display = ("ticket", "seq", "kind", "actor_label", "public", "created_at")
    list_select_related = ("ticket",)


@admin.register(Breach)
class BreachAdmin(ReadOnlyAdmin):
    list_display = ("ticket", "key", "due_at", "detected_at", "escalated_at")
    list_select_related = ("ticket",)
