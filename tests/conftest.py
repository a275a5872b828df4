"""Shared fixtures: the demo world, actors, API tokens and a client for a live server."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

# Sync Playwright runs an event loop in the test thread; Django must allow ORM calls there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

TEST_PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(autouse=True)
def _fast_hashing_and_private_files(settings, tmp_path):
    # Argon2 is the production hasher; tests only need hashing to work, not to be slow.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.ATTACHMENT_DIR = tmp_path / "attachments"
    # The dashboard's figures kept for a minute would outlive a test (the cache table is not flushed between
    # live-server tests); the tests of that cache turn it on.
    settings.DASHBOARD_CACHE_SECONDS = 0


@dataclass
class World:
    """The demo data, with handy references."""

    users: dict[str, Any]
    orgs: dict[str, Any]
    offers: dict[str, Any]

    def actor(self, name: str, *, write_allowed: bool = True):
        from secdesk.accounts.actors import actor_for

        return actor_for(self.users[name], write_allowed=write_allowed)


@pytest.fixture
def world(db) -> World:
    from secdesk import demo
    from secdesk.accounts.models import Organization, User
    from secdesk.marketplace.models import Offer

    demo.load(TEST_PASSWORD)
    users = {u.email.split("@")[0]: u for u in User.objects.all()}
    return World(
        users=users,
        orgs={o.slug: o for o in Organization.objects.all()},
        offers={o.slug: o for o in Offer.objects.all()},
    )


@pytest.fixture
def token_for(world) -> Callable[..., str]:
    from secdesk.accounts import tokens

    counter = iter(range(10_000))

    def make(name: str, scope: str = "write", expires_in_days: int | None = None) -> str:
        issued = tokens.create_token(
            user=world.users[name], name=f"test-{next(counter)}", scope=scope, expires_in_days=expires_in_days
        )
        return issued.secret

    return make


VULNERABILITY = {
    "category": "vulnerability",
    "offers": ["contoso-backup"],
    "description": "Unauthenticated remote code execution in the upload endpoint.",
    "cvss_vectors": ["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"],
    "cve_ids": ["CVE-2026-12345"],
    "cwe_ids": ["CWE-78"],
    "mitigation": "workaround",
    "remediation_steps": "Disable the upload endpoint until 4.2.1 ships.",
    "customer_message": "Please disable uploads.",
}


@pytest.fixture
def vulnerability() -> dict[str, Any]:
    return {k: list(v) if isinstance(v, list) else v for k, v in VULNERABILITY.items()}


class Api:
    """A tiny client for the API of a live server."""

    def __init__(self, base: str, token: str | None) -> None:
        import requests

        self.base = base.rstrip("/") + "/api/v1"
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def __getattr__(self, method: str) -> Callable[..., Any]:
        if method not in {"get", "post", "patch", "put", "delete"}:
            raise AttributeError(method)

        def call(path: str, **kwargs: Any) -> Any:
            kwargs.setdefault("timeout", 30)
            return self.session.request(method.upper(), self.base + path, **kwargs)

        return call


@pytest.fixture
def api(live_server, token_for) -> Callable[[str | None], Api]:
    def make(name: str | None, scope: str = "write") -> Api:
        return Api(live_server.url, token_for(name, scope) if name else None)

    return make
