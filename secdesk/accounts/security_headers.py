"""Response headers Django does not set itself: ``Permissions-Policy``.

The desk uses no camera, microphone, location, payment or sensor API, so
every page says so (``settings.PERMISSIONS_POLICY``); a page that set its own
header keeps it. The other security headers come from Django's settings
(CSP, ``X-Content-Type-Options``, ``Referrer-Policy``,
``Cross-Origin-Opener-Policy``, ``X-Frame-Options``, HSTS in production).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


class PermissionsPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = getattr(settings, "PERMISSIONS_POLICY", "")
        if policy and "Permissions-Policy" not in response:
            response["Permissions-Policy"] = policy
        return response
