"""The services' field errors, said for the responders' forms and placed next to their fields.

The services answer in precise English (``give a reason for choosing
severity other than the suggested critical``); where a form knows what the
person was doing it says so in their language. Everything else goes through
the portal's shared wording (:func:`secdesk.web.forms.describe`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from secdesk.domain.errors import FieldError
from secdesk.web.forms import describe

#: Said the same on every responder form, by (field, code).
COMMON: Mapping[tuple[str, str], Promise] = {
    ("reason", "required"): _("Give a reason."),
    ("duplicate_of", "required"): _("Give the confirmation number of the original ticket."),
    ("duplicate_of", "unknown_ticket"): _("No ticket has this confirmation number."),
    ("duplicate_of", "invalid"): _("A ticket cannot duplicate itself."),
    ("assignee", "unknown"): _("No active responder or lead has this e-mail address."),
    ("description", "required"): _("Say what you need from the publisher."),
    ("due_at", "invalid"): _("Give a due date in the future."),
    ("due_at", "required"): _("Give a due date."),
    ("offer", "required"): _("Choose the offer to modify or remove."),
    ("offer", "unknown_offer"): _("Choose one of the ticket's offers."),
    ("kind", "invalid_choice"): _("Choose what you need."),
    ("outcome", "invalid_choice"): _("Choose the outcome of the assessment."),
    ("outcome", "invalid_state"): _("The ticket cannot be assessed in its current state."),
    ("close_reason", "required"): _("Choose why the ticket is closed."),
    ("close_reason", "invalid_choice"): _("Choose one of the reasons listed."),
    ("decision", "invalid_choice"): _("Grant or refuse the extension."),
    ("priority", "invalid_choice"): _("Choose a priority from P1 to P4."),
    ("severity", "invalid_choice"): _("Choose a severity."),
    ("plans", "unknown_plan"): _("Choose plans of the ticket's offers."),
    ("versions", "invalid"): _("A version is at most 64 characters."),
    ("status", "invalid_choice"): _("Choose one of the open statuses."),
    ("category", "invalid_choice"): _("Choose a category."),
    ("offer", "unknown"): _("No offer has this slug."),
    ("publisher", "unknown"): _("No publisher has this slug."),
    ("cursor", "invalid_cursor"): _("That page link is not valid: start from the first page."),
    ("breached", "invalid_choice"): _("Choose yes or no."),
}


def by_field(
    errors: Iterable[FieldError],
    *,
    known: Iterable[str],
    specific: Mapping[tuple[str, str], Promise | str] | None = None,
) -> dict[str, list[str]]:
    """Messages per form field; errors of fields the form does not show go under ``__all__``."""
    shown = set(known)
    out: dict[str, list[str]] = defaultdict(list)
    for error in errors:
        name = error.field.partition(".")[0]
        said = (specific or {}).get((name, error.code)) or COMMON.get((name, error.code))
        message = str(said) if said is not None else describe(error)[1]
        out[name if name in shown else "__all__"].append(message)
    return dict(out)
