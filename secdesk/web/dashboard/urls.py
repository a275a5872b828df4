"""Routes of this part of the portal, spliced into ``secdesk.web.urls`` (namespace ``web``)."""

from __future__ import annotations

from django.urls import URLPattern, path

from secdesk.web.dashboard import views

urlpatterns: list[URLPattern] = [
    path("dashboard/", views.dashboard, name="dashboard"),
]
