"""API tokens: created once and shown once, stored as a SHA-256 digest.

Tokens are long random strings, so a fast digest is safe and keeps the
per-request cost tiny (a slow password hash per API call would dominate).
Creating and revoking a token is recorded in the audit log (``audit.py``),
in the same transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from secdesk.accounts import audit
from secdesk.accounts.models import ApiToken, User
from secdesk.domain.errors import Conflict, ErrorList

TOKEN_PREFIX = "sdt_"  # noqa: S105 — a public marker that makes leaked tokens greppable, not a secret
# last_used_at is refreshed at most this often, so reads do not turn into writes.
LAST_USED_RESOLUTION = timedelta(minutes=1)
MAX_EXPIRY_DAYS = 3650


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str


def create_token(
    *,
    user: User,
    name: str = "default",
    scope: str = ApiToken.SCOPE_WRITE,
    expires_in_days: int | None = None,
    actor: User | None = None,
    request: HttpRequest | None = None,
    via: str = "service",
) -> IssuedToken:
    """Issue a token for ``user``; the secret is returned here and never again.

    The audit log records it (``actor`` is who asked: the user on the web
    page, None for the server's operator on the CLI; ``via`` says where).
    """
    errors = ErrorList()
    if scope not in (ApiToken.SCOPE_READ, ApiToken.SCOPE_WRITE):
        errors.add("scope", "must be read or write", code="invalid_choice")
    if not name.strip() or len(name) > 100:
        errors.add("name", "must be 1 to 100 characters", code="invalid")
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
        errors.add("expires_in", f"must be 1 to {MAX_EXPIRY_DAYS} days", code="invalid")
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
        audit.record(
            audit.Kind.TOKEN_CREATED,
            actor=actor,
            request=request,
            subject_email=user.email,
            data={**_described(token), "via": via},
        )
    return IssuedToken(token=token, secret=secret)


def _described(token: ApiToken) -> dict[str, object]:
    return {
        "token_id": token.pk,
        "name": token.name,
        "prefix": token.prefix,
        "scope": token.scope,
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
    }


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


def revoke_token(
    *,
    user: User,
    name: str | None = None,
    token_id: int | None = None,
    actor: User | None = None,
    request: HttpRequest | None = None,
    via: str = "service",
) -> int:
    """Revoke the user's active token(s) called ``name`` (or the one with ``token_id``); returns how many.

    Each revocation is recorded in the audit log; a token of someone else is
    never touched (it counts as not found).
    """
    if (name is None) == (token_id is None):
        raise ValueError("name a token by name or by id")
    which = {"name": name} if name is not None else {"pk": token_id}
    with transaction.atomic():
        found = list(ApiToken.objects.select_for_update().filter(user=user, revoked_at__isnull=True, **which))
        if not found:
            return 0
        now = timezone.now()
        ApiToken.objects.filter(pk__in=[t.pk for t in found]).update(revoked_at=now)
        for token in found:
            audit.record(
                audit.Kind.TOKEN_REVOKED,
                actor=actor,
                request=request,
                subject_email=user.email,
                data={**_described(token), "via": via},
            )
    return len(found)
