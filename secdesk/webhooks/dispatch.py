"""Webhook dispatch: :func:`drain` turns timeline events into deliveries, :func:`send_due` sends them.

Both are idempotent and safe to run from several workers at once; the
schedule runs them every few seconds (``secdesk.webhooks.tasks``).

**Who gets what.** A publisher's endpoint gets only events of its own
organisation's tickets, and only public ones (what the publisher sees on the
ticket's timeline; internal notes, assignments and other staff-only events
never leave the desk for a publisher). A marketplace endpoint gets every
event of every ticket once it is submitted (drafts are the publisher's own).
An endpoint gets events that happen after it was created, of the types it
subscribed to.

**Draining.** A one-row cursor (``WebhookCursor``) remembers the last
timeline event drained. Ids below it that were not visible yet (a
transaction that had taken an id but not committed) are remembered and
looked at again on every drain until they show up or
:data:`PENDING_ID_TTL` passes (a rolled-back transaction leaves a gap for
ever). Deliveries are unique per (endpoint, event id), so draining an event
twice creates nothing new.

**Sending.** Each due delivery is claimed with a conditional UPDATE
(``pending`` → ``sending``; a ``sending`` claim older than
:data:`LEASE` is taken over), sent once with a fresh signature (see
``signing.py`` for the scheme and its 5-minute replay window), and logged
(``WebhookAttempt``). A 2xx delivers it; anything else schedules the next
attempt after ``SECDESK_WEBHOOK_RETRY_BASE_SECONDS * 2^(attempt-1)`` (±10 %,
at most a day) until ``SECDESK_WEBHOOK_MAX_ATTEMPTS``; ``410 Gone`` fails it
at once. No redirects are followed; in production the endpoint must be
https and resolve to public addresses only.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import random
import secrets
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from secdesk.tickets.models import TimelineEvent
from secdesk.webhooks import events, signing
from secdesk.webhooks.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookCursor,
    WebhookDelivery,
    WebhookEndpoint,
)

logger = logging.getLogger("secdesk.webhooks")

BATCH: Final = 500
PENDING_ID_TTL: Final = timedelta(minutes=10)
MAX_PENDING_IDS: Final = 10_000
LEASE: Final = timedelta(minutes=5)
MAX_DELAY: Final = timedelta(days=1)
USER_AGENT: Final = "secdesk-webhooks/1"


# -- draining --------------------------------------------------------------------------------------------


def _receives(endpoint: WebhookEndpoint, event: TimelineEvent) -> bool:
    """Whether ``endpoint`` may see ``event`` at all (its type is checked separately)."""
    if event.created_at < endpoint.created_at:
        return False
    ticket = event.ticket
    if endpoint.organization_id is None:
        # The marketplace sees a ticket from its submission on; drafts are the publisher's own.
        return ticket.submitted_at is not None and event.created_at >= ticket.submitted_at
    return ticket.organization_id == endpoint.organization_id and event.public


def _cursor() -> WebhookCursor:
    WebhookCursor.objects.get_or_create(pk=1)
    return WebhookCursor.objects.select_for_update().get(pk=1)


def drain(*, batch: int = BATCH) -> int:
    """Create deliveries for timeline events past the cursor; returns how many deliveries were created."""
    now = timezone.now()
    with transaction.atomic():
        cursor = _cursor()
        pending = {int(key): value for key, value in (cursor.pending_ids or {}).items()}
        endpoints = list(WebhookEndpoint.objects.filter(active=True, deleted_at__isnull=True))
        if not endpoints:
            # Nobody listens: skip what happened so far (an endpoint only gets later events anyway).
            top = TimelineEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            cursor.last_event_id = max(cursor.last_event_id, top)
            cursor.pending_ids = {}
            cursor.updated_at = now
            cursor.save()
            return 0
        found = list(
            TimelineEvent.objects.filter(Q(pk__gt=cursor.last_event_id) | Q(pk__in=list(pending)))
            .select_related("ticket", "ticket__organization")
            .order_by("pk")[:batch]
        )
        fresh = [event.pk for event in found if event.pk > cursor.last_event_id]
        for event in found:
            pending.pop(event.pk, None)
        if fresh:
            seen = set(fresh)
            gap_start, gap_end = cursor.last_event_id + 1, fresh[-1]
            if gap_end - gap_start < MAX_PENDING_IDS:
                for missing in range(gap_start, gap_end):
                    if missing not in seen:
                        pending[missing] = now.isoformat()
            cursor.last_event_id = fresh[-1]
        horizon = now - PENDING_ID_TTL
        pending = {key: value for key, value in pending.items() if datetime.fromisoformat(value) > horizon}
        if len(pending) > MAX_PENDING_IDS:
            pending = dict(sorted(pending.items())[-MAX_PENDING_IDS:])
        rows: list[WebhookDelivery] = []
        for event in found:
            for event_type in events.types_for(event):
                targets = [e for e in endpoints if e.wants(event_type) and _receives(e, event)]
                if not targets:
                    continue
                body = events.payload(event, event_type)
                rows.extend(
                    WebhookDelivery(
                        public_id="dlv_" + secrets.token_hex(12),
                        endpoint=endpoint,
                        event_id=body["id"],
                        event_type=event_type,
                        timeline_event=event,
                        payload=body,
                        next_attempt_at=now,
                        created_at=now,
                    )
                    for endpoint in targets
                )
        created = WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True) if rows else []
        cursor.pending_ids = {str(key): value for key, value in sorted(pending.items())}
        cursor.updated_at = now
        cursor.save()
    return len(created)


# -- sending ----------------------------------------------------------------------------------------------


@dataclass
class SendReport:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    ids: list[int] = field(default_factory=list)


def destination_problem(url: str) -> str | None:
    """Why the desk must not send to ``url`` (None when it may): scheme, host and the addresses it resolves to."""
    parts = urlsplit(url)
    allow_private = bool(getattr(settings, "WEBHOOK_ALLOW_PRIVATE", False))
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "the URL must be https://host/…"
    if parts.username or parts.password:
        return "the URL must not carry a user name or password"
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "the URL has an invalid port"
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        return f"the host does not resolve ({exc})"
    addresses = {ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos}
    if parts.scheme == "http" and not (allow_private and all(a.is_loopback for a in addresses)):
        return "the URL must be https (plain http only to loopback, in development)"
    if not allow_private and not all(a.is_global for a in addresses):
        return "the host resolves to a private, loopback or reserved address"
    return None


def _delay(attempts: int) -> timedelta:
    base = max(1, int(getattr(settings, "WEBHOOK_RETRY_BASE_SECONDS", 30)))
    seconds = base * 2 ** max(0, attempts - 1)
    seconds *= 1 + random.uniform(-0.1, 0.1)  # noqa: S311 — jitter, not a secret
    return min(timedelta(seconds=seconds), MAX_DELAY)


def _claimable(now: datetime) -> Q:
    return Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now) | Q(
        status=DeliveryStatus.SENDING, claimed_at__lt=now - LEASE
    )


def send_due(*, now: datetime | None = None, limit: int = 50, budget_seconds: float = 30.0) -> SendReport:
    """Send up to ``limit`` deliveries that are due; each is claimed first, so no two workers send one.

    Claims no further delivery once ``budget_seconds`` have passed, so a slow
    receiver cannot hold up the caller (the schedule) for long; the rest waits
    for the next call.
    """
    now = now or timezone.now()
    report = SendReport()
    deadline = time.monotonic() + budget_seconds
    due = list(
        WebhookDelivery.objects.filter(_claimable(now))
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in due:
        if time.monotonic() > deadline:
            break
        claimed = WebhookDelivery.objects.filter(_claimable(now), pk=pk).update(
            status=DeliveryStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1
        )
        if not claimed:
            continue  # another worker has it
        delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=pk)
        status = _send(delivery, now)
        report.ids.append(pk)
        if status == DeliveryStatus.DELIVERED:
            report.delivered += 1
        elif status == DeliveryStatus.FAILED:
            report.failed += 1
        else:
            report.retrying += 1
    return report


def _send(delivery: WebhookDelivery, now: datetime) -> str:
    endpoint = delivery.endpoint
    code: int | None = None
    error = ""
    started = time.monotonic()
    if not endpoint.active or endpoint.deleted_at is not None:
        error = "the endpoint was disabled or deleted"
        final = True
    else:
        final = False
        problem = destination_problem(endpoint.url)
        if problem:
            error = f"refused destination: {problem}"
        else:
            body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
            headers = {
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                "Secdesk-Event": delivery.event_type,
                "Secdesk-Delivery": delivery.public_id,
                "Secdesk-Signature": signing.header(endpoint.secret, body),
            }
            timeout = int(getattr(settings, "WEBHOOK_TIMEOUT_SECONDS", 10))
            try:
                with requests.post(
                    endpoint.url, data=body, headers=headers, timeout=(5, timeout), allow_redirects=False, stream=True
                ) as response:
                    code = response.status_code
                    if not 200 <= code < 300:
                        error = f"HTTP {code} {response.reason or ''}".strip()
                        final = code == 410
            except requests.RequestException as exc:
                error = f"{type(exc).__name__}: {exc}"[:500]
    elapsed = int((time.monotonic() - started) * 1000)
    return _record(delivery, now, code=code, error=error, final=final, elapsed_ms=elapsed)


def _record(
    delivery: WebhookDelivery, now: datetime, *, code: int | None, error: str, final: bool, elapsed_ms: int
) -> str:
    fields: dict[str, Any] = {"response_code": code, "last_error": error[:500], "claimed_at": None}
    if not error:
        fields.update(status=DeliveryStatus.DELIVERED, delivered_at=timezone.now())
    elif final or delivery.attempts >= int(getattr(settings, "WEBHOOK_MAX_ATTEMPTS", 10)):
        fields.update(status=DeliveryStatus.FAILED)
    else:
        fields.update(status=DeliveryStatus.PENDING, next_attempt_at=now + _delay(delivery.attempts))
    with transaction.atomic():
        WebhookAttempt.objects.create(
            delivery=delivery,
            number=delivery.attempts,
            at=now,
            response_code=code,
            error=error[:500],
            duration_ms=elapsed_ms,
        )
        # Only the holder of this claim records its outcome (a worker that lost its lease writes nothing).
        WebhookDelivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING, claimed_at=now).update(**fields)
    if error:
        logger.info("webhook %s to %s: %s", delivery.public_id, delivery.endpoint.url, error)
    return str(fields["status"])
