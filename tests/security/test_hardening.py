"""Hardening: sign-in lockouts, API-token throttling, security headers and CSP, sessions, CSRF, deploy checks."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client

from tests.conftest import TEST_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
LOGIN = "/accounts/login/"
EXPECTED_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def _sign_in(client: Client, email: str, password: str, **extra):
    return client.post(LOGIN, {"login": email, "password": password}, **extra)


def _signed_in_as(client: Client) -> str | None:
    from django.contrib.auth import get_user

    user = get_user(client)
    return user.email if user.is_authenticated else None


# --- sign-in lockouts (django-axes) ----------------------------------------------------------------


def test_brute_force_on_the_login_form_locks_the_pair_out_even_with_the_right_password(client, world, fresh_cache):
    from axes.models import AccessAttempt

    from secdesk.accounts.models import AuditEvent

    alice = world.users["alice"].email
    for attempt in range(4):
        refused = _sign_in(client, alice, f"wrong-{attempt}")
        assert refused.status_code == 200, attempt  # the form again, with its error
        assert _signed_in_as(client) is None
    locked = _sign_in(client, alice, "wrong-4")  # the fifth failure locks (alice, 127.0.0.1) out
    assert locked.status_code == 429
    assert b"Too many sign-in attempts" in locked.content

    right = _sign_in(client, alice, TEST_PASSWORD)
    assert right.status_code == 429
    assert right["Retry-After"] == str(15 * 60)
    assert b"Try again in 15 minutes" in right.content
    assert right["Content-Security-Policy"] == EXPECTED_CSP  # the lockout page is a page like any other
    assert _signed_in_as(client) is None
    assert client.get("/").status_code == 302

    lockout = AuditEvent.objects.get(kind="lockout", subject_email=alice)
    assert lockout.ip == "127.0.0.1"
    assert lockout.data["channel"] == "sign_in"
    failed = AuditEvent.objects.filter(kind="sign_in_failed", subject_email=alice)
    assert failed.count() == 6
    assert failed.filter(data__locked_out=True).count() == 2  # the fifth failure and the refused right password

    # The lockout is per (address, IP): alice from elsewhere, and bob from here, still sign in.
    elsewhere = Client()
    assert _sign_in(elsewhere, alice, TEST_PASSWORD, REMOTE_ADDR="203.0.113.7").status_code == 302
    assert _signed_in_as(elsewhere) == alice
    bob = Client()
    assert _sign_in(bob, world.users["bob"].email, TEST_PASSWORD).status_code == 302

    # Once the cool-off has passed, the right password works again from here too.
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.first().attempt_time - timedelta(minutes=16))
    later = _sign_in(client, alice, TEST_PASSWORD)
    assert later.status_code == 302, later.content[:300]
    assert _signed_in_as(client) == alice


def test_the_address_is_matched_whatever_its_case(client, world, fresh_cache):
    alice = world.users["alice"].email
    for attempt in range(5):
        _sign_in(client, alice.upper() if attempt % 2 else alice, f"wrong-{attempt}")
    assert _sign_in(client, alice, TEST_PASSWORD).status_code == 429


def test_the_limit_and_cool_off_come_from_the_environment(tmp_path):
    script = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.AXES_FAILURE_LIMIT, int(settings.AXES_COOLOFF_TIME.total_seconds()), "
        "settings.AUTHENTICATION_BACKENDS[0], settings.MIDDLEWARE[-1])"
    )
    env = {
        **os.environ,
        "SECDESK_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "secdesk.settings",
        "SECDESK_LOGIN_FAILURE_LIMIT": "3",
        "SECDESK_LOGIN_COOLOFF_MINUTES": "2",
    }
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "3",
        "120",
        "axes.backends.AxesStandaloneBackend",
        "axes.middleware.AxesMiddleware",
    ]


# --- API-token throttling ----------------------------------------------------------------------------


@pytest.fixture
def bearer_limit(settings, fresh_cache):
    settings.BEARER_FAILURE_LIMIT = 3
    settings.BEARER_FAILURE_WINDOW = 300
    return settings


def _bearer(client: Client, token: str, path: str = "/api/v1/tickets", **extra):
    return client.get(path, headers={"Authorization": f"Bearer {token}"}, **extra)


def test_bearer_brute_force_gets_429_but_a_valid_token_still_works(client, world, token_for, bearer_limit, monkeypatch):
    from secdesk.accounts import throttle
    from secdesk.accounts.models import AuditEvent

    valid = token_for("alice")
    # 100.5 s into a 300 s window: the wait is what is left of it, rounded up.
    monkeypatch.setattr(throttle, "_now", lambda: 3_333_333 * 300 + 100.5)
    for attempt in range(3):
        assert _bearer(client, f"sdt_guess{attempt}").status_code == 401
    throttled = _bearer(client, "sdt_guess3")
    assert throttled.status_code == 429
    assert throttled["Content-Type"] == "application/problem+json"
    assert throttled.json()["status"] == 429
    assert throttled.json()["type"] == "urn:secdesk:problem:throttled"
    assert throttled["Retry-After"] == "200"
    assert _bearer(client, "not-even-a-token").status_code == 429

    # Successful use is not slowed or refused, from the same address.
    assert _bearer(client, valid).status_code == 200
    # Another address is counted on its own.
    assert _bearer(client, "sdt_guess", REMOTE_ADDR="198.51.100.4").status_code == 401

    lockouts = AuditEvent.objects.filter(kind="lockout", data__channel="api_token")
    assert lockouts.count() == 1  # once per window, not per refused request
    assert lockouts.get().ip == "127.0.0.1"

    # When the window is over, failures are 401 again (and the valid token still works).
    real_now = throttle._now()
    monkeypatch.setattr(throttle, "_now", lambda: real_now + 301)
    assert _bearer(client, "sdt_guess4").status_code == 401
    assert _bearer(client, valid).status_code == 200


def test_successful_token_use_touches_no_cache(client, world, token_for, bearer_limit, monkeypatch):
    from django.core.cache import cache

    valid = token_for("alice")
    calls = []
    for name in ("get", "add", "incr", "set"):
        original = getattr(cache, name)
        monkeypatch.setattr(cache, name, lambda *a, _o=original, _n=name, **k: calls.append(_n) or _o(*a, **k))
    for _ in range(5):
        assert _bearer(client, valid).status_code == 200
    assert calls == []


def test_an_ipv6_client_is_counted_by_its_slash_64(client, world, bearer_limit):
    for host in range(3):
        assert _bearer(client, "sdt_guess", REMOTE_ADDR=f"2001:db8:1:2::{host + 1}").status_code == 401
    assert _bearer(client, "sdt_guess", REMOTE_ADDR="2001:db8:1:2:ffff::9").status_code == 429
    assert _bearer(client, "sdt_guess", REMOTE_ADDR="2001:db8:1:3::1").status_code == 401


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_client(client, world, bearer_limit):
    bearer_limit.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    for _ in range(3):
        assert _bearer(client, "sdt_guess", HTTP_X_FORWARDED_FOR="192.0.2.10").status_code == 401
    assert _bearer(client, "sdt_guess", HTTP_X_FORWARDED_FOR="192.0.2.10").status_code == 429
    # Everyone else behind the same proxy is untouched.
    assert _bearer(client, "sdt_guess", HTTP_X_FORWARDED_FOR="192.0.2.11").status_code == 401


def test_the_throttle_works_on_redis_too(client, world, settings, token_for):
    import redis

    url = os.environ.get("SECDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    server = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        server.ping()
    except redis.exceptions.ConnectionError:
        pytest.fail(f"Redis is not reachable at {url} (./dev test starts it; or set SECDESK_TEST_REDIS_URL)")
    prefix = f"secdesk-test-{secrets.token_hex(6)}"  # only this test's keys: other runs may share the server
    settings.BEARER_FAILURE_LIMIT = 3
    settings.BEARER_FAILURE_WINDOW = 300
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url, "KEY_PREFIX": prefix}
    }
    try:
        for _ in range(3):
            assert _bearer(client, "sdt_guess").status_code == 401
        assert _bearer(client, "sdt_guess").status_code == 429
        assert _bearer(client, token_for("alice")).status_code == 200
        assert server.keys(f"{prefix}:*")
    finally:
        for key in server.scan_iter(f"{prefix}:*"):
            server.delete(key)


def test_revoked_and_expired_tokens_are_refused_at_once(client, world, token_for, fresh_cache):
    from django.utils import timezone

    from secdesk.accounts import tokens
    from secdesk.accounts.models import ApiToken

    issued = tokens.create_token(user=world.users["alice"], name="soon-revoked")
    assert _bearer(client, issued.secret).status_code == 200
    tokens.revoke_token(user=world.users["alice"], name="soon-revoked")
    assert _bearer(client, issued.secret).status_code == 401

    expiring = tokens.create_token(user=world.users["alice"], name="soon-expired", expires_in_days=1)
    assert _bearer(client, expiring.secret).status_code == 200
    ApiToken.objects.filter(pk=expiring.token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert _bearer(client, expiring.secret).status_code == 401


def test_a_failing_token_is_not_rescued_by_a_session_cookie(client, world, fresh_cache):
    client.force_login(world.users["alice"])
    assert client.get("/api/v1/tickets").status_code == 200  # the session alone is fine
    refused = _bearer(client, "sdt_not-a-real-token")
    assert refused.status_code == 401
    assert refused["WWW-Authenticate"] == 'Bearer realm="secdesk"'


def test_a_junk_bearer_header_does_not_let_a_staff_session_skip_mfa(client, world, settings, fresh_cache):
    """The MFA middleware lets any Authorization header through to the API; the API must then not use the session."""
    settings.SECDESK_DEMO_RELAX_MFA = False
    client.force_login(world.users["rita"])  # staff, no TOTP yet
    assert client.get("/api/v1/tickets").status_code == 403  # the session alone: MFA required
    assert _bearer(client, "junk").status_code == 401


def test_a_read_token_cannot_change_anything(client, world, token_for, vulnerability, fresh_cache):
    from secdesk.tickets.models import Ticket

    before = Ticket.objects.count()
    read = token_for("alice", scope="read")
    created = client.post(
        "/api/v1/tickets", vulnerability, content_type="application/json", headers={"Authorization": f"Bearer {read}"}
    )
    assert created.status_code == 403
    assert created["Content-Type"] == "application/problem+json"
    assert Ticket.objects.count() == before
    assert _bearer(client, read).status_code == 200  # reading is what it is for
    write = token_for("alice")
    assert (
        client.post(
            "/api/v1/tickets",
            vulnerability,
            content_type="application/json",
            headers={"Authorization": f"Bearer {write}"},
        ).status_code
        == 201
    )


# --- headers and CSP ---------------------------------------------------------------------------------


def _assert_security_headers(response) -> None:
    csp = response["Content-Security-Policy"]
    assert csp == EXPECTED_CSP
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert response["Permissions-Policy"].startswith("accelerometer=()")
    assert "camera=()" in response["Permissions-Policy"]
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.IGNORECASE)


def _assert_no_inline_code(html: str) -> None:
    assert not INLINE_SCRIPT.search(html), INLINE_SCRIPT.search(html)
    assert not re.search(r"<style\b", html, re.IGNORECASE)
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler"
    assert "javascript:" not in html.lower()


@pytest.mark.parametrize("path", [LOGIN, "/accounts/signup/", "/accounts/password/reset/"])
def test_public_pages_carry_the_csp_and_security_headers(client, db, path):
    response = client.get(path)
    assert response.status_code == 200
    _assert_security_headers(response)
    _assert_no_inline_code(response.content.decode())


@pytest.mark.parametrize("path", ["/", "/account/tokens/"])
def test_signed_in_pages_carry_the_csp_and_security_headers(client, world, path):
    client.force_login(world.users["alice"])
    response = client.get(path)
    assert response.status_code == 200
    _assert_security_headers(response)
    _assert_no_inline_code(response.content.decode())


def test_the_api_docs_work_under_the_csp(client, db):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    _assert_security_headers(page)
    html = page.content.decode()
    _assert_no_inline_code(html)
    scripts = re.findall(r"<script\b[^>]*\bsrc=\"([^\"]+)\"", html)
    assert scripts, html
    styles = re.findall(r"<link\b[^>]*\bhref=\"([^\"]+)\"", html)
    for url in scripts + styles:
        assert url.startswith("/static/"), f"{url} is not served by the desk itself ('self')"
        assert client.get(url).status_code == 200, url
    # The settings the init script reads are a JSON data block, not a script.
    assert '<script type="application/json" id="swagger-settings">' in html
    assert client.get("/api/v1/openapi.json").status_code == 200


def test_no_template_of_the_desk_has_inline_script_or_style():
    templates = sorted((ROOT / "secdesk").glob("**/templates/**/*.html"))
    assert templates
    for template in templates:
        text = template.read_text()
        assert not INLINE_SCRIPT.search(text), template
        if "/email/" in template.as_posix():
            # E-mail bodies are never served under the desk's CSP, and mail clients drop external
            # stylesheets: inline styles are how HTML mail is styled. Scripts stay forbidden.
            continue
        assert not re.search(r"<style\b|\sstyle=", text, re.IGNORECASE), template
        assert not re.search(r"\son[a-z]+\s*=\s*\"", text), template


def test_the_sign_in_providers_are_allowed_as_form_targets(tmp_path):
    """A provider button posts here and is redirected to the provider: form-action must allow its origin."""
    providers = (
        '[{"id": "okta", "name": "Okta", "issuer": "https://example.okta.com/oauth2/default",'
        ' "client_id": "c", "client_secret": "s"}]'
    )
    script = (
        "import django; django.setup(); from django.conf import settings; "
        "print(' '.join(settings.SECURE_CSP['form-action']))"
    )
    env = {
        **os.environ,
        "SECDESK_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "secdesk.settings",
        "SECDESK_OIDC_PROVIDERS": providers,
        "SECDESK_CSP_FORM_ACTION": "https://login.example.net",
    }
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "'self' https://example.okta.com https://login.example.net"


# --- sessions and CSRF -------------------------------------------------------------------------------


def test_the_session_key_changes_at_sign_in(client, world, fresh_cache):
    from django.contrib.sessions.models import Session

    session = client.session
    session["before"] = "sign-in"
    session.save()
    before = session.session_key
    client.cookies["sessionid"] = before
    assert Session.objects.filter(session_key=before).exists()

    assert _sign_in(client, world.users["alice"].email, TEST_PASSWORD).status_code == 302
    after = client.cookies["sessionid"].value
    assert after
    assert after != before
    assert not Session.objects.filter(session_key=before).exists()  # the old key is worth nothing now
    assert _signed_in_as(client) == world.users["alice"].email


def test_a_post_without_a_csrf_token_is_refused(world, fresh_cache):
    guarded = Client(enforce_csrf_checks=True)
    refused = _sign_in(guarded, world.users["alice"].email, TEST_PASSWORD)
    assert refused.status_code == 403
    assert _signed_in_as(guarded) is None

    # With the token from the form it goes through.
    page = guarded.get(LOGIN)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    accepted = guarded.post(
        LOGIN, {"login": world.users["alice"].email, "password": TEST_PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert accepted.status_code == 302
    # Signed in, a page's form still needs it.
    assert guarded.post("/account/tokens/", {"name": "x", "scope": "read"}).status_code == 403


# --- production settings -----------------------------------------------------------------------------


def _production_env(tmp_path: Path) -> dict[str, str]:
    return {
        # The test run's own variables stay out (DJANGO_ALLOW_ASYNC_UNSAFE is set for Playwright).
        **{k: v for k, v in os.environ.items() if not k.startswith(("SECDESK_", "DJANGO_")) and k != "DATABASE_URL"},
        "SECDESK_DATA_DIR": str(tmp_path),
        "SECDESK_PRODUCTION": "1",
        "SECDESK_ALLOWED_HOSTS": "desk.example",
        "SECDESK_SMTP_URL": "smtp://u:p@mail.example:587?starttls=1",
        "SECDESK_SECRET_KEY": secrets.token_urlsafe(48)[:64].ljust(64, "x"),
        "DJANGO_SETTINGS_MODULE": "secdesk.settings",
    }


def test_the_deploy_checks_pass_with_production_settings(tmp_path):
    env = _production_env(tmp_path)
    assert len(env["SECDESK_SECRET_KEY"]) == 64
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_sets_the_secure_cookie_and_transport_flags(tmp_path):
    script = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.SECURE_SSL_REDIRECT, "
        "s.SECURE_HSTS_SECONDS >= 31536000, s.SESSION_COOKIE_SAMESITE, s.DEBUG)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=_production_env(tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "True", "True", "True", "Lax", "False"]
