"""``secdesk.triage.recent``: the dashboard's figures shared for ``SECDESK_DASHBOARD_CACHE_SECONDS``, on both
databases, through the desk's real cache (the database table, as embedded).

Within the time every staff reader of a period and timezone gets the same figures; after it they are
computed again; a reader who may not see them is refused even when they are kept; a damaged entry is
computed over, not shown.
"""

from __future__ import annotations

import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.utils import timezone

from secdesk.domain import confirmation
from secdesk.domain.errors import InvalidInput, PermissionDenied
from secdesk.tickets.models import Ticket
from secdesk.triage.recent import recent_dashboard

pytestmark = pytest.mark.django_db

UTC = ZoneInfo("UTC")


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def open_tickets(world, count: int) -> None:
    now = timezone.now()
    Ticket.objects.bulk_create(
        Ticket(
            confirmation_number=confirmation.generate(),
            organization=world.orgs["contoso"],
            created_by=world.users["alice"],
            category="vulnerability",
            status="acknowledged",
            severity="high",
            submitted_at=now - timedelta(hours=5),
            acknowledgement_due=now + timedelta(hours=19),
            acknowledged_at=now - timedelta(hours=4),
        )
        for _ in range(count)
    )


def test_shared_within_the_time_then_computed_again(world, settings):
    settings.DASHBOARD_CACHE_SECONDS = 1
    open_tickets(world, 3)
    first = recent_dashboard(world.actor("rita"), weeks=4, zone=UTC)
    open_tickets(world, 2)
    shared = recent_dashboard(world.actor("audrey"), weeks=4, zone=UTC)
    assert shared.now == first.now
    assert shared.open_total == first.open_total
    time.sleep(1.1)
    again = recent_dashboard(world.actor("leo"), weeks=4, zone=UTC)
    assert again.now > first.now
    assert again.open_total == first.open_total + 2


def test_each_period_and_timezone_has_its_own_figures(world, settings):
    settings.DASHBOARD_CACHE_SECONDS = 60
    utc = recent_dashboard(world.actor("rita"), weeks=4, zone=UTC)
    istanbul = recent_dashboard(world.actor("rita"), weeks=4, zone=ZoneInfo("Europe/Istanbul"))
    longer = recent_dashboard(world.actor("rita"), weeks=12, zone=UTC)
    assert istanbul.weeks[0].start.utcoffset() == timedelta(hours=3)
    assert utc.weeks[0].start.utcoffset() == timedelta(0)
    assert (len(utc.weeks), len(longer.weeks)) == (4, 12)


@pytest.mark.parametrize("name", ["alice", "bob"])
def test_kept_figures_are_still_refused_to_publishers(world, settings, name):
    settings.DASHBOARD_CACHE_SECONDS = 60
    recent_dashboard(world.actor("rita"), weeks=12, zone=UTC)
    with pytest.raises(PermissionDenied):
        recent_dashboard(world.actor(name), weeks=12, zone=UTC)


def test_a_period_not_offered_is_refused_and_nothing_kept(world, settings):
    settings.DASHBOARD_CACHE_SECONDS = 60
    with pytest.raises(InvalidInput):
        recent_dashboard(world.actor("rita"), weeks=5, zone=UTC)
    assert cache.get("dashboard:1:5:UTC") is None


def test_a_damaged_entry_is_computed_over(world, settings):
    settings.DASHBOARD_CACHE_SECONDS = 60
    cache.set("dashboard:1:12:UTC", "not figures", 60)
    open_tickets(world, 1)
    figures = recent_dashboard(world.actor("rita"), weeks=12, zone=UTC)
    assert figures.open_total == Ticket.objects.filter(status="acknowledged").count()


def test_zero_seconds_computes_for_every_reader(world, settings):
    settings.DASHBOARD_CACHE_SECONDS = 0
    first = recent_dashboard(world.actor("rita"), weeks=4, zone=UTC)
    open_tickets(world, 1)
    assert recent_dashboard(world.actor("rita"), weeks=4, zone=UTC).open_total == first.open_total + 1
