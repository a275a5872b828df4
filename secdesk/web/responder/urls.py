"""Routes of this part of the portal, spliced into ``secdesk.web.urls`` (namespace ``web``)."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
