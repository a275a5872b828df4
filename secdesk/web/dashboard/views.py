"""The responders' dashboard page: one selector (``secdesk.triage.recent.recent_dashboard``), charts, data tables."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET

from secdesk.accounts.views import requires
from secdesk.domain.errors import InvalidInput
from secdesk.domain.policy import Permission
from secdesk.triage import metrics
from secdesk.triage.recent import recent_dashboard
from secdesk.web.common import actor_of, domain_errors, page, zone_of
from secdesk.web.dashboard import figures

TEMPLATE = "web/dashboard/dashboard.html"


def _periods() -> list[tuple[str, str]]:
    return [
        (str(weeks), ngettext("Last %(count)s week", "Last %(count)s weeks", weeks) % {"count": weeks})
        for weeks in metrics.WEEK_CHOICES
    ]


@login_required
@require_GET
@requires(Permission.QUEUE_READ)
@domain_errors
def dashboard(request: HttpRequest) -> HttpResponse:
    """Acknowledgement times, SLA compliance, open tickets by severity and age, offers under action."""
    raw = request.GET.get("weeks", str(metrics.DEFAULT_WEEKS)).strip()
    context = {"nav": "dashboard", "periods": _periods(), "selected": raw}
    try:
        figures_ = recent_dashboard(
            actor_of(request), weeks=int(raw) if raw.isdigit() else -1, zone=zone_of(request.user)
        )
    except InvalidInput:
        choices = ", ".join(str(weeks) for weeks in metrics.WEEK_CHOICES)
        error = _("Choose one of the periods offered: %(choices)s weeks.") % {"choices": choices}
        return page(request, TEMPLATE, {**context, "errors": [error]}, status=400)
    return page(request, TEMPLATE, {**context, **figures.build(figures_), "figures": figures_})
