"""Routes of this part of the portal, spliced into ``secdesk.web.urls`` (namespace ``web``)."""

from __future__ import annotations

from django.urls import URLPattern, path

from secdesk.web.operations import quarantine, webhooks

urlpatterns: list[URLPattern] = [
    path("operations/quarantine/", quarantine.quarantine_list, name="quarantine"),
    path("operations/quarantine/<int:inbound_id>/", quarantine.quarantine_detail, name="quarantine_detail"),
    path("operations/quarantine/<int:inbound_id>/release/", quarantine.quarantine_release, name="quarantine_release"),
    path("operations/quarantine/<int:inbound_id>/discard/", quarantine.quarantine_discard, name="quarantine_discard"),
    path("operations/webhooks/", webhooks.webhook_list, name="webhooks"),
    path("operations/webhooks/<str:webhook_id>/", webhooks.webhook_detail, name="webhook_detail"),
    path("operations/webhooks/<str:webhook_id>/delete/", webhooks.webhook_delete, name="webhook_delete"),
]
