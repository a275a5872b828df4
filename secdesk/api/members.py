"""Organisation members, invitations and membership requests.

Who may: a publisher admin for their own organisation, a lead for any
(``member:manage``). An organisation the caller may not see answers 404 like a
missing one; one they see but may not manage answers 403.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from secdesk.accounts import selectors, services
from secdesk.accounts.models import Membership, MembershipRequest
from secdesk.api.auth import actor_of
from secdesk.api.permissions import requires
from secdesk.api.schemas import ProblemOut, Strict
from secdesk.domain.errors import FieldError, InvalidInput
from secdesk.domain.policy import Permission

router = Router(tags=["members"])
ERRORS: dict[int, type[ProblemOut]] = {
    401: ProblemOut,
    403: ProblemOut,
    404: ProblemOut,
    409: ProblemOut,
    422: ProblemOut,
}


class MemberOut(Schema):
    email: str
    name: str
    role: str
    joined_at: datetime


class InvitationIn(Strict):
    email: str = Field(max_length=254)
    role: str = Field("publisher_member", description="publisher_member or publisher_admin")


class InvitationOut(Schema):
    email: str
    organization: str
    role: str
    expires_at: datetime


class MembershipRequestOut(Schema):
    id: int
    email: str
    name: str
    organization: str | None = Field(description="Slug of the organisation asked for; null if none is known")
    source: str
    status: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None


class ApproveIn(Strict):
    organization: str | None = Field(None, description="Slug; required when the request names no organisation")
    role: str = Field("publisher_member", description="publisher_member or publisher_admin")


class RejectIn(Strict):
    reason: str = Field("", max_length=500)


def _member(membership: Membership) -> dict[str, Any]:
    return {
        "email": membership.user.email,
        "name": membership.user.full_name,
        "role": membership.role,
        "joined_at": membership.created_at,
    }


def _request(found: MembershipRequest) -> dict[str, Any]:
    return {
        "id": found.pk,
        "email": found.email,
        "name": found.user.full_name,
        "organization": found.organization.slug if found.organization else None,
        "source": found.source,
        "status": found.status,
        "requested_at": found.requested_at,
        "decided_by": found.decided_by.email if found.decided_by else None,
        "decided_at": found.decided_at,
    }


@router.get("/organizations/{slug}/members", response={200: list[MemberOut], **ERRORS}, operation_id="member_list")
@requires(Permission.MEMBER_MANAGE)
def list_members(request: HttpRequest, slug: str) -> list[dict[str, Any]]:
    """The organisation's members and their roles."""
    actor = actor_of(request)
    organization = selectors.organization_by_slug(actor, slug)
    return [_member(m) for m in selectors.members_of(actor, organization)]


@router.post(
    "/organizations/{slug}/invitations",
    response={201: InvitationOut, **ERRORS},
    operation_id="member_invite",
)
@requires(Permission.MEMBER_MANAGE)
def invite(request: HttpRequest, slug: str, payload: InvitationIn) -> Status:
    """Invite someone by e-mail; they get a link to accept after signing in with that (verified) address."""
    actor = actor_of(request)
    organization = selectors.organization_by_slug(actor, slug)
    issued = services.invite_member(actor, organization_id=organization.pk, email=payload.email, role=payload.role)
    invitation = issued.invitation
    return Status(
        201,
        {
            "email": invitation.email,
            "organization": organization.slug,
            "role": invitation.role,
            "expires_at": invitation.expires_at,
        },
    )


@router.delete("/organizations/{slug}/members/{email}", response={204: None, **ERRORS}, operation_id="member_remove")
@requires(Permission.MEMBER_MANAGE)
def remove(request: HttpRequest, slug: str, email: str) -> Status:
    """Remove a member (a publisher admin cannot remove the organisation's last publisher admin)."""
    actor = actor_of(request)
    organization = selectors.organization_by_slug(actor, slug)
    services.remove_member(actor, organization_id=organization.pk, email=email)
    return Status(204, None)


@router.get(
    "/membership-requests", response={200: list[MembershipRequestOut], **ERRORS}, operation_id="membership_request_list"
)
@requires(Permission.MEMBER_MANAGE)
def list_requests(
    request: HttpRequest,
    status: str = Query("pending", description="pending, approved, rejected or all"),
) -> list[dict[str, Any]]:
    """Requests you may decide: a lead sees all, a publisher admin those for their organisations."""
    if status not in {"pending", "approved", "rejected", "all"}:
        raise InvalidInput([FieldError("status", "must be pending, approved, rejected or all", "invalid_choice")])
    chosen = None if status == "all" else status
    found = selectors.membership_requests_visible_to(actor_of(request), status=chosen)
    return [_request(r) for r in found]


@router.post(
    "/membership-requests/{request_id}/approve",
    response={200: MembershipRequestOut, **ERRORS},
    operation_id="membership_request_approve",
)
@requires(Permission.MEMBER_MANAGE)
def approve(request: HttpRequest, request_id: int, payload: ApproveIn) -> dict[str, Any]:
    """Approve: the person joins the organisation asked for (or the one chosen by a lead)."""
    actor = actor_of(request)
    organization_id = None
    if payload.organization:
        organization_id = selectors.organization_by_slug(actor, payload.organization).pk
    services.approve_membership_request(
        actor, request_id=request_id, organization_id=organization_id, role=payload.role
    )
    return _request(selectors.membership_request(actor, request_id))


@router.post(
    "/membership-requests/{request_id}/reject",
    response={200: MembershipRequestOut, **ERRORS},
    operation_id="membership_request_reject",
)
@requires(Permission.MEMBER_MANAGE)
def reject(request: HttpRequest, request_id: int, payload: RejectIn) -> dict[str, Any]:
    """Reject: the person keeps their account but joins nothing."""
    actor = actor_of(request)
    services.reject_membership_request(actor, request_id=request_id, reason=payload.reason)
    return _request(selectors.membership_request(actor, request_id))
