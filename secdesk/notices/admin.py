"""Read-only admin views of notices: every change goes through ``services.py``."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from secdesk.notices.models import MailDelivery, Notice, NoticeRecipient, NoticeVersion, OutboxCursor, ScheduledJob


class ReadOnly:
    """Neither add, change nor delete: the services own every write (and the timeline)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class NoticeVersionInline(ReadOnly, admin.TabularInline):
    model = NoticeVersion
    fields = ("number", "base_version", "subject", "author", "created_at")
    readonly_fields = fields
    extra = 0
    show_change_link = True


@admin.register(Notice)
class NoticeAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("ticket", "status", "current_version", "publisher_approved_at", "marketplace_approved_at")
    list_filter = ("status",)
    search_fields = ("ticket__confirmation_number",)
    list_select_related = ("ticket",)
    raw_id_fields = ("ticket", "publisher_approved_by", "marketplace_approved_by")
    inlines = (NoticeVersionInline,)


@admin.register(NoticeVersion)
class NoticeVersionAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("notice", "number", "subject", "author", "created_at")
    search_fields = ("notice__ticket__confirmation_number", "subject")
    list_select_related = ("notice__ticket", "author")
    raw_id_fields = ("notice", "author")


@admin.register(NoticeRecipient)
class NoticeRecipientAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("email", "customer", "notice", "status", "attempts", "updated_at")
    list_filter = ("status",)
    search_fields = ("email", "notice__ticket__confirmation_number", "customer__slug")
    list_select_related = ("customer", "notice__ticket")
    raw_id_fields = ("notice", "customer", "contact")


@admin.register(MailDelivery)
class MailDeliveryAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("email", "kind", "ticket", "status", "attempts", "sent_at", "next_attempt_at")
    list_filter = ("status", "kind")
    search_fields = ("email", "ticket__confirmation_number", "message_id")
    list_select_related = ("ticket",)
    raw_id_fields = ("event", "ticket", "recipient")


@admin.register(OutboxCursor)
class OutboxCursorAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("name", "last_event_id", "updated_at")


@admin.register(ScheduledJob)
class ScheduledJobAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("name", "last_started_at", "last_finished_at", "last_worker", "runs", "last_error")
