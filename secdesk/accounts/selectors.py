"""Reads of organisations' people, scoped to the actor.

An organisation the actor may not see answers ``NotFound`` like a missing
one; one they see but may not manage answers ``PermissionDenied``.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from secdesk.accounts.models import Invitation, Membership, MembershipRequest, Organization
from secdesk.accounts.services import manages_every_organization
from secdesk.domain.errors import NotFound, PermissionDenied
from secdesk.domain.policy import Actor, Permission, can, require


def organization_by_slug(actor: Actor, slug: str) -> Organization:
    """The organisation, if the actor may see it (staff: any; publishers: their own)."""
    organization = Organization.objects.filter(slug=slug).first()
    if organization is None or not (actor.is_staff_member or organization.pk in actor.organization_ids()):
        raise NotFound("no such organisation")
    return organization


def members_of(actor: Actor, organization: Organization) -> QuerySet[Membership]:
    require(actor, Permission.MEMBER_MANAGE, organization_id=organization.pk)
    return Membership.objects.filter(organization=organization).select_related("user").order_by("user__email")


def open_invitations_of(actor: Actor, organization: Organization) -> QuerySet[Invitation]:
    require(actor, Permission.MEMBER_MANAGE, organization_id=organization.pk)
    return Invitation.objects.filter(
        organization=organization, accepted_at__isnull=True, revoked_at__isnull=True
    ).order_by("email")


def membership_requests_visible_to(
    actor: Actor, *, status: str | None = MembershipRequest.PENDING
) -> QuerySet[MembershipRequest]:
    """Leads: every request; publisher admins: those addressed to their organisations; others: none."""
    queryset = MembershipRequest.objects.select_related("user", "organization", "decided_by").order_by(
        "requested_at", "pk"
    )
    if status is not None:
        queryset = queryset.filter(status=status)
    if manages_every_organization(actor):
        return queryset
    managed = [
        org_id for org_id in actor.organization_ids() if can(actor, Permission.MEMBER_MANAGE, organization_id=org_id)
    ]
    if not managed:
        raise PermissionDenied("only leads and publisher admins decide membership requests")
    return queryset.filter(Q(organization_id__in=managed))


def membership_request(actor: Actor, request_id: int) -> MembershipRequest:
    """One request the actor may decide (or decided), in any status; ``NotFound`` otherwise."""
    found = membership_requests_visible_to(actor, status=None).filter(pk=request_id).first()
    if found is None:
        raise NotFound("no such membership request")
    return found
