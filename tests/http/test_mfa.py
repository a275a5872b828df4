"""Two-factor authentication: mandatory for staff (unless the demo relaxes it), TOTP sign-in."""

from __future__ import annotations

import re
import time

import pytest

from tests.conftest import TEST_PASSWORD

ACTIVATE = "/accounts/2fa/totp/activate/"


@pytest.fixture
def enforced(settings):
    settings.SECDESK_DEMO_RELAX_MFA = False
    return settings


@pytest.mark.parametrize("name", ["rita", "leo", "audrey"])
def test_staff_without_totp_are_sent_to_activation(client, world, enforced, name):
    client.force_login(world.users[name])
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == ACTIVATE
    assert client.get("/admin/").status_code == 302
    # The 2FA, e-mail and sign-out pages stay reachable.
    assert client.get(ACTIVATE).status_code in {200, 302}
    assert client.get("/accounts/logout/").status_code == 200


def test_publishers_are_not_required_to_use_totp(client, world, enforced):
    client.force_login(world.users["alice"])
    response = client.get("/")
    assert response.status_code == 200
    assert b"alice@contoso.example" in response.content


def test_the_api_refuses_a_staff_session_without_totp_but_takes_their_token(client, world, enforced, token_for):
    client.force_login(world.users["rita"])
    refused = client.get("/api/v1/tickets")
    assert refused.status_code == 403
    assert refused.json()["type"] == "urn:secdesk:problem:mfa-required"
    token = token_for("rita")
    assert client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_the_demo_may_relax_the_requirement_and_says_so(client, world, settings):
    settings.SECDESK_DEMO_RELAX_MFA = True
    page = client.get("/accounts/login/")
    assert b"two-factor authentication is not enforced" in page.content
    client.force_login(world.users["rita"])
    assert client.get("/").status_code == 200


def test_the_login_page_does_not_mention_relaxing_when_enforced(client, db, enforced):
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    assert b"not enforced" not in page.content


def test_relaxing_is_refused_in_production(monkeypatch, tmp_path):
    import subprocess
    import sys

    env = {
        "SECDESK_PRODUCTION": "1",
        "SECDESK_DEMO_RELAX_MFA": "1",
        "SECDESK_ALLOWED_HOSTS": "desk.example",
        "SECDESK_SECRET_KEY": "x" * 60,
        "SECDESK_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "secdesk.settings",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "SECDESK_DEMO_RELAX_MFA" in result.stderr


def _code(secret: str, offset: int = 0) -> str:
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    return format_hotp_value(hotp_value(secret, int(time.time()) // 30 + offset))


def test_a_responder_activates_totp_and_then_signs_in_with_it(client, world, enforced):
    from allauth.mfa.models import Authenticator

    enforced.MFA_TOTP_TOLERANCE = 1
    rita = world.users["rita"]
    signed_in = client.post("/accounts/login/", {"login": rita.email, "password": TEST_PASSWORD})
    assert signed_in.status_code == 302, signed_in.content[:500]
    assert client.get("/")["Location"] == ACTIVATE

    # A password user confirms their password before activating, even right after signing in.
    page = client.get(ACTIVATE, follow=True)
    assert page.redirect_chain
    assert page.redirect_chain[-1][0].startswith("/accounts/reauthenticate/")
    page = client.post(page.redirect_chain[-1][0], {"password": TEST_PASSWORD}, follow=True)
    secret = re.search(r'id="authenticator_secret"[^>]*value="([^"]+)"', page.content.decode())
    assert secret, page.content.decode()[:1000]
    activated = client.post(ACTIVATE, {"code": _code(secret.group(1))}, follow=True)
    assert activated.status_code == 200
    assert Authenticator.objects.filter(user=rita, type="totp").exists()
    assert client.get("/").status_code == 200

    client.post("/accounts/logout/")
    step = client.post("/accounts/login/", {"login": rita.email, "password": TEST_PASSWORD})
    assert step["Location"] == "/accounts/2fa/authenticate/"
    assert client.get("/").status_code == 302  # not signed in before the second factor
    done = client.post("/accounts/2fa/authenticate/", {"code": _code(secret.group(1), 1)})
    assert done.status_code == 302
    home = client.get("/")
    assert home.status_code == 200
    assert b"rita@marketplace.example" in home.content


def test_the_home_page_needs_a_sign_in(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_admin_signs_in_through_allauth_so_the_second_factor_applies(client, db):
    response = client.get("/admin/login/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
