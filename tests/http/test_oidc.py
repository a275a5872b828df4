"""Signing in with OpenID Connect against a real provider (panva oidc-provider on Node).

Every refusal is checked twice: the person is not signed in (no session, no
user), and the desk logged the reason expected — so a test cannot pass for
the wrong reason. A control re-signs an unchanged token the same way the
refusal knobs do, and must be accepted.
"""

from __future__ import annotations

import logging

import pytest
import requests

from tests.oidc_fixtures import ENTRA_TENANT, sign_in_with_op, signed_in_as

pytestmark = pytest.mark.django_db(transaction=True)

CAROL = ("carol@contoso.example", "carol-password")
DAVE = ("dave@unknown.example", "dave-password")


@pytest.fixture
def contoso(db):
    from secdesk.accounts.models import Organization, OrganizationDomain

    org = Organization.objects.create(name="Contoso Ltd", slug="contoso")
    OrganizationDomain.objects.create(organization=org, domain="contoso.example")
    return org


@pytest.fixture
def refusals(caplog):
    caplog.set_level(logging.WARNING, logger="secdesk.accounts.signin")

    def reasons() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == "secdesk.accounts.signin"]

    return reasons


def no_session_anywhere() -> bool:
    from django.contrib.sessions.models import Session

    return not any("_auth_user_id" in s.get_decoded() for s in Session.objects.all())


def test_verified_domain_joins_the_organisation(oidc_op, contoso, refusals):
    from allauth.socialaccount.models import SocialAccount

    from secdesk.accounts.models import Membership, MembershipRequest, User

    op = oidc_op()
    result = sign_in_with_op(op, *CAROL)

    assert result.response.status_code == 200, result.response.text[:500]
    assert result.callback_url is not None
    assert signed_in_as(result.session, op.desk) == "carol@contoso.example"
    user = User.objects.get(email="carol@contoso.example")
    assert user.full_name == "Carol Contoso"
    assert not user.has_usable_password()
    account = SocialAccount.objects.get(user=user)
    assert (account.provider, account.uid) == ("testop", "sub-carol")
    assert account.extra_data["id_token"]["iss"] == op.issuer
    membership = Membership.objects.get(user=user)
    assert (membership.organization_id, membership.role) == (contoso.pk, "publisher_member")
    assert not MembershipRequest.objects.filter(user=user).exists()
    assert refusals() == []


def test_unknown_domain_waits_in_a_pending_request(oidc_op, contoso):
    from secdesk.accounts.models import Membership, MembershipRequest, User

    op = oidc_op()
    result = sign_in_with_op(op, *DAVE)

    assert signed_in_as(result.session, op.desk) == "dave@unknown.example"
    user = User.objects.get(email="dave@unknown.example")
    assert not Membership.objects.filter(user=user).exists()
    request = MembershipRequest.objects.get(user=user)
    assert (request.status, request.organization, request.source) == ("pending", None, "oidc:testop")
    assert "waits for the marketplace" in result.session.get(f"{op.desk}/", timeout=30).text


def test_unverified_address_in_a_known_domain_does_not_join(oidc_op, contoso):
    from secdesk.accounts.models import Membership, MembershipRequest, User

    accounts = {
        "erin": {
            "password": "erin-password",
            "sub": "sub-erin",
            "email": "erin@contoso.example",
            "email_verified": False,
            "name": "Erin",
        }
    }
    op = oidc_op(accounts=accounts)
    result = sign_in_with_op(op, "erin", "erin-password")

    assert signed_in_as(result.session, op.desk) == "erin@contoso.example"
    user = User.objects.get(email="erin@contoso.example")
    assert not Membership.objects.filter(user=user).exists()
    request = MembershipRequest.objects.get(user=user)
    assert (request.status, request.organization_id) == ("pending", contoso.pk)


def test_a_second_sign_in_finds_the_same_user(oidc_op, contoso):
    from allauth.socialaccount.models import SocialAccount

    op = oidc_op()
    first = sign_in_with_op(op, *CAROL)
    assert signed_in_as(first.session, op.desk) == "carol@contoso.example"
    second = sign_in_with_op(op, *CAROL)
    assert signed_in_as(second.session, op.desk) == "carol@contoso.example"
    assert SocialAccount.objects.filter(provider="testop", uid="sub-carol").count() == 1


def test_an_existing_local_account_is_not_linked_by_email(oidc_op, contoso):
    """The OP vouches for alice@contoso.example, but only alice's own sign-in may link accounts."""
    from allauth.socialaccount.models import SocialAccount

    from secdesk.accounts.models import User

    alice = User.objects.create_user("alice@contoso.example", "a-long-local-password")
    accounts = {
        "mallory": {
            "password": "mallory-password",
            "sub": "sub-mallory",
            "email": "alice@contoso.example",
            "email_verified": True,
            "name": "Not Alice",
        }
    }
    op = oidc_op(accounts=accounts)
    result = sign_in_with_op(op, "mallory", "mallory-password")

    assert signed_in_as(result.session, op.desk) is None
    assert not SocialAccount.objects.filter(user=alice).exists()
    assert no_session_anywhere()


