"""Words people read for the catalogue's stored values: offer statuses and enforcement actions.

Stored values are stable English identifiers (``modification_requested``); the
translated words are here, with a context because the same short words
(Live, Suspended) mean other things elsewhere in the shared catalogue.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from django.utils.functional import Promise
from django.utils.translation import pgettext_lazy

OFFER_STATUS: Final[Mapping[str, Promise]] = {
    "live": pgettext_lazy("offer status", "Live"),
    "modification_requested": pgettext_lazy("offer status", "Modification requested"),
    "suspended": pgettext_lazy("offer status", "Suspended"),
    "delisted": pgettext_lazy("offer status", "Delisted"),
}

#: The action as a verb (the form's choices).
OFFER_ACTION: Final[Mapping[str, Promise]] = {
    "suspend": pgettext_lazy("offer action", "Suspend"),
    "delist": pgettext_lazy("offer action", "Delist"),
    "reinstate": pgettext_lazy("offer action", "Reinstate"),
}

#: The action as it reads in a history (what was done).
OFFER_ACTION_DONE: Final[Mapping[str, Promise]] = {
    "suspend": pgettext_lazy("offer action taken", "Suspended"),
    "delist": pgettext_lazy("offer action taken", "Delisted"),
    "reinstate": pgettext_lazy("offer action taken", "Reinstated"),
}

#: What each action means, shown next to its choice in the form.
OFFER_ACTION_HINT: Final[Mapping[str, Promise]] = {
    "suspend": pgettext_lazy("offer action", "Hidden from new purchases; existing customers keep it."),
    "delist": pgettext_lazy("offer action", "Removed from the marketplace."),
    "reinstate": pgettext_lazy("offer action", "Live again."),
}


def word(table: Mapping[str, Promise], value: str | None) -> str:
    """The readable word for ``value``, or the value itself when the table does not know it."""
    if not value:
        return ""
    found = table.get(value)
    return str(found) if found is not None else value
