"""The security audit log: what is recorded, by whom, from where; append-only; who may read it."""

from __future__ import annotations

import re
import time

import pytest

from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.django_db

UA = "audit-test-agent/1.0"


def events(kind: str, **filters):
    from secdesk.accounts.models import AuditEvent

    return list(AuditEvent.objects.filter(kind=kind, **filters).order_by("id"))


def only(kind: str, **filters):
    found = events(kind, **filters)
    assert len(found) == 1, found
    return found[0]


# --- signing in and out ----------------------------------------------------------------------------


def test_a_sign_in_and_a_sign_out_are_recorded_with_address_and_agent(client, world, fresh_cache):
    alice = world.users["alice"]
    assert (
        client.post(
            "/accounts/login/", {"login": alice.email, "password": TEST_PASSWORD}, HTTP_USER_AGENT=UA
        ).status_code
        == 302
    )
    event = only("sign_in", subject_email=alice.email)
    assert event.actor_id == alice.pk
    assert event.actor_email == alice.email
    assert event.ip == "127.0.0.1"
    assert event.user_agent == UA

    assert client.post("/accounts/logout/", HTTP_USER_AGENT=UA).status_code == 302
    out = only("sign_out", subject_email=alice.email)
    assert out.actor_id == alice.pk
    assert out.id > event.id


def test_a_failed_sign_in_is_recorded_without_the_password(client, world, fresh_cache):
    response = client.post(
        "/accounts/login/",
        {"login": "Alice@Contoso.example", "password": "not-her-password"},
        HTTP_USER_AGENT="x" * 1000,
        REMOTE_ADDR="192.0.2.55",
    )
    assert response.status_code == 200
    event = only("sign_in_failed")
    assert event.subject_email == "alice@contoso.example"
    assert event.actor_id is None
    assert event.ip == "192.0.2.55"
    assert len(event.user_agent) == 300  # truncated
    assert "not-her-password" not in str(event.data)
    assert not events("sign_in")

    # An address nobody has is recorded all the same (that is what guessing looks like).
    client.post("/accounts/login/", {"login": "nobody@nowhere.example", "password": "guess-guess"})
    assert only("sign_in_failed", subject_email="nobody@nowhere.example").actor_id is None


# --- second factor ---------------------------------------------------------------------------------


