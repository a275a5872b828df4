"""The language a page is shown in: the person's profile, else their browser; switching saves it.

Django's ``LocaleMiddleware`` picks a language from the language cookie or
``Accept-Language`` before anyone is known. :class:`ProfileLanguageMiddleware`
runs after authentication and puts a signed-in person's saved choice
(``User.language``) above both, so the desk speaks to them the same way on
every browser. The switcher posts to :func:`set_language`, which does what
Django's view does (cookie, redirect to a safe ``next``) and, for a signed-in
person, saves the choice in their profile.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from secdesk.accounts import services
from secdesk.accounts.actors import actor_for
from secdesk.accounts.models import User
from secdesk.domain.errors import InvalidInput


def profile_language(user: object) -> str | None:
    """The signed-in person's saved language, if it is one the desk speaks."""
    if not isinstance(user, User) or not user.is_authenticated:
        return None
    chosen = user.language
    return chosen if chosen in {code for code, _name in settings.LANGUAGES} else None


class ProfileLanguageMiddleware:
    """After ``AuthenticationMiddleware``: a saved language wins over the cookie and the browser."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        chosen = profile_language(getattr(request, "user", None))
        if chosen is not None and chosen != translation.get_language():
            translation.activate(chosen)
            request.LANGUAGE_CODE = chosen  # what LocaleMiddleware sets
        return self.get_response(request)


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's switcher (cookie + redirect), and for a signed-in person the profile too."""
    response = django_set_language(request)
    user = request.user
    language = request.POST.get("language", "")
    if isinstance(user, User) and user.is_authenticated:
        # An unknown language: Django's view has already ignored it, and so does the profile.
        with suppress(InvalidInput):
            services.update_preferences(actor_for(user), language=language)
    return response
