"""Slowing down guessing: sign-in lockouts (django-axes) and failed API tokens.

* **Who is asking**: :func:`client_ip` is the one rule for the client's
  address, shared by allauth's rate limits, axes and the token throttle:
  ``REMOTE_ADDR``, or, behind ``SECDESK_TRUSTED_PROXY_COUNT`` reverse
  proxies, the address the outermost trusted proxy saw (allauth's
  ``ALLAUTH_TRUSTED_PROXY_COUNT`` reading of ``X-Forwarded-For``).
* **Sign-in** (local accounts, through allauth's form): axes counts failures
  per (e-mail, IP) and, at ``SECDESK_LOGIN_FAILURE_LIMIT``, refuses that pair
  for ``SECDESK_LOGIN_COOLOFF_MINUTES`` even with the right password; the
  person sees :func:`lockout_response` (429 with ``Retry-After``).
* **API tokens**: every failed bearer authentication counts against the
  caller's address (an IPv6 caller's /64) in a fixed window of the shared
  cache; past ``SECDESK_BEARER_FAILURE_LIMIT`` failures in the window the
  failures are answered 429 with ``Retry-After`` instead of 401. A valid
  token is checked before the cache is touched, so successful use costs
  nothing and is never refused: tokens are 256-bit random strings that
  cannot be guessed, and a neighbour behind the same NAT must not lock a
  working integration out.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from datetime import timedelta
from typing import Any

from allauth.account.adapter import get_adapter
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

logger = logging.getLogger("secdesk.accounts.throttle")

BEARER_KEY_PREFIX = "secdesk:bearer-failures"


def client_ip(request: HttpRequest) -> str | None:
    """The client's address as the desk trusts it (see the module docstring); None if unknown."""
    try:
        return str(get_adapter(request).get_client_ip(request))
    except PermissionDenied:  # allauth's way of saying "no address"
        return None


# --- sign-in (django-axes callables, named in settings) ---------------------------------------------


def axes_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """The e-mail address a sign-in was for, lower-cased (allauth posts it as ``login``)."""
    raw = None
    if credentials:
        raw = credentials.get("email") or credentials.get("username") or credentials.get("login")
    if not raw and request is not None and request.method == "POST":
        raw = request.POST.get("login") or request.POST.get("email")
    return str(raw).strip().lower() if raw else None


def cooloff() -> timedelta:
    value = settings.AXES_COOLOFF_TIME
    return value if isinstance(value, timedelta) else timedelta(minutes=15)


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict[str, Any] | None = None
) -> HttpResponse:
    """The page a locked-out sign-in gets: what happened, for how long, what to do (429)."""
    wait = cooloff()
    response = render(
        request,
        "accounts/locked_out.html",
        {
            "minutes": max(1, math.ceil(wait.total_seconds() / 60)),
            "failure_limit": settings.AXES_FAILURE_LIMIT,
        },
        status=429,
    )
    response["Retry-After"] = str(int(wait.total_seconds()))
    response["Cache-Control"] = "no-store"
    return response


# --- API tokens ----------------------------------------------------------------------------------


def _bearer_bucket(request: HttpRequest) -> str:
    ip = client_ip(request) or "unknown"
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if address.version == 6:
        # One IPv6 customer routinely holds a whole /64: count them as one caller.
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _now() -> float:
    return time.time()


def bearer_failed(request: HttpRequest) -> int | None:
    """Count a failed bearer authentication; the seconds to wait if the caller is now over the limit.

    A fixed window (``BEARER_FAILURE_WINDOW`` seconds) per caller: the first
    ``BEARER_FAILURE_LIMIT`` failures in it are ordinary 401s; every later one
    is refused until the window ends. Crossing the limit is logged and
    recorded once per window in the audit log.
    """
    limit = int(settings.BEARER_FAILURE_LIMIT)
    window = int(settings.BEARER_FAILURE_WINDOW)
    if limit <= 0 or window <= 0:
        return None
    now = _now()
    index = int(now // window)
    bucket = _bearer_bucket(request)
    key = f"{BEARER_KEY_PREFIX}:{bucket}:{index}"
    # add() is a no-op when the key exists; incr() is atomic on Redis and good enough on the database cache.
    cache.add(key, 0, timeout=window + 60)
    try:
        failures = cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.set(key, 1, timeout=window + 60)
        failures = 1
    if failures <= limit:
        return None
    if failures == limit + 1:
        from secdesk.accounts import audit

        logger.warning("API token failures from %s passed %s in %ss: refusing them", bucket, limit, window)
        audit.record(
            audit.Kind.LOCKOUT,
            request=request,
            data={"channel": "api_token", "client": bucket, "failures": failures, "window_seconds": window},
        )
    return max(1, math.ceil((index + 1) * window - now))
