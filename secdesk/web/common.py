"""What every page of the portal shares: the signed-in actor, their timezone, the base context."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from secdesk.accounts.actors import actor_of_request
from secdesk.accounts.models import User
from secdesk.domain.errors import NotFound, PermissionDenied
from secdesk.domain.policy import Actor
from secdesk.web.navigation import links_for

View = Callable[..., HttpResponse]


def domain_errors(view: View) -> View:
    """A ticket one may not see is a 404 (like a missing one); a refused action is a 403."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from None
        except PermissionDenied as exc:
            raise HttpForbidden(exc.message) from None

    return guarded


def signed_in_user(request: HttpRequest) -> User | None:
    user = request.user
    return user if isinstance(user, User) else None


def actor_of(request: HttpRequest) -> Actor:
    """The domain actor of the signed-in person, built once per request."""
    return actor_of_request(request)


def zone_of(user: object) -> ZoneInfo:
    """The person's timezone (``User.timezone``); UTC when unset or unknown."""
    try:
        return ZoneInfo(str(getattr(user, "timezone", "") or "UTC"))
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def page(
    request: HttpRequest, template: str, context: dict[str, Any] | None = None, *, status: int = 200
) -> HttpResponse:
    """Render a full page with what the layout needs (navigation, timezone).

    ``page_url`` in the context is where the language switcher returns to when
    the page answers a POST (a form shown again with its errors).
    """
    actor = actor_of(request)
    zone = zone_of(request.user)
    context = context or {}
    links = links_for(actor)
    base = {
        "language_next": request.get_full_path() if request.method == "GET" else context.get("page_url", request.path),
        "actor": actor,
        "user_zone": zone,
        "user_zone_name": zone.key,
        "nav_links": links,
        "can_file": any(link.key == "new" for link in links),  # the door of "Start request" opens
        "is_staff_member": actor.is_staff_member,
    }
    response = render(request, template, {**base, **context}, status=status)
    response["Cache-Control"] = "private, no-store"
    return response
