"""Two-factor authentication is mandatory for marketplace staff.

A signed-in responder, lead or auditor (or Django admin user) without an
activated TOTP authenticator is sent to ``/accounts/2fa/totp/activate/``
before anything else; the sign-in, 2FA and sign-out pages under
``/accounts/`` and static files stay reachable. The API is for API tokens:
a bearer-token call passes, a browser-session call from such a user is
refused (403), so the session cannot be used to skip the requirement.

``SECDESK_DEMO_RELAX_MFA=1`` (refused in production) turns this off for the
embedded demo; the sign-in page then says so.
"""

from __future__ import annotations

from collections.abc import Callable

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

ACTIVATE_URL = "/accounts/2fa/totp/activate/"
EXEMPT_PREFIXES = ("/accounts/",)
API_PREFIX = "/api/"


def mfa_relaxed() -> bool:
    return bool(getattr(settings, "SECDESK_DEMO_RELAX_MFA", False))


def mfa_required(user: object) -> bool:
    """Whether this signed-in user must have a second factor."""
    return bool(
        getattr(user, "staff_role", "") or getattr(user, "is_staff", False) or getattr(user, "is_superuser", False)
    )


def has_totp(user: object) -> bool:
    return Authenticator.objects.filter(user_id=getattr(user, "pk", None), type=Authenticator.Type.TOTP).exists()


class RequireStaffMfaMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refusal = self._refusal(request)
        return refusal if refusal is not None else self.get_response(request)

    def _refusal(self, request: HttpRequest) -> HttpResponse | None:
        path = request.path_info
        static = settings.STATIC_URL or "/static/"
        if path.startswith(EXEMPT_PREFIXES) or path.startswith(static) or mfa_relaxed():
            return None
        if path.startswith(API_PREFIX) and request.headers.get("Authorization"):
            return None  # an API token: authenticated (or refused) by the API itself
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not mfa_required(user) or has_totp(user):
            return None
        if path.startswith(API_PREFIX):
            return JsonResponse(
                {
                    "type": "urn:secdesk:problem:mfa-required",
                    "title": "Two-factor authentication required",
                    "status": 403,
                    "detail": f"Staff must activate two-factor authentication ({ACTIVATE_URL}) or use an API token.",
                    "instance": request.path,
                },
                status=403,
                content_type="application/problem+json",
            )
        return redirect(reverse("mfa_activate_totp"))
