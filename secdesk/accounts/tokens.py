"""API tokens: created once and shown once, stored as a SHA-256 digest.

Tokens are long random strings, so a fast digest is safe and keeps the
per-request cost tiny (a slow password hash per API call would dominate).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from secdesk.accounts.models import ApiToken, User
from secdesk.domain.errors import Conflict, ErrorList

TOKEN_PREFIX = "sdt_"  # noqa: S105 — a public marker that makes leaked tokens greppable, not a secret
# last_used_at is refreshed at most this often, so reads do not turn into writes.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str


def create_token(
    *, user: User, name: str = "default", scope: str = ApiToken.SCOPE_WRITE, expires_in_days: int | None = None
) -> IssuedToken:
    """Issue a token for ``user``; the secret is returned here and never again."""
    errors = ErrorList()
    if scope not in (ApiToken.SCOPE_READ, ApiToken.SCOPE_WRITE):
        errors.add("scope", "must be read or write", code="invalid_choice")
    if not name.strip() or len(name) > 100:
        errors.add("name", "must be 1 to 100 characters", code="invalid")
    if expires_in_days is not None and expires_in_days < 1:
        errors.add("expires_in", "must be at least one day", code="invalid")
    errors.raise_if_any()
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
    with transaction.atomic():
        if ApiToken.objects.filter(user=user, name=name, revoked_at__isnull=True).exists():
            raise Conflict(f"an active token named {name!r} already exists")
        token = ApiToken.objects.create(
            user=user,
            name=name.strip(),
            digest=digest(secret),
            prefix=secret[: len(TOKEN_PREFIX) + 4],
            scope=scope,
            expires_at=expires_at,
        )
    return IssuedToken(token=token, secret=secret)


def authenticate(secret: str) -> ApiToken | None:
    """The active token for ``secret``, or None (unknown, revoked, expired, inactive user)."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    token = ApiToken.objects.select_related("user").filter(digest=digest(secret)).first()
    now = timezone.now()
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def revoke_token(*, user: User, name: str) -> int:
    """Revoke the user's active token(s) called ``name``; returns how many."""
    return ApiToken.objects.filter(user=user, name=name, revoked_at__isnull=True).update(revoked_at=timezone.now())
