"""Signing webhook deliveries, and how a receiver verifies them.

Every delivery is an HTTP ``POST`` with a JSON body and these headers::

    Content-Type: application/json
    Secdesk-Event: ticket.acknowledged
    Secdesk-Delivery: dlv_5f0c…            (the same on every retry of this delivery)
    Secdesk-Signature: t=1764064800,v1=3b1f…

``v1`` is the lower-case hex HMAC-SHA256, keyed with the endpoint's secret
(the ``whsec_…`` string shown once when the endpoint was created, used as
UTF-8 bytes), of the timestamp, a dot and the raw request body::

    v1 = hex(HMAC_SHA256(secret, f"{t}.".encode() + body))

To verify, a receiver:

1. reads the raw body bytes (before any JSON parsing — re-serialised JSON
   will not match);
2. splits the header on ``,`` into ``key=value`` pairs, takes ``t`` and every
   ``v1`` (more than one ``v1`` may appear while a secret is being rotated);
3. computes the HMAC above and compares it with each ``v1`` in constant time
   (``hmac.compare_digest``);
4. refuses the delivery when ``|now - t|`` exceeds **300 seconds** (the
   replay window): a captured request cannot be replayed later, and every
   retry is signed afresh with the time it is sent;
5. de-duplicates on the payload's ``id`` (or ``Secdesk-Delivery``): delivery
   is at-least-once.

Answer any 2xx within 10 seconds to acknowledge; anything else (or no
answer) is retried with exponential backoff, ``410 Gone`` stops retries.

A receiver in Python::

    import hashlib, hmac, time

    def verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
        fields = [item.split("=", 1) for item in header.split(",") if "=" in item]
        stamps = [v for k, v in fields if k.strip() == "t"]
        signatures = [v.strip() for k, v in fields if k.strip() == "v1"]
        if len(stamps) != 1 or not stamps[0].strip().isdigit() or not signatures:
            return False
        if abs(time.time() - int(stamps[0])) > tolerance:
            return False
        expected = hmac.new(secret.encode(), stamps[0].strip().encode() + b"." + body, hashlib.sha256).hexdigest()
        return any(hmac.compare_digest(expected, s) for s in signatures)
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Final

REPLAY_WINDOW_SECONDS: Final = 300
SECRET_PREFIX: Final = "whsec_"  # noqa: S105 — a prefix, not a secret


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def header(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    """The ``Secdesk-Signature`` value for ``body`` sent at ``timestamp`` (now by default)."""
    stamp = int(time.time()) if timestamp is None else timestamp
    return f"t={stamp},v1={signature(secret, stamp, body)}"


def verify(
    secret: str, value: str, body: bytes, *, now: float | None = None, tolerance: int = REPLAY_WINDOW_SECONDS
) -> bool:
    """The receiver's check (see the module docstring); the desk's own tests use an independent one."""
    fields = [item.split("=", 1) for item in value.split(",") if "=" in item]
    stamps = [v.strip() for k, v in fields if k.strip() == "t"]
    signatures = [v.strip() for k, v in fields if k.strip() == "v1"]
    if len(stamps) != 1 or not stamps[0].isdigit() or not signatures:
        return False
    current = time.time() if now is None else now
    if abs(current - int(stamps[0])) > tolerance:
        return False
    expected = signature(secret, int(stamps[0]), body)
    return any(hmac.compare_digest(expected, candidate) for candidate in signatures)
