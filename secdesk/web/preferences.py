"""One's own preferences: the language the desk speaks and the timezone times are shown in.

Any signed-in person may change their own (and nobody else's), so the route is
on the route walk's allow-list rather than behind a permission of the policy.
"""

from __future__ import annotations

from zoneinfo import available_timezones

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from secdesk.accounts import services
from secdesk.domain.errors import InvalidInput
from secdesk.web.common import actor_of, page, signed_in_user
from secdesk.web.forms import field_errors

# Sorted once: the zone list does not change while the process runs.
ZONES = sorted(available_timezones())


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    assert user is not None  # noqa: S101 — login_required
    values = {"language": user.language, "timezone": user.timezone}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = {"language": request.POST.get("language", ""), "timezone": request.POST.get("timezone", "")}
        try:
            saved = services.update_preferences(
                actor_of(request), language=values["language"], timezone_name=values["timezone"]
            )
        except InvalidInput as exc:
            errors = field_errors(exc.errors, known=("language", "timezone"))
        else:
            # Speak the new language from the very next page (the saved choice wins from then on).
            translation.activate(saved.language or translation.get_language_from_request(request))
            messages.success(request, _("Your preferences are saved."))
            return redirect("web:preferences")
    context = {
        "values": values,
        "errors": errors,
        "languages": settings.LANGUAGES,
        "zones": ZONES,
        "page_url": request.path,
        "nav": "preferences",
    }
    return page(request, "web/preferences.html", context, status=400 if errors else 200)
