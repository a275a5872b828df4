"""Placing a person who signs in for the first time in their publisher organisation.

The rules, in order:

1. an Entra ID tenant id (``tid``, only from a verified Microsoft token) owned
   by an organisation: they join it as publisher member;
2. a **verified** e-mail address whose domain an organisation owns: they join
   it as publisher member;
3. otherwise they wait in a pending :class:`MembershipRequest` — addressed to
   the organisation owning the domain of an unverified address when there is
   one (its publisher admins may approve), else to nobody in particular (a
   lead approves and chooses the organisation).

Marketplace staff are never placed: their role is given by a lead, not by a
sign-in. These rules run once, when the account is created; later sign-ins
never re-join someone a publisher admin removed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from secdesk.accounts import audit
from secdesk.accounts.models import Membership, MembershipRequest, Organization, OrganizationDomain, User
from secdesk.domain.policy import Role

logger = logging.getLogger("secdesk.accounts")


def domain_of(email: str) -> str:
    """The lower-cased domain of ``email`` ('' when there is none)."""
    _, at, domain = email.strip().rpartition("@")
    return domain.lower().rstrip(".") if at else ""


def organization_for_domain(email: str) -> Organization | None:
    domain = domain_of(email)
    if not domain:
        return None
    found = OrganizationDomain.objects.select_related("organization").filter(domain=domain).first()
    return found.organization if found else None


def organization_for_tenant(tenant_id: str | None) -> Organization | None:
    if not tenant_id:
        return None
    return Organization.objects.filter(oidc_tenant_id__iexact=tenant_id.strip()).first()


@dataclass(frozen=True)
class Placement:
    """Where a new account landed: a membership, a pending request, or neither (staff)."""

    membership: Membership | None = None
    request: MembershipRequest | None = None


def request_membership(user: User, *, source: str, organization: Organization | None = None) -> MembershipRequest:
    """The user's pending request, created if there is none (one pending request per user)."""
    with transaction.atomic():
        existing = MembershipRequest.objects.filter(user=user, status=MembershipRequest.PENDING).first()
        if existing is not None:
            return existing
        try:
            with transaction.atomic():
                created = MembershipRequest.objects.create(
                    user=user, organization=organization, email=user.email, source=source[:100]
                )
        except IntegrityError:  # a concurrent sign-in created it first
            return MembershipRequest.objects.get(user=user, status=MembershipRequest.PENDING)
    logger.info("membership request %s: %s → %s", created.pk, user.email, organization or "(no organisation)")
    return created


def place_new_user(
    user: User,
    *,
    source: str,
    tenant_id: str | None = None,
    verified_emails: Iterable[str] = (),
    unverified_emails: Iterable[str] = (),
) -> Placement:
    """Apply the rules above to a user who has just signed up (see the module docstring)."""
    if user.staff_role:
        return Placement()
    verified = [e for e in verified_emails if e]
    with transaction.atomic():
        organization = organization_for_tenant(tenant_id)
        how = "tenant"
        if organization is None:
            how = "verified e-mail domain"
            organization = next(
                (org for org in (organization_for_domain(e) for e in verified) if org is not None), None
            )
        if organization is not None:
            with audit.acting(None, via=f"sign-in placement by {how}", source=source):
                membership, _ = Membership.objects.get_or_create(
                    user=user, organization=organization, defaults={"role": Role.PUBLISHER_MEMBER.value}
                )
            logger.info("%s joined %s by %s (%s)", user.email, organization.slug, how, source)
            return Placement(membership=membership)
        hint = next(
            (org for org in (organization_for_domain(e) for e in [*unverified_emails, user.email]) if org is not None),
            None,
        )
        return Placement(request=request_membership(user, source=source, organization=hint))