def _code(secret: str, offset: int = 0) -> str:
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    return format_hotp_value(hotp_value(secret, int(time.time()) // 30 + offset))


def test_activating_totp_is_recorded(client, world, settings, fresh_cache, django_capture_on_commit_callbacks):
    settings.SECDESK_DEMO_RELAX_MFA = False
    settings.MFA_TOTP_TOLERANCE = 1
    rita = world.users["rita"]
    assert client.post("/accounts/login/", {"login": rita.email, "password": TEST_PASSWORD}).status_code == 302
    activate = "/accounts/2fa/totp/activate/"
    page = client.get(activate, follow=True)
    page = client.post(page.redirect_chain[-1][0], {"password": TEST_PASSWORD}, follow=True)
    secret = re.search(r'id="authenticator_secret"[^>]*value="([^"]+)"', page.content.decode())
    assert secret, page.content.decode()[:1000]
    with django_capture_on_commit_callbacks(execute=True):  # allauth sends its signals once committed
        assert client.post(activate, {"code": _code(secret.group(1))}).status_code == 302

    activated = only("mfa_activated", subject_email=rita.email)
    assert activated.actor_id == rita.pk
    assert activated.data["type"] == "totp"
    assert activated.ip == "127.0.0.1"
    codes = only("recovery_codes_generated", subject_email=rita.email)
    assert codes.data["type"] == "recovery_codes"


def test_removing_and_resetting_factors_is_recorded(world, rf):
    from allauth.mfa import signals
    from allauth.mfa.models import Authenticator

    rita = world.users["rita"]
    request = rf.post("/accounts/2fa/totp/deactivate/", REMOTE_ADDR="192.0.2.8")
    request.user = rita
    totp = Authenticator.objects.create(user=rita, type=Authenticator.Type.TOTP, data={})
    codes = Authenticator.objects.create(user=rita, type=Authenticator.Type.RECOVERY_CODES, data={})
    signals.authenticator_reset.send(sender=Authenticator, request=request, user=rita, authenticator=codes)
    signals.authenticator_removed.send(sender=Authenticator, request=request, user=rita, authenticator=totp)
    reset = only("recovery_codes_generated", subject_email=rita.email)
    assert reset.data["regenerated"] is True
    removed = only("mfa_deactivated", subject_email=rita.email)
    assert (removed.data["type"], removed.ip, removed.actor_id) == ("totp", "192.0.2.8", rita.pk)


# --- API tokens ------------------------------------------------------------------------------------


def test_tokens_created_and_revoked_on_the_cli_are_recorded(world, capsys):
    from secdesk.accounts.models import ApiToken
    from secdesk.cli.main import main

    assert main(["token", "create", "--user", "alice@contoso.example", "--name", "ci", "--scope", "read"]) == 0
    secret = capsys.readouterr().out.strip()
    assert secret.startswith("sdt_")
    created = only("token_created", subject_email="alice@contoso.example", data__name="ci")
    assert created.actor_id is None  # the server's operator, not a signed-in person
    assert created.data["via"] == "cli"
    assert created.data["scope"] == "read"
    assert created.data["prefix"] == secret[:8]
    assert secret not in str(created.data)  # never the secret
    assert ApiToken.objects.get(pk=created.data["token_id"]).digest not in str(created.data)

    assert main(["token", "revoke", "--user", "alice@contoso.example", "--name", "ci"]) == 0
    revoked = only("token_revoked", subject_email="alice@contoso.example")
    assert (revoked.data["via"], revoked.data["token_id"]) == ("cli", created.data["token_id"])


def test_nothing_is_recorded_when_token_creation_is_refused(world):
    from secdesk.accounts import tokens
    from secdesk.domain.errors import Conflict

    tokens.create_token(user=world.users["alice"], name="same")
    with pytest.raises(Conflict):
        tokens.create_token(user=world.users["alice"], name="same")
    assert len(events("token_created", data__name="same")) == 1


# --- roles -----------------------------------------------------------------------------------------


def test_a_staff_role_change_is_recorded_whatever_path_it_takes(world):
    from secdesk.accounts.models import User

    rita = world.users["rita"]
    created = only("role_changed", subject_email=rita.email)  # the demo made her a responder
    assert created.data == {"scope": "staff", "from": None, "to": "responder", "new_user": True}

    rita.staff_role = "lead"
    rita.save()
    changed = events("role_changed", subject_email=rita.email)[-1]
    assert changed.data == {"scope": "staff", "from": "responder", "to": "lead", "new_user": False}

    rita.full_name = "Rita R."
    rita.save()  # no role change, nothing recorded
    rita.save(update_fields=["last_login"])
    User.objects.create_user("plain@contoso.example", "a-long-local-password")
    assert len(events("role_changed")) == 1 + len(events("role_changed", data__new_user=True))

    rita.staff_role = ""
    rita.save(update_fields=["staff_role"])
    assert events("role_changed", subject_email=rita.email)[-1].data["to"] is None
    assert len(events("role_changed", subject_email=rita.email)) == 3


def test_membership_changes_through_the_services_name_the_actor(world):
    from secdesk.accounts import services
    from secdesk.accounts.models import Membership, User

    leo, contoso = world.users["leo"], world.orgs["contoso"]
    carl = User.objects.create_user("carl@contoso.example", "a-long-local-password")
    assert not events("membership_added", subject_email=carl.email)

    Membership.objects.create(user=carl, organization=contoso, role="publisher_member")
    direct = only("membership_added", subject_email=carl.email)
    assert direct.actor_id is None  # no service, no request: nobody to name
    assert direct.data["organization"] == "contoso"

    membership = Membership.objects.get(user=carl)
    membership.role = "publisher_admin"
    membership.save()
    promoted = only("role_changed", subject_email=carl.email)
    assert promoted.data["from"] == "publisher_member"
    assert promoted.data["to"] == "publisher_admin"

    services.remove_member(world.actor("leo"), organization_id=contoso.pk, email=carl.email)
    removed = only("membership_removed", subject_email=carl.email)
    assert removed.actor_id == leo.pk
    assert removed.actor_email == leo.email
    assert removed.data["via"] == "remove_member"
    assert removed.data["role"] == "publisher_admin"


def test_a_role_change_through_the_api_names_the_person(client, world, token_for):
    from secdesk.accounts.models import User

    alice = world.users["alice"]
    dana = User.objects.create_user("dana@contoso.example", "a-long-local-password")
    from secdesk.accounts.models import Membership

    Membership.objects.create(user=dana, organization=world.orgs["contoso"])
    response = client.delete(
        f"/api/v1/organizations/{world.orgs['contoso'].slug}/members/{dana.email}",
        headers={"Authorization": f"Bearer {token_for('alice')}"},
    )
    assert response.status_code == 204, response.content
    removed = only("membership_removed", subject_email=dana.email)
    assert removed.actor_id == alice.pk
    assert removed.ip == "127.0.0.1"


# --- append-only ------------------------------------------------------------------------------------


def test_events_cannot_be_changed_or_deleted(world):
    from secdesk.accounts import audit
    from secdesk.accounts.models import AuditEvent

    event = audit.record("sign_in", actor=world.users["alice"], subject_email="alice@contoso.example")
    event.kind = "sign_out"
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
    with pytest.raises(TypeError):
        AuditEvent.objects.filter(pk=event.pk).update(kind="sign_out")
    with pytest.raises(TypeError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).kind == "sign_in"
    with pytest.raises(ValueError, match="not a valid"):
        audit.record("made_up_kind")


def test_the_admin_shows_events_read_only(world, rf):
    from django.contrib import admin

    from secdesk.accounts.models import AuditEvent

    model_admin = admin.site._registry[AuditEvent]
    request = rf.get("/admin/accounts/auditevent/")
    request.user = world.users["leo"]
    world.users["leo"].is_superuser = True
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)


def test_a_deleted_actor_stays_readable(world):
    from secdesk.accounts import audit
    from secdesk.accounts.models import AuditEvent, User

    ghost = User.objects.create_user("ghost@contoso.example", "a-long-local-password")
    event = audit.record("sign_in", actor=ghost, subject_email=ghost.email)
    ghost.delete()
    event = AuditEvent.objects.get(pk=event.pk)
    assert event.actor_id is None
    assert event.actor_email == "ghost@contoso.example"


# --- reading: API and CLI --------------------------------------------------------------------------


def _get(client, token: str, **params):
    return client.get("/api/v1/audit-events", params, headers={"Authorization": f"Bearer {token}"})


def test_staff_read_the_log_and_publishers_may_not(client, world, token_for):
    from secdesk.accounts import audit

    audit.record("sign_in_failed", subject_email="alice@contoso.example", data={"n": 1})
    audit.record("sign_in", actor=world.users["alice"], subject_email="alice@contoso.example")
    audit.record("lockout", subject_email="bob@fabrikam.example", data={"channel": "sign_in"})

    for name in ("rita", "leo", "audrey"):
        response = _get(client, token_for(name, scope="read"))
        assert response.status_code == 200, (name, response.content)
        body = response.json()
        ids = [item["id"] for item in body["items"]]
        assert ids == sorted(ids, reverse=True)  # newest first
        assert {"sign_in", "sign_in_failed", "lockout"} <= {item["kind"] for item in body["items"]}

    for name in ("alice", "bob"):
        refused = _get(client, token_for(name))
        assert refused.status_code == 403
        assert refused["Content-Type"] == "application/problem+json"
    assert client.get("/api/v1/audit-events").status_code == 401


def test_the_log_filters_and_pages_by_id(client, world, token_for):
    from secdesk.accounts import audit

    for n in range(5):
        audit.record("sign_in_failed", subject_email="target@contoso.example", data={"n": n})
    audit.record("sign_in", actor=world.users["alice"], subject_email="alice@contoso.example")
    token = token_for("rita")

    first = _get(client, token, kind="sign_in_failed", email="TARGET@contoso.example", limit=2).json()
    assert [item["data"]["n"] for item in first["items"]] == [4, 3]
    assert first["next_cursor"]
    second = _get(
        client, token, kind="sign_in_failed", email="target@contoso.example", limit=2, cursor=first["next_cursor"]
    ).json()
    assert [item["data"]["n"] for item in second["items"]] == [2, 1]
    third = _get(
        client, token, kind="sign_in_failed", email="target@contoso.example", limit=2, cursor=second["next_cursor"]
    ).json()
    assert [item["data"]["n"] for item in third["items"]] == [0]
    assert third["next_cursor"] is None

    by_actor = _get(client, token, email="alice@contoso.example", kind="sign_in").json()["items"]
    assert by_actor
    assert all(item["actor"] == "alice@contoso.example" for item in by_actor)

    assert _get(client, token, kind="no_such_kind").status_code == 422
    assert _get(client, token, cursor="garbage!").status_code == 422


def test_the_cli_prints_the_log(world, capsys):
    from secdesk.accounts import audit
    from secdesk.cli.main import main

    for n in range(3):
        audit.record("lockout", subject_email=f"p{n}@contoso.example", data={"channel": "sign_in"})
    assert main(["audit", "log", "--limit", "2", "--kind", "lockout"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    assert "p2@contoso.example" in lines[0]
    assert "p1@contoso.example" in lines[1]
    assert all(" lockout " in line for line in lines)

    assert main(["audit", "log", "--email", "p0@contoso.example"]) == 0
    assert "p0@contoso.example" in capsys.readouterr().out
    assert main(["audit", "log", "--limit", "0"]) != 0
