"""Browser tests: headless Debian Chromium driven by Playwright for Python, against ``live_server``.

Playwright's own browser download is not used: the tests launch ``/usr/bin/chromium``
(``apt-get install chromium``; ``./dev test`` installs it). axe-core comes from
``secdesk/web/node_modules`` (``npm ci`` there; ``./dev install`` does it) and is
injected into pages by the accessibility checks only — never served by the desk.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.browser import PageWatch

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts" / "web"
TR_CATALOGUE = ROOT / "secdesk" / "web" / "locale" / "tr" / "LC_MESSAGES" / "django.mo"

# A loaded CI machine (the suite runs in parallel, twice) can be slower than Playwright's 5 s default.
expect.set_options(timeout=15_000)

# Sync Playwright runs an event loop in the test thread; Django must allow ORM calls there (tests/conftest.py too).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (./dev test does it)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "locale": "en-GB", "viewport": {"width": 1280, "height": 900}}


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def compiled_catalogues() -> None:
    po = TR_CATALOGUE.with_suffix(".po")
    if not TR_CATALOGUE.exists() or TR_CATALOGUE.stat().st_mtime < po.stat().st_mtime:
        pytest.fail("the Turkish catalogue is not compiled: run ./dev install (manage.py compilemessages)")


@pytest.fixture
def watch(page: Any) -> PageWatch:
    watcher = PageWatch()
    watcher.attach(page)
    return watcher


@pytest.fixture
def sign_in(live_server: Any) -> Callable[..., None]:
    """Sign in through the real sign-in form (allauth, local account)."""

    def run(page: Any, email: str, password: str, *, start: str = "/tickets/") -> None:
        page.goto(f"{live_server.url}{start}")
        page.fill('input[name="login"]', email)
        page.fill('input[name="password"]', password)
        page.locator('form[action="/accounts/login/"] button[type="submit"]').click()
        page.wait_for_url(f"{live_server.url}{start}")

    return run


@pytest.fixture
def session_for(live_server: Any) -> Callable[[Any, Any], None]:
    """Give a browser context a signed-in session without the form (for checks that are not about signing in)."""
    from django.conf import settings
    from django.test import Client

    def run(context: Any, user: Any) -> None:
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])

    return run
