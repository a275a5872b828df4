"""Tiny pages of the accounts app: who is signed in, and accepting an invitation.

The web portal comes later; these only parse, call one selector or service
and render.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from secdesk.accounts import services
from secdesk.accounts.actors import actor_for
from secdesk.accounts.models import Membership, MembershipRequest, User
from secdesk.domain.errors import DomainError, NotFound


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Who is signed in: e-mail, staff role, organisations, a pending request."""
    user = request.user
    assert isinstance(user, User)  # noqa: S101 — login_required
    memberships = Membership.objects.filter(user=user).select_related("organization").order_by("organization__name")
    pending = (
        MembershipRequest.objects.filter(user=user, status=MembershipRequest.PENDING)
        .select_related("organization")
        .first()
    )
    return render(request, "accounts/home.html", {"memberships": memberships, "pending": pending})


@login_required
@require_http_methods(["GET", "POST"])
def accept_invitation(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows the invitation; POST (CSRF-checked) accepts it."""
    try:
        invitation = services.invitation_from_token(token)
    except NotFound as exc:
        return render(request, "accounts/invitation.html", {"error": exc.message}, status=404)
    if request.method == "POST":
        user = request.user
        try:
            membership = services.accept_invitation(actor_for(user if isinstance(user, User) else None), token=token)
        except DomainError as exc:
            return render(
                request, "accounts/invitation.html", {"invitation": invitation, "error": exc.message}, status=403
            )
        messages.success(request, f"You joined {membership.organization.name}.")
        return redirect("home")
    return render(request, "accounts/invitation.html", {"invitation": invitation})
