"""Fixtures for the security tests: a clean shared cache (throttle counters, allauth's rate limits)."""

from __future__ import annotations

import pytest


@pytest.fixture
def fresh_cache(db):
    """Start from an empty cache, so counters left by another test cannot decide this one."""
    from django.core.cache import cache

    cache.clear()
    yield cache
    cache.clear()
