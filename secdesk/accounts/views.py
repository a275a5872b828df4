"""Tiny pages of the accounts app: who is signed in, accepting an invitation, one's API tokens.

The web portal comes later; these only parse, call one selector or service
and render. Each view declares the permission it needs (``view.permission``,
set by :func:`requires`), so that a route walk can check every route.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from secdesk.accounts import services, tokens
from secdesk.accounts.actors import actor_for, actor_of_request
from secdesk.accounts.models import ApiToken, Membership, MembershipRequest, User
from secdesk.domain.errors import DomainError, FieldError, InvalidInput, NotFound
from secdesk.domain.policy import Actor, Permission, can

View = Callable[..., HttpResponse]


def holds(actor: Actor, permission: Permission, *, in_organization: bool = False) -> bool:
    """Whether ``actor`` holds ``permission`` — with ``in_organization``, inside any of their organisations."""
    return can(actor, permission) or (
        in_organization and any(can(actor, permission, organization_id=o) for o in actor.organization_ids())
    )


def requires(permission: Permission, *, in_organization: bool = False) -> Callable[[View], View]:
    """Refuse (403) a signed-in person who lacks ``permission``; record it as ``view.permission``.

    With ``in_organization``, holding it inside one of the person's organisations is enough at the
    door (a publisher admin's ``webhook:manage``); the view's selector then scopes what they see.
    """

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not holds(actor_of_request(request), permission, in_organization=in_organization):
                raise HttpForbidden(f"not allowed: {permission.value}")
            return view(request, *args, **kwargs)

        # Read by the route walk (tests) and by the portal's navigation, which shows a link only to whom its door opens.
        guarded.permission = permission  # type: ignore[attr-defined]  # an attribute on a function
        guarded.in_organization = in_organization  # type: ignore[attr-defined]  # an attribute on a function
        return guarded

    return decorate


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


def _signed_in(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):  # login_required ran first
        raise HttpForbidden("sign in first")
    return user


def _token_rows(user: User) -> list[dict[str, Any]]:
    from django.utils import timezone

    now = timezone.now()
    rows = []
    for token in ApiToken.objects.filter(user=user).order_by("-created_at", "-id"):
        if token.revoked_at is not None:
            state = "revoked"
        elif token.expires_at is not None and token.expires_at <= now:
            state = "expired"
        else:
            state = "active"
        rows.append({"token": token, "state": state})
    return rows


@login_required
@never_cache  # the response that shows a new secret must not be kept by any cache
@require_http_methods(["GET", "POST"])
@requires(Permission.TOKEN_MANAGE)
def api_tokens(request: HttpRequest) -> HttpResponse:
    """GET lists the person's tokens; POST (CSRF-checked) creates one and shows its secret once."""
    user = _signed_in(request)
    values: dict[str, Any] = {"name": "", "scope": ApiToken.SCOPE_READ, "expires_in_days": 90}
    issued = None
    errors: list[FieldError] = []
    status = 200
    if request.method == "POST":
        values = {
            "name": request.POST.get("name", "").strip(),
            "scope": request.POST.get("scope", ""),
            "expires_in_days": request.POST.get("expires_in_days", "").strip(),
        }
        days: int | None = None
        if values["expires_in_days"]:
            try:
                days = int(values["expires_in_days"])
            except ValueError:
                errors.append(FieldError("expires_in_days", "must be a whole number of days", "invalid"))
        if not errors:
            try:
                issued = tokens.create_token(
                    user=user,
                    name=values["name"],
                    scope=values["scope"],
                    expires_in_days=days,
                    actor=user,
                    request=request,
                    via="web",
                )
            except InvalidInput as exc:
                errors = exc.errors
            except DomainError as exc:
                errors = [FieldError("name", exc.message, "conflict")]
        if errors:
            status = 422
        else:
            status = 201
            values = {"name": "", "scope": ApiToken.SCOPE_READ, "expires_in_days": 90}
    context = {
        "tokens": _token_rows(user),
        "issued": issued,
        "errors": errors,
        "form_values": values,
        "max_days": tokens.MAX_EXPIRY_DAYS,
    }
    return render(request, "accounts/tokens.html", context, status=status)


@login_required
@require_POST
@requires(Permission.TOKEN_MANAGE)
def revoke_api_token(request: HttpRequest, token_id: int) -> HttpResponse:
    """Revoke one of the person's own active tokens (someone else's answers 404, like a missing one)."""
    user = _signed_in(request)
    if not tokens.revoke_token(user=user, token_id=token_id, actor=user, request=request, via="web"):
        raise Http404("no such active token")
    messages.success(request, "The token was revoked; it no longer works.")
    return redirect("tokens")
