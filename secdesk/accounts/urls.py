"""Routes of the accounts app mounted under ``/accounts/``, ahead of ``allauth.urls``.

Only the sign-in callbacks are replaced, on allauth's own paths, by views that
always verify the id_token (see ``oidc_views``); everything else is allauth's.
"""

from __future__ import annotations

from django.urls import path

from secdesk.accounts import oidc_views

urlpatterns = [
    path("oidc/<str:provider_id>/login/callback/", oidc_views.oidc_callback, name="secdesk_oidc_callback"),
    path("microsoft/login/callback/", oidc_views.microsoft_callback, name="secdesk_microsoft_callback"),
]