def test_starting_a_sign_in_needs_a_post(oidc_op):
    op = oidc_op()
    page = requests.get(f"{op.desk}{op.login_path}", allow_redirects=False, timeout=30)
    # A GET shows allauth's "Continue" form instead of redirecting to the provider.
    assert page.status_code == 200
    assert op.base not in page.headers.get("Location", "")


def test_the_login_page_has_a_button_per_provider_and_the_local_form(oidc_op):
    op = oidc_op()
    page = requests.get(f"{op.desk}/accounts/login/", timeout=30).text
    assert f'action="{op.login_path}?process=login"' in page
    assert "Sign in with Test OP testop" in page
    assert 'name="password"' in page
    assert "<script" not in page


def test_control_a_resigned_unchanged_token_is_accepted(oidc_op, contoso, refusals):
    op = oidc_op(ID_TOKEN_RESIGN="1")
    result = sign_in_with_op(op, *CAROL)
    assert signed_in_as(result.session, op.desk) == "carol@contoso.example"
    assert refusals() == []


@pytest.mark.parametrize(
    ("knobs", "reason"),
    [
        pytest.param({"ID_TOKEN_AUD": "another-client"}, "InvalidAudienceError", id="wrong-audience"),
        pytest.param({"JWKS_OTHER_KEY": "1"}, "InvalidSignatureError", id="bad-signature"),
        pytest.param({"ID_TOKEN_EXPIRED": "3600"}, "ExpiredSignatureError", id="expired"),
    ],
)
def test_a_bad_id_token_is_refused(oidc_op, contoso, refusals, knobs, reason):
    from secdesk.accounts.models import User

    op = oidc_op(**knobs)
    result = sign_in_with_op(op, *CAROL)

    assert result.callback_url is not None, "the OP never sent the browser back to the desk"
    assert "Third-Party Login Failure" in result.response.text
    assert signed_in_as(result.session, op.desk) is None
    assert not User.objects.filter(email="carol@contoso.example").exists()
    assert no_session_anywhere()
    assert any(reason in line for line in refusals()), refusals()


def test_a_replayed_callback_is_refused(oidc_op, contoso, refusals):
    op = oidc_op()
    first = sign_in_with_op(op, *CAROL)
    assert signed_in_as(first.session, op.desk) == "carol@contoso.example"
    callback = first.callback_url
    assert callback is not None
    assert "state=" in callback
    assert "code=" in callback

    # The same browser again: the state was used up.
    again = first.session.get(callback, timeout=30)
    assert "Third-Party Login Failure" in again.text
    # Someone else who got hold of the URL: no state in their session, no sign-in.
    stolen = requests.Session()
    replay = stolen.get(callback, timeout=30)
    assert "Third-Party Login Failure" in replay.text
    assert signed_in_as(stolen, op.desk) is None
    assert [line for line in refusals() if "missing or replayed state" in line] != []
    assert len(refusals()) == 2


def test_entra_tenant_places_the_person(oidc_op, refusals):
    """allauth's microsoft provider against the OP laid out like Entra ID: tid from a verified id_token."""
    from allauth.socialaccount.models import SocialAccount

    from secdesk.accounts.models import Membership, Organization, User

    fabrikam = Organization.objects.create(name="Fabrikam", slug="fabrikam", oidc_tenant_id=ENTRA_TENANT)
    accounts = {
        "frank": {
            "password": "frank-password",
            "sub": "oid-frank",
            "email": "frank@fabrikam.onmicrosoft.example",
            "name": "Frank Fabrikam",
        }
    }
    op = oidc_op("entra", mode="entra", accounts=accounts)
    result = sign_in_with_op(op, "frank", "frank-password")

    assert signed_in_as(result.session, op.desk) == "frank@fabrikam.onmicrosoft.example", op.output()
    user = User.objects.get(email="frank@fabrikam.onmicrosoft.example")
    account = SocialAccount.objects.get(user=user)
    assert (account.provider, account.uid, account.extra_data["tid"]) == ("entra", "oid-frank", ENTRA_TENANT)
    assert Membership.objects.get(user=user).organization == fabrikam
    assert refusals() == []


def test_entra_token_from_an_unexpected_tenant_is_refused(oidc_op, refusals):
    from secdesk.accounts.models import User

    accounts = {"frank": {"password": "frank-password", "sub": "oid-frank", "email": "frank@fabrikam.example"}}
    op = oidc_op("entra", mode="entra", accounts=accounts, tenant="00000000-0000-0000-0000-000000000000")
    result = sign_in_with_op(op, "frank", "frank-password")

    assert signed_in_as(result.session, op.desk) is None
    assert not User.objects.filter(email="frank@fabrikam.example").exists()
    assert any("another tenant" in line for line in refusals()), refusals()
