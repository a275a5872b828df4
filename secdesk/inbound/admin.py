"""Read-only admin views of inbound e-mail: staff decide through the API (``services.py``), never here."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from secdesk.inbound.models import InboundMessage


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    list_display = ("received_at", "status", "sender", "subject", "ticket", "source", "size")
    list_filter = ("status", "source")
    search_fields = ("sender", "subject", "message_id", "ticket__confirmation_number")
    list_select_related = ("ticket",)
    raw_id_fields = ("ticket", "posted_message", "duplicate_of", "decided_by")
    exclude = ("raw",)  # never rendered: it is hostile input

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
