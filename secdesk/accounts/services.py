"""Managing an organisation's people (membership requests, invitations, removal) and one's own preferences.

Every service takes the ``actor`` first and keyword arguments after it,
authorises with ``Permission.MEMBER_MANAGE`` for the organisation concerned
(a publisher admin for their own organisation, a lead for any), locks what it
changes and runs in one transaction. An organisation or request the actor may
not see answers ``NotFound``, exactly like one that does not exist.

Memberships a service adds, changes or removes are recorded in the security
audit log as the actor's (``audit.acts_as_actor``; the receivers in
``audit.py`` write the events).

Invitations: the link carries a signed, expiring token (``django.core.signing``,
nothing secret is stored); accepting it needs a signed-in person who has
verified the invited address, so a forwarded link is worth nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import available_timezones

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from secdesk.accounts import audit
from secdesk.accounts.models import Invitation, Membership, MembershipRequest, Organization, User
from secdesk.domain.errors import Conflict, ErrorList, NotFound, PermissionDenied
from secdesk.domain.policy import PUBLISHER_ROLES, Actor, Permission, Role, can, require

logger = logging.getLogger("secdesk.accounts")

INVITATION_SALT = "secdesk.accounts.invitation"
INVITATION_DAYS = 7


def manages_every_organization(actor: Actor) -> bool:
    """A lead: may manage the members of any organisation (and place people nobody placed)."""
    return can(actor, Permission.MEMBER_MANAGE)


def _organization(actor: Actor, organization_id: int, *, lock: bool = False) -> Organization:
    """The organisation, if the actor may see it (staff: any; publishers: their own)."""
    if not (actor.is_staff_member or organization_id in actor.organization_ids()):
        raise NotFound("no such organisation")
    queryset = Organization.objects.select_for_update() if lock else Organization.objects.all()
    organization = queryset.filter(pk=organization_id).first()
    if organization is None:
        raise NotFound("no such organisation")
    return organization


def _role(value: str, errors: ErrorList) -> Role | None:
    try:
        role = Role(value)
    except ValueError:
        role = None
    if role not in PUBLISHER_ROLES:
        errors.add("role", "must be publisher_member or publisher_admin", code="invalid_choice")
        return None
    return role


def _locked_request(actor: Actor, request_id: int) -> MembershipRequest:
    found = MembershipRequest.objects.select_for_update().filter(pk=request_id).first()
    if found is None:
        raise NotFound("no such membership request")
    visible = manages_every_organization(actor) or (
        found.organization_id is not None
        and can(actor, Permission.MEMBER_MANAGE, organization_id=found.organization_id)
    )
    if not visible:
        raise NotFound("no such membership request")
    if found.status != MembershipRequest.PENDING:
        raise Conflict(f"the request was already {found.status}")
    return found


@audit.acts_as_actor("approve_membership_request")
def approve_membership_request(
    actor: Actor,
    *,
    request_id: int,
    organization_id: int | None = None,
    role: str = Role.PUBLISHER_MEMBER.value,
) -> Membership:
    """Approve a pending request: the person joins ``organization_id`` (default: the one asked for)."""
    errors = ErrorList()
    chosen_role = _role(role, errors)
    with transaction.atomic():
        request = _locked_request(actor, request_id)
        target_id = organization_id if organization_id is not None else request.organization_id
        if target_id is None:
            errors.add("organization", "choose the organisation to join", code="required")
        errors.raise_if_any()
        if target_id is None or chosen_role is None:  # reported above; narrows the types
            raise AssertionError
        organization = _organization(actor, target_id, lock=True)
        require(actor, Permission.MEMBER_MANAGE, organization_id=organization.pk)
        membership, created = Membership.objects.get_or_create(
            user_id=request.user_id, organization=organization, defaults={"role": chosen_role.value}
        )
        if not created and membership.role != chosen_role.value and chosen_role is Role.PUBLISHER_ADMIN:
            membership.role = chosen_role.value
            membership.save(update_fields=["role"])
        request.organization = organization
        request.status = MembershipRequest.APPROVED
        request.decided_by_id = actor.user_id
        request.decided_at = timezone.now()
        request.save(update_fields=["organization", "status", "decided_by", "decided_at"])
    logger.info(
        "membership request %s approved by %s: %s joins %s", request.pk, actor.email, request.email, organization
    )
    return membership


def reject_membership_request(actor: Actor, *, request_id: int, reason: str = "") -> MembershipRequest:
    """Reject a pending request; the person stays signed up with no organisation."""
    errors = ErrorList()
    if len(reason) > 500:
        errors.add("reason", "is longer than 500 characters", code="too_long")
    errors.raise_if_any()
    with transaction.atomic():
        request = _locked_request(actor, request_id)
        request.status = MembershipRequest.REJECTED
        request.decided_by_id = actor.user_id
        request.decided_at = timezone.now()
        request.reason = reason.strip()
        request.save(update_fields=["status", "decided_by", "decided_at", "reason"])
    logger.info("membership request %s rejected by %s", request.pk, actor.email)
    return request


@dataclass(frozen=True)
class IssuedInvitation:
    invitation: Invitation
    token: str

    @property
    def path(self) -> str:
        return reverse("invitation_accept", kwargs={"token": self.token})

    @property
    def url(self) -> str:
        return f"{settings.SITE_URL}{self.path}"


def invitation_token(invitation: Invitation) -> str:
    return signing.dumps({"i": invitation.pk, "e": invitation.email}, salt=INVITATION_SALT, compress=True)


def invite_member(
    actor: Actor, *, organization_id: int, email: str, role: str = Role.PUBLISHER_MEMBER.value
) -> IssuedInvitation:
    """Invite ``email`` to the organisation; the link is e-mailed once the transaction commits.

    An earlier open invitation of the same address to the same organisation is revoked.
    """
    from secdesk.accounts.tasks import send_invitation_email

    errors = ErrorList()
    address = email.strip().lower()
    try:
        validate_email(address)
    except ValidationError:
        errors.add("email", "is not a valid e-mail address", code="invalid")
    chosen_role = _role(role, errors)
    with transaction.atomic():
        organization = _organization(actor, organization_id, lock=True)
        require(actor, Permission.MEMBER_MANAGE, organization_id=organization.pk)
        errors.raise_if_any()
        if chosen_role is None:  # reported above; narrows the type
            raise AssertionError
        if Membership.objects.filter(organization=organization, user__email__iexact=address).exists():
            raise Conflict(f"{address} is already a member of {organization.name}")
        now = timezone.now()
        Invitation.objects.filter(
            organization=organization, email=address, accepted_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=now)
        invitation = Invitation.objects.create(
            organization=organization,
            email=address,
            role=chosen_role.value,
            invited_by_id=actor.user_id,
            created_at=now,
            expires_at=now + timedelta(days=INVITATION_DAYS),
        )
        invitation_id = invitation.pk
        transaction.on_commit(lambda: send_invitation_email.enqueue(invitation_id))
    logger.info("%s invited %s to %s as %s", actor.email, address, organization.slug, chosen_role.value)
    return IssuedInvitation(invitation=invitation, token=invitation_token(invitation))


def invitation_from_token(token: str) -> Invitation:
    """The invitation a link names (valid signature, not expired); ``NotFound`` otherwise."""
    try:
        data = signing.loads(token, salt=INVITATION_SALT, max_age=timedelta(days=INVITATION_DAYS))
    except signing.BadSignature:  # includes SignatureExpired
        raise NotFound("this invitation link is not valid (or has expired)") from None
    invitation = Invitation.objects.select_related("organization").filter(pk=data.get("i")).first()
    if invitation is None or invitation.email != data.get("e"):
        raise NotFound("this invitation link is not valid (or has expired)")
    return invitation


@audit.acts_as_actor("accept_invitation")
def accept_invitation(actor: Actor, *, token: str) -> Membership:
    """The signed-in person accepts an invitation addressed to one of their verified addresses."""
    user_id = actor.signed_in_id()
    invitation = invitation_from_token(token)
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().select_related("organization").get(pk=invitation.pk)
        now = timezone.now()
        if invitation.revoked_at is not None or invitation.expires_at <= now:
            raise Conflict("this invitation was withdrawn or has expired; ask for a new one")
        if invitation.accepted_at is not None:
            raise Conflict("this invitation was already accepted")
        if not EmailAddress.objects.filter(user_id=user_id, email__iexact=invitation.email, verified=True).exists():
            raise PermissionDenied(
                f"this invitation is for {invitation.email}: sign in with that address and verify it first"
            )
        membership, created = Membership.objects.get_or_create(
            user_id=user_id, organization=invitation.organization, defaults={"role": invitation.role}
        )
        if not created and invitation.role == Role.PUBLISHER_ADMIN.value and membership.role != invitation.role:
            membership.role = invitation.role
            membership.save(update_fields=["role"])
        invitation.accepted_at = now
        invitation.accepted_by_id = user_id
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        MembershipRequest.objects.filter(user_id=user_id, status=MembershipRequest.PENDING).update(
            status=MembershipRequest.APPROVED,
            organization=invitation.organization,
            decided_by=invitation.invited_by_id,
            decided_at=now,
            reason="invitation accepted",
        )
    logger.info("%s accepted the invitation to %s", invitation.email, invitation.organization.slug)
    return membership


@audit.acts_as_actor("remove_member")
def remove_member(actor: Actor, *, organization_id: int, email: str) -> None:
    """Remove a person from the organisation.

    A publisher admin may not remove the organisation's last publisher admin
    (themselves included); a lead may.
    """
    with transaction.atomic():
        organization = _organization(actor, organization_id, lock=True)
        require(actor, Permission.MEMBER_MANAGE, organization_id=organization.pk)
        membership = (
            Membership.objects.select_for_update()
            .filter(organization=organization, user__email__iexact=email.strip())
            .first()
        )
        if membership is None:
            raise NotFound(f"{email} is not a member of {organization.name}")
        if membership.role == Role.PUBLISHER_ADMIN.value and not manages_every_organization(actor):
            admins = Membership.objects.filter(organization=organization, role=Role.PUBLISHER_ADMIN.value).count()
            if admins <= 1:
                raise Conflict("an organisation keeps at least one publisher admin; ask a lead to remove the last one")
        membership.delete()
    logger.info("%s removed %s from %s", actor.email, email, organization.slug)


# One's own preferences ------------------------------------------------------------------------------------------

BROWSER_LANGUAGE = ""  # ``User.language`` left blank: the browser's Accept-Language decides


def update_preferences(actor: Actor, *, language: str | None = None, timezone_name: str | None = None) -> User:
    """Set the signed-in person's own language and/or timezone (what is None stays as it is).

    ``language`` is one of ``settings.LANGUAGES`` or ``""`` for the browser's
    choice; ``timezone_name`` an IANA zone name. Every fault is reported at
    once (``InvalidInput``). Nobody changes another person's preferences, so
    there is nothing to authorise beyond being signed in; the row is locked
    so that two tabs saving at once cannot interleave.
    """
    if actor.user_id is None:
        raise PermissionDenied("sign in to change your preferences")
    errors = ErrorList()
    languages = {code for code, _name in settings.LANGUAGES}
    if language is not None and language != BROWSER_LANGUAGE and language not in languages:
        errors.add(
            "language",
            f"must be one of {', '.join(sorted(languages))}, or empty for the browser's",
            code="invalid_choice",
        )
    if timezone_name is not None and timezone_name not in available_timezones():
        errors.add("timezone", "is not a known timezone (an IANA name such as Europe/Istanbul)", code="invalid_choice")
    errors.raise_if_any()
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=actor.user_id)
        changed = []
        if language is not None and user.language != language:
            user.language = language
            changed.append("language")
        if timezone_name is not None and user.timezone != timezone_name:
            user.timezone = timezone_name
            changed.append("timezone")
        if changed:
            user.save(update_fields=changed)
    return user
