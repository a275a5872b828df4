"""Routes of the accounts app.

``urlpatterns`` are mounted under ``/accounts/``, ahead of ``allauth.urls``:
only the sign-in callbacks are replaced, on allauth's own paths, by views that
always verify the id_token (see ``oidc_views``); everything else is allauth's.

``account_urlpatterns`` are the signed-in person's own pages, mounted under
``/account/`` — deliberately outside ``/accounts/``, which staff without a
second factor may still reach: an API token must not be had without MFA.
"""

from __future__ import annotations

from django.urls import path

from secdesk.accounts import oidc_views, views

urlpatterns = [
    path("oidc/<str:provider_id>/login/callback/", oidc_views.oidc_callback, name="secdesk_oidc_callback"),
    path("microsoft/login/callback/", oidc_views.microsoft_callback, name="secdesk_microsoft_callback"),
]

account_urlpatterns = [
    path("tokens/", views.api_tokens, name="tokens"),
    path("tokens/<int:token_id>/revoke/", views.revoke_api_token, name="token_revoke"),
]
