"""Who is calling: a bearer API token or a signed-in browser session.

Both end as ``request.actor`` (the domain ``Actor``); a read-scoped token
produces an actor that may change nothing.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.errors import AuthenticationError, Throttled
from ninja.security import APIKeyCookie, HttpBearer
from ninja.security.session import SessionAuth

from secdesk.accounts import throttle, tokens
from secdesk.accounts.actors import actor_for
from secdesk.accounts.models import ApiToken
from secdesk.domain.policy import ANONYMOUS, Actor


class BearerToken(HttpBearer):
    """``Authorization: Bearer sdt_…``; unknown, revoked and expired tokens are refused alike.

    A token that fails is answered 401 even if a session cookie came along; repeated failures from
    one address are answered 429 (``Retry-After``); a valid token never is.
    """

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        found = tokens.authenticate(token)
        if found is None:
            # Failures count per client address; past the limit they get 429 (see accounts/throttle.py).
            wait = throttle.bearer_failed(request)
            if wait is not None:
                raise Throttled(wait=wait)
            # A presented token that fails is refused outright: no falling back to a session cookie.
            raise AuthenticationError()
        request.user = found.user
        request.actor = actor_for(found.user, write_allowed=found.scope == ApiToken.SCOPE_WRITE)  # type: ignore[attr-defined]  # adapter-owned request attribute
        return found.user


class BrowserSession(SessionAuth):
    """The web session (CSRF-checked by ninja on unsafe methods)."""

    def _get_key(self, request: HttpRequest) -> str | None:
        # Without a session cookie there is nothing to forge: skip the CSRF check so
        # that an unauthenticated POST is answered 401 (not a CSRF 403) like a GET.
        if not request.COOKIES.get(self.param_name):
            return None
        return super()._get_key(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if user:
            request.actor = actor_for(user)  # type: ignore[attr-defined]  # adapter-owned request attribute
        return user


def actor_of(request: HttpRequest) -> Actor:
    actor = getattr(request, "actor", None)
    return actor if isinstance(actor, Actor) else ANONYMOUS


AUTH: list[APIKeyCookie | HttpBearer] = [BearerToken(), BrowserSession()]
