"""Read-only admin views of webhooks; endpoints are managed through the API (``services.py``)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from secdesk.webhooks.models import WebhookCursor, WebhookDelivery, WebhookEndpoint


class ReadOnly:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("public_id", "url", "organization", "active", "created_at", "deleted_at")
    list_filter = ("active",)
    search_fields = ("public_id", "url", "organization__slug")
    exclude = ("secret",)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("public_id", "event_type", "endpoint", "status", "attempts", "response_code", "next_attempt_at")
    list_filter = ("status", "event_type")
    search_fields = ("public_id", "event_id", "endpoint__public_id")
    list_select_related = ("endpoint",)
    raw_id_fields = ("endpoint", "timeline_event")


@admin.register(WebhookCursor)
class WebhookCursorAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("last_event_id", "updated_at")
