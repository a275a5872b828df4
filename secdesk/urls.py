"""Top-level routes: the admin for staff and the versioned REST API."""

from django.contrib import admin
from django.urls import path

from secdesk.api.root import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]
