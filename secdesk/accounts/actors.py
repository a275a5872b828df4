"""Turning a signed-in user (or a token) into the domain's ``Actor``."""

from __future__ import annotations

from secdesk.accounts.models import Membership, User
from secdesk.domain.policy import ANONYMOUS, Actor, Role


def actor_for(user: User | None, *, write_allowed: bool = True) -> Actor:
    """One query for the memberships; inactive or missing users are anonymous."""
    if user is None or not user.is_authenticated or not user.is_active:
        return ANONYMOUS
    memberships = {
        org_id: Role(role)
        for org_id, role in Membership.objects.filter(user_id=user.pk).values_list("organization_id", "role")
    }
    return Actor(
        user_id=user.pk,
        staff_role=Role(user.staff_role) if user.staff_role else None,
        memberships=memberships,
        email=user.email,
        write_allowed=write_allowed,
    )


_REQUEST_ACTOR = "_secdesk_actor"


def actor_of_request(request: object) -> Actor:
    """The signed-in person's actor, built once per request (the door check and the view share it)."""
    actor = getattr(request, _REQUEST_ACTOR, None)
    if not isinstance(actor, Actor):
        user = getattr(request, "user", None)
        actor = actor_for(user if isinstance(user, User) else None)
        setattr(request, _REQUEST_ACTOR, actor)
    return actor
