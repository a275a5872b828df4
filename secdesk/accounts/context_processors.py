"""Template flags about signing in."""

from __future__ import annotations

from django.http import HttpRequest

from secdesk.accounts.middleware import mfa_relaxed


def sign_in(request: HttpRequest) -> dict[str, bool]:
    """``mfa_relaxed``: the demo does not enforce two-factor authentication for staff."""
    return {"mfa_relaxed": mfa_relaxed()}
