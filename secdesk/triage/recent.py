"""The dashboard's figures, shared for a short while by the staff who read them.

Every reader of the dashboard holds ``queue:read`` and sees every ticket past
draft, so the figures depend only on the period, the timezone (where weeks
begin) and the moment. Computing them reads every ticket of the window
(``secdesk.triage.metrics``: 50 to 150 ms at 100,000 tickets, ``bench/pages.py``);
within ``SECDESK_DASHBOARD_CACHE_SECONDS`` (60 by default) the next reader of
the same period and timezone gets the figures already computed, from the
desk's cache (Redis with ``SECDESK_REDIS_URL``, else a table of the database:
shared by every process). The page says when they were computed.

Authorisation comes first, as in :func:`metrics.dashboard`: a reader who may
not see the figures is refused, never served from the cache. A reader whose
tickets are scoped (not every ticket) is computed for, never cached for.
"""

from __future__ import annotations

import logging
from typing import Final
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache

from secdesk.domain.errors import PermissionDenied
from secdesk.domain.policy import Actor, Permission, can
from secdesk.triage.metrics import Dashboard, dashboard

logger = logging.getLogger(__name__)

# Part of the key: a release that changes the figures' classes must not read the previous one's.
_FORMAT: Final = 1


def recent_dashboard(actor: Actor, *, weeks: int, zone: ZoneInfo) -> Dashboard:
    """:func:`metrics.dashboard` for now, or as computed at most ``DASHBOARD_CACHE_SECONDS`` ago.

    Raises what ``dashboard`` raises (``PermissionDenied``, ``InvalidInput``); nothing is cached then.
    """
    if not can(actor, Permission.QUEUE_READ):
        raise PermissionDenied("the dashboard is for marketplace staff")
    seconds = int(settings.DASHBOARD_CACHE_SECONDS)
    sees_every_ticket = actor.is_staff_member and can(actor, Permission.TICKET_READ)
    if seconds <= 0 or not sees_every_ticket:
        return dashboard(actor, weeks=weeks, zone=zone)
    key = f"dashboard:{_FORMAT}:{weeks}:{zone.key}"
    try:
        found = cache.get(key)
    except Exception:  # an unreadable entry (or the cache down) must not take the page with it
        logger.warning("dashboard cache unreadable; computing the figures", exc_info=True)
        found = None
    if isinstance(found, Dashboard):  # the cache expires the entry after ``seconds``
        return found
    figures = dashboard(actor, weeks=weeks, zone=zone)
    try:
        cache.set(key, figures, seconds)
    except Exception:  # the figures are computed: failing to keep them is not the reader's problem
        logger.warning("dashboard cache not written", exc_info=True)
    return figures
