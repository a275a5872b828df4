"""The API token page: one's own tokens, the secret shown once, revocation, and what a token may do."""

from __future__ import annotations

import re

import pytest
from django.urls import resolve

from secdesk.domain.policy import Permission

PAGE = "/account/tokens/"


def _secret(response) -> str:
    found = re.search(r'<code id="token-secret">(sdt_[^<]+)</code>', response.content.decode())
    assert found, response.content.decode()[:2000]
    return found.group(1)


def _create(client, extra: dict | None = None, **fields):
    return client.post(PAGE, {"name": "laptop", "scope": "write", "expires_in_days": "30", **fields}, **(extra or {}))


def test_the_views_declare_the_permission_they_need():
    assert resolve(PAGE).func.permission is Permission.TOKEN_MANAGE
    assert resolve("/account/tokens/7/revoke/").func.permission is Permission.TOKEN_MANAGE


def test_the_page_needs_a_sign_in(client, db):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/account/tokens/")
    assert client.post(PAGE, {"name": "x"}).status_code == 302


def test_staff_need_their_second_factor_before_they_can_have_a_token(client, world, settings):
    settings.SECDESK_DEMO_RELAX_MFA = False
    client.force_login(world.users["rita"])
    response = client.post(PAGE, {"name": "sneaky", "scope": "write"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/totp/activate/"
    assert not world.users["rita"].api_tokens.exists()


def test_create_shows_the_secret_once_and_it_works(client, world):
    from secdesk.accounts import tokens
    from secdesk.accounts.models import ApiToken, AuditEvent

    alice = world.users["alice"]
    client.force_login(alice)
    created = _create(client, extra={"HTTP_USER_AGENT": "token-page-test"})
    assert created.status_code == 201
    assert "no-store" in created["Cache-Control"]
    secret = _secret(created)
    token = ApiToken.objects.get(user=alice, name="laptop")
    assert token.digest == tokens.digest(secret)
    assert secret not in (token.digest, token.prefix)
    assert token.scope == "write"
    assert token.expires_at is not None

    again = client.get(PAGE)
    assert again.status_code == 200
    assert secret not in again.content.decode()  # shown once, never again
    assert token.prefix in again.content.decode()

    assert client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    event = AuditEvent.objects.get(kind="token_created", subject_email=alice.email, data__name="laptop")
    assert (event.actor_id, event.data["via"], event.ip, event.user_agent) == (
        alice.pk,
        "web",
        "127.0.0.1",
        "token-page-test",
    )


def test_the_list_shows_only_ones_own_tokens_and_their_state(client, world):
    from django.utils import timezone

    from secdesk.accounts import tokens
    from secdesk.accounts.models import ApiToken

    alice, bob = world.users["alice"], world.users["bob"]
    tokens.create_token(user=bob, name="bobs-secret-integration")
    tokens.create_token(user=alice, name="old")
    tokens.revoke_token(user=alice, name="old")
    stale = tokens.create_token(user=alice, name="stale", expires_in_days=1)
    ApiToken.objects.filter(pk=stale.token.pk).update(expires_at=timezone.now())
    tokens.create_token(user=alice, name="current", scope="read")

    client.force_login(alice)
    html = client.get(PAGE).content.decode()
    assert "bobs-secret-integration" not in html
    rows = {name: state for state, name in re.findall(r'data-state="(\w+)">\s*<td>([^<]+)</td>', html)}
    assert rows == {"old": "revoked", "stale": "expired", "current": "active"}
    assert html.count('action="/account/tokens/') == 2  # create + revoke for the one active token


def test_a_read_token_from_the_page_cannot_change_anything(client, world, vulnerability):
    client.force_login(world.users["alice"])
    secret = _secret(_create(client, name="reader", scope="read"))
    client.logout()
    auth = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/tickets", headers=auth).status_code == 200
    refused = client.post("/api/v1/tickets", vulnerability, content_type="application/json", headers=auth)
    assert refused.status_code == 403


def test_revoking_stops_the_token_at_once_and_is_recorded(client, world):
    from secdesk.accounts.models import ApiToken, AuditEvent

    alice = world.users["alice"]
    client.force_login(alice)
    secret = _secret(_create(client))
    token = ApiToken.objects.get(user=alice, name="laptop")
    assert client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {secret}"}).status_code == 200

    assert client.get(f"/account/tokens/{token.pk}/revoke/").status_code == 405
    revoked = client.post(f"/account/tokens/{token.pk}/revoke/")
    assert revoked.status_code == 302
    assert revoked["Location"] == PAGE
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    event = AuditEvent.objects.get(kind="token_revoked", subject_email=alice.email)
    assert (event.actor_id, event.data["via"], event.data["token_id"]) == (alice.pk, "web", token.pk)

    # Revoking it again: it is no longer active, like a token that does not exist.
    assert client.post(f"/account/tokens/{token.pk}/revoke/").status_code == 404


def test_someone_elses_token_cannot_be_revoked(client, world):
    from secdesk.accounts import tokens
    from secdesk.accounts.models import AuditEvent

    bobs = tokens.create_token(user=world.users["bob"], name="ci")
    client.force_login(world.users["alice"])
    assert client.post(f"/account/tokens/{bobs.token.pk}/revoke/").status_code == 404
    bobs.token.refresh_from_db()
    assert bobs.token.revoked_at is None
    assert not AuditEvent.objects.filter(kind="token_revoked").exists()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": ""}, "name"),
        ({"scope": "admin"}, "scope"),
        ({"expires_in_days": "soon"}, "expires_in_days"),
        ({"expires_in_days": "0"}, "expires_in"),
        ({"expires_in_days": "100000"}, "expires_in"),
    ],
)
def test_invalid_input_is_reported_and_nothing_is_created(client, world, fields, field):
    from secdesk.accounts.models import ApiToken

    client.force_login(world.users["alice"])
    response = _create(client, **fields)
    assert response.status_code == 422
    assert f'data-field="{field}"' in response.content.decode()
    assert 'id="token-secret"' not in response.content.decode()
    assert not ApiToken.objects.filter(user=world.users["alice"]).exists()


def test_an_active_name_cannot_be_reused(client, world):
    client.force_login(world.users["alice"])
    assert _create(client).status_code == 201
    again = _create(client)
    assert again.status_code == 422
    assert "already exists" in again.content.decode()


def test_a_token_without_expiry_may_be_made(client, world):
    from secdesk.accounts.models import ApiToken

    client.force_login(world.users["alice"])
    assert _create(client, expires_in_days="").status_code == 201
    assert ApiToken.objects.get(user=world.users["alice"]).expires_at is None
