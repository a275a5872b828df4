"""Organisation people: placement on first sign-in, requests, invitations, removal — and who may."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.utils import timezone

from secdesk.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(world):
    """The demo world plus carl, a plain publisher member of Contoso."""
    from secdesk.accounts.models import Membership, User

    carl = User.objects.create_user("carl@contoso.example", "a-long-local-password")
    Membership.objects.create(user=carl, organization=world.orgs["contoso"], role="publisher_member")
    world.users["carl"] = carl
    return world


def newcomer(email: str, *, verified: bool = True):
    from allauth.account.models import EmailAddress

    from secdesk.accounts.models import User

    user = User.objects.create_user(email, None)
    EmailAddress.objects.create(user=user, email=email, verified=verified, primary=True)
    return user


def pending_for(user, organization=None):
    from secdesk.accounts.organizations import request_membership

    return request_membership(user, source="oidc:test", organization=organization)


# --- placement on the first sign-in ---------------------------------------------------------


def test_a_verified_domain_places_the_person(world):
    from secdesk.accounts.organizations import place_new_user

    user = newcomer("zoe@contoso.example")
    placed = place_new_user(user, source="oidc:x", verified_emails=["zoe@contoso.example"])
    assert placed.membership is not None
    assert placed.membership.organization == world.orgs["contoso"]
    assert placed.membership.role == "publisher_member"
    assert placed.request is None


def test_a_tenant_places_the_person_before_any_domain(world):
    from secdesk.accounts.organizations import place_new_user

    fabrikam = world.orgs["fabrikam"]
    fabrikam.oidc_tenant_id = "0f0e0d0c-aaaa-bbbb-cccc-000000000001"
    fabrikam.save()
    user = newcomer("yan@contoso.example")
    placed = place_new_user(
        user, source="oidc:entra", tenant_id="0F0E0D0C-AAAA-BBBB-CCCC-000000000001", verified_emails=[user.email]
    )
    assert placed.membership is not None
    assert placed.membership.organization == fabrikam


def test_an_unknown_or_unverified_person_waits(world):
    from secdesk.accounts.organizations import place_new_user

    stranger = newcomer("x@elsewhere.example")
    placed = place_new_user(stranger, source="oidc:x", verified_emails=[stranger.email])
    assert placed.membership is None
    assert placed.request is not None
    assert (placed.request.organization, placed.request.status) == (None, "pending")

    unverified = newcomer("w@contoso.example", verified=False)
    placed = place_new_user(unverified, source="oidc:x", unverified_emails=[unverified.email])
    assert placed.membership is None
    assert placed.request is not None
    assert placed.request.organization == world.orgs["contoso"]
    # One pending request per person, however often it is asked.
    assert pending_for(unverified) == placed.request


def test_staff_are_never_placed_by_a_sign_in(world):
    from secdesk.accounts.organizations import place_new_user

    placed = place_new_user(world.users["rita"], source="oidc:x", verified_emails=["rita@contoso.example"])
    assert placed.membership is None
    assert placed.request is None


def test_verifying_an_address_locally_asks_to_join(world, rf: RequestFactory):
    from allauth.account.models import EmailAddress
    from allauth.account.signals import email_confirmed

    from secdesk.accounts.models import MembershipRequest

    user = newcomer("v@contoso.example", verified=False)
    address = EmailAddress.objects.get(user=user)
    email_confirmed.send(sender=EmailAddress, request=rf.get("/"), email_address=address)
    request = MembershipRequest.objects.get(user=user)
    assert (request.organization, request.source) == (world.orgs["contoso"], "local")


# --- approving and rejecting requests -------------------------------------------------------


@pytest.mark.parametrize("approver", ["alice", "leo"])
def test_admin_of_the_organisation_or_a_lead_approves(people, approver):
    from secdesk.accounts import services
    from secdesk.accounts.models import Membership

    user = newcomer("u@contoso.example", verified=False)
    request = pending_for(user, people.orgs["contoso"])
    membership = services.approve_membership_request(people.actor(approver), request_id=request.pk)
    assert (membership.user, membership.organization, membership.role) == (
        user,
        people.orgs["contoso"],
        "publisher_member",
    )
    request.refresh_from_db()
    assert request.status == "approved"
    assert request.decided_by == people.users[approver]
    assert request.decided_at is not None
    with pytest.raises(Conflict):
        services.approve_membership_request(people.actor(approver), request_id=request.pk)
    assert Membership.objects.filter(user=user).count() == 1


@pytest.mark.parametrize(("name", "error"), [("bob", NotFound), ("carl", NotFound), ("rita", NotFound)])
def test_others_cannot_approve_or_reject(people, name, error):
    from secdesk.accounts import services
    from secdesk.accounts.models import Membership

    request = pending_for(newcomer("t@contoso.example", verified=False), people.orgs["contoso"])
    with pytest.raises(error):
        services.approve_membership_request(people.actor(name), request_id=request.pk)
    with pytest.raises(error):
        services.reject_membership_request(people.actor(name), request_id=request.pk)
    request.refresh_from_db()
    assert request.status == "pending"
    assert not Membership.objects.filter(user=request.user).exists()


def test_a_request_for_no_organisation_is_for_a_lead_to_place(people):
    from secdesk.accounts import services

    request = pending_for(newcomer("s@elsewhere.example"))
    with pytest.raises(NotFound):
        services.approve_membership_request(
            people.actor("alice"), request_id=request.pk, organization_id=people.orgs["contoso"].pk
        )
    with pytest.raises(InvalidInput) as missing:
        services.approve_membership_request(people.actor("leo"), request_id=request.pk)
    assert missing.value.errors[0].field == "organization"
    membership = services.approve_membership_request(
        people.actor("leo"), request_id=request.pk, organization_id=people.orgs["fabrikam"].pk, role="publisher_admin"
    )
    assert (membership.organization, membership.role) == (people.orgs["fabrikam"], "publisher_admin")


def test_a_publisher_admin_cannot_place_someone_in_another_organisation(people):
    from secdesk.accounts import services

    request = pending_for(newcomer("r@contoso.example", verified=False), people.orgs["contoso"])
    with pytest.raises(NotFound):
        services.approve_membership_request(
            people.actor("alice"), request_id=request.pk, organization_id=people.orgs["fabrikam"].pk
        )


def test_reject(people):
    from secdesk.accounts import services
    from secdesk.accounts.models import Membership

    request = pending_for(newcomer("q@contoso.example", verified=False), people.orgs["contoso"])
    rejected = services.reject_membership_request(people.actor("alice"), request_id=request.pk, reason="not ours")
    assert (rejected.status, rejected.reason, rejected.decided_by) == ("rejected", "not ours", people.users["alice"])
    assert not Membership.objects.filter(user=request.user).exists()
    with pytest.raises(Conflict):
        services.reject_membership_request(people.actor("leo"), request_id=request.pk)


def test_who_sees_which_requests(people):
    from secdesk.accounts.selectors import membership_requests_visible_to

    for_contoso = pending_for(newcomer("p@contoso.example", verified=False), people.orgs["contoso"])
    for_fabrikam = pending_for(newcomer("o@fabrikam.example", verified=False), people.orgs["fabrikam"])
    for_nobody = pending_for(newcomer("n@elsewhere.example"))

    def seen(name):
        return set(membership_requests_visible_to(people.actor(name)))

    assert seen("alice") == {for_contoso}
    assert seen("bob") == {for_fabrikam}
    assert seen("leo") == {for_contoso, for_fabrikam, for_nobody}
    for name in ("rita", "audrey", "carl"):
        with pytest.raises(PermissionDenied):
            seen(name)


# --- invitations ----------------------------------------------------------------------------


@pytest.mark.parametrize("inviter", ["alice", "leo"])
def test_invite_and_accept(people, inviter, settings, mailoutbox, django_capture_on_commit_callbacks):
    from secdesk.accounts import services
    from secdesk.accounts.actors import actor_for
    from secdesk.accounts.models import Membership

    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    with django_capture_on_commit_callbacks(execute=True):
        issued = services.invite_member(
            people.actor(inviter),
            organization_id=people.orgs["contoso"].pk,
            email="Nina@Contoso.example",
            role="publisher_admin",
        )
    assert issued.invitation.email == "nina@contoso.example"
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["nina@contoso.example"]
    assert issued.url in mailoutbox[0].body
    assert "Contoso" in mailoutbox[0].subject

    nina = newcomer("nina@contoso.example")
    pending = pending_for(nina, people.orgs["contoso"])
    membership = services.accept_invitation(actor_for(nina), token=issued.token)
    assert (membership.organization, membership.role) == (people.orgs["contoso"], "publisher_admin")
    pending.refresh_from_db()
    assert pending.status == "approved"
    with pytest.raises(Conflict):
        services.accept_invitation(actor_for(nina), token=issued.token)
    assert Membership.objects.filter(user=nina).count() == 1


@pytest.mark.parametrize(
    ("name", "organization", "error"),
    [
        ("bob", "contoso", NotFound),
        ("carl", "contoso", PermissionDenied),
        ("rita", "contoso", PermissionDenied),
        ("audrey", "contoso", PermissionDenied),
        ("alice", "fabrikam", NotFound),
    ],
)
def test_who_may_not_invite(people, name, organization, error):
    from secdesk.accounts import services
    from secdesk.accounts.models import Invitation

    with pytest.raises(error):
        services.invite_member(people.actor(name), organization_id=people.orgs[organization].pk, email="m@x.example")
    assert not Invitation.objects.exists()


def test_invitation_input_is_checked(people):
    from secdesk.accounts import services

    with pytest.raises(InvalidInput) as bad:
        services.invite_member(
            people.actor("alice"), organization_id=people.orgs["contoso"].pk, email="not-an-address", role="lead"
        )
    assert {e.field for e in bad.value.errors} == {"email", "role"}
    with pytest.raises(Conflict):
        services.invite_member(
            people.actor("alice"), organization_id=people.orgs["contoso"].pk, email="carl@contoso.example"
        )


def test_an_invitation_needs_the_invited_address_verified(people):
    from secdesk.accounts import services
    from secdesk.accounts.actors import actor_for

    issued = services.invite_member(
        people.actor("alice"), organization_id=people.orgs["contoso"].pk, email="l@x.example"
    )
    with pytest.raises(PermissionDenied):
        services.accept_invitation(people.actor("bob"), token=issued.token)  # someone else got the link
    unverified = newcomer("l@x.example", verified=False)
    with pytest.raises(PermissionDenied):
        services.accept_invitation(actor_for(unverified), token=issued.token)
    with pytest.raises(NotFound):
        services.accept_invitation(actor_for(unverified), token=issued.token[:-2] + "xx")


def test_a_newer_invitation_replaces_an_older_one_and_expiry_counts(people):
    from secdesk.accounts import services
    from secdesk.accounts.actors import actor_for

    first = services.invite_member(
        people.actor("alice"), organization_id=people.orgs["contoso"].pk, email="k@x.example"
    )
    second = services.invite_member(
        people.actor("alice"), organization_id=people.orgs["contoso"].pk, email="k@x.example"
    )
    invitee = actor_for(newcomer("k@x.example"))
    with pytest.raises(Conflict):
        services.accept_invitation(invitee, token=first.token)
    second.invitation.expires_at = timezone.now() - timedelta(seconds=1)
    second.invitation.save()
    with pytest.raises(Conflict):
        services.accept_invitation(invitee, token=second.token)


def test_the_invitation_page_accepts_on_post_only(people, client):
    from secdesk.accounts import services
    from secdesk.accounts.models import Membership

    issued = services.invite_member(
        people.actor("alice"), organization_id=people.orgs["contoso"].pk, email="j@x.example"
    )
    anonymous = client.get(issued.path)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login/")
    invitee = newcomer("j@x.example")
    client.force_login(invitee)
    shown = client.get(issued.path)
    assert shown.status_code == 200
    assert b"Contoso" in shown.content
    assert not Membership.objects.filter(user=invitee).exists()
    accepted = client.post(issued.path)
    assert accepted.status_code == 302
    assert Membership.objects.filter(user=invitee, organization=people.orgs["contoso"]).exists()
    assert client.get("/invitations/not-a-token/").status_code == 404


# --- removing members -----------------------------------------------------------------------


@pytest.mark.parametrize("remover", ["alice", "leo"])
def test_admin_of_the_organisation_or_a_lead_removes(people, remover):
    from secdesk.accounts import services
    from secdesk.accounts.models import Membership

    services.remove_member(
        people.actor(remover), organization_id=people.orgs["contoso"].pk, email="CARL@contoso.example"
    )
    assert not Membership.objects.filter(user=people.users["carl"]).exists()
    with pytest.raises(NotFound):
        services.remove_member(
            people.actor(remover), organization_id=people.orgs["contoso"].pk, email="carl@contoso.example"
        )


@pytest.mark.parametrize(("name", "error"), [("bob", NotFound), ("carl", PermissionDenied), ("rita", PermissionDenied)])
def test_who_may_not_remove(people, name, error):
    from secdesk.accounts import services
    from secdesk.accounts.models import Membership

    with pytest.raises(error):
        services.remove_member(
            people.actor(name), organization_id=people.orgs["contoso"].pk, email="carl@contoso.example"
        )
    assert Membership.objects.filter(user=people.users["carl"]).exists()


def test_the_last_publisher_admin_stays_unless_a_lead_removes_them(people):
    from secdesk.accounts import services
    from secdesk.accounts.models import Membership

    contoso = people.orgs["contoso"].pk
    with pytest.raises(Conflict):
        services.remove_member(people.actor("alice"), organization_id=contoso, email="alice@contoso.example")
    services.remove_member(people.actor("leo"), organization_id=contoso, email="alice@contoso.example")
    assert not Membership.objects.filter(user=people.users["alice"], organization_id=contoso).exists()


# --- the API routes (called directly until the router is registered) -------------------------


def _request(rf: RequestFactory, people, name: str):
    request = rf.get("/")
    request.user = people.users[name]
    request.actor = people.actor(name)
    return request


def test_api_members_routes(people, rf):
    from secdesk.api import members

    listed = members.list_members(_request(rf, people, "alice"), "contoso")
    assert [m["email"] for m in listed] == ["alice@contoso.example", "carl@contoso.example"]
    assert all(members.MemberOut.model_validate(m) for m in listed)
    with pytest.raises(NotFound):
        members.list_members(_request(rf, people, "bob"), "contoso")
    with pytest.raises(PermissionDenied):
        members.list_members(_request(rf, people, "carl"), "contoso")

    invited = members.invite(
        _request(rf, people, "alice"), "contoso", members.InvitationIn(email="i@x.example", role="publisher_member")
    )
    assert invited.status_code == 201
    members.remove(_request(rf, people, "alice"), "contoso", "carl@contoso.example")


def test_api_membership_request_routes(people, rf):
    from secdesk.api import members

    request = pending_for(newcomer("h@elsewhere.example"))
    assert members.list_requests(_request(rf, people, "alice"), status="pending") == []
    listed = members.list_requests(_request(rf, people, "leo"), status="pending")
    assert [r["email"] for r in listed] == ["h@elsewhere.example"]
    with pytest.raises(InvalidInput):
        members.list_requests(_request(rf, people, "leo"), status="everything")
    approved = members.approve(
        _request(rf, people, "leo"), request.pk, members.ApproveIn(organization="fabrikam", role="publisher_member")
    )
    assert (approved["status"], approved["organization"], approved["decided_by"]) == (
        "approved",
        "fabrikam",
        "leo@marketplace.example",
    )
    other = pending_for(newcomer("g@fabrikam.example", verified=False), people.orgs["fabrikam"])
    rejected = members.reject(_request(rf, people, "bob"), other.pk, members.RejectIn(reason="unknown"))
    assert rejected["status"] == "rejected"
