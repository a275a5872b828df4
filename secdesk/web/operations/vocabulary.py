"""Words people read for the operations pages: inbound e-mail and webhook delivery states, event types.

The webhook event catalogue (``secdesk.webhooks.events.EVENT_TYPES``) describes
each type in English for the API documentation; here each is said for people
in their language (a test keeps the two lists in step).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

INBOUND_STATUS: Final[Mapping[str, Promise]] = {
    "quarantined": pgettext_lazy("inbound e-mail status", "Quarantined"),
    "malformed": pgettext_lazy("inbound e-mail status", "Malformed"),
    "posted": pgettext_lazy("inbound e-mail status", "Posted to a ticket"),
    "discarded": pgettext_lazy("inbound e-mail status", "Discarded"),
    "duplicate": pgettext_lazy("inbound e-mail status", "Duplicate"),
    "ignored_auto_reply": pgettext_lazy("inbound e-mail status", "Ignored (auto-reply or bounce)"),
}

#: The quarantine's filters, in the order shown.
QUARANTINE_FILTERS: Final[Mapping[str, Promise]] = {
    "waiting": pgettext_lazy("quarantine filter", "Waiting for a decision"),
    "released": pgettext_lazy("quarantine filter", "Released to a ticket"),
    "discarded": pgettext_lazy("quarantine filter", "Discarded"),
}

DELIVERY_STATUS: Final[Mapping[str, Promise]] = {
    "pending": pgettext_lazy("webhook delivery status", "Waiting to be sent"),
    "sending": pgettext_lazy("webhook delivery status", "Being sent"),
    "delivered": pgettext_lazy("webhook delivery status", "Delivered"),
    "failed": pgettext_lazy("webhook delivery status", "Failed"),
}

#: Every webhook event type, said for people (the keys are ``EVENT_TYPES``'s).
EVENTS: Final[Mapping[str, Promise]] = {
    "ticket.submitted": _("A publisher submitted a ticket."),
    "ticket.acknowledged": _("The marketplace acknowledged a ticket (priority and severity set)."),
    "ticket.status_changed": _("Every move of a ticket through its lifecycle."),
    "ticket.reclassified": _("Priority, severity or exploitation changed (with the reason)."),
    "ticket.assessed": _("The marketplace recorded its assessment."),
    "ticket.resolved": _("A ticket was resolved."),
    "ticket.closed": _("A ticket was closed (also when withdrawn)."),
    "ticket.reopened": _("A closed or resolved ticket was reopened."),
    "message.created": _("A message was added to a ticket's thread."),
    "note.created": _("An internal note was added (marketplace endpoints only)."),
    "request.created": _("The marketplace asked the publisher for something."),
    "request.answered": _("The publisher answered a request (done or declined)."),
    "request.extension_requested": _("The publisher asked for more time."),
    "request.extension_decided": _("The marketplace granted or refused more time."),
    "offer_action.requested": _("The marketplace asked for an offer to be modified or removed."),
    "offer_action.taken": _("The marketplace suspended, delisted or reinstated an offer."),
    "notice.approved": _("The customer notice was approved by both sides."),
}
#: Only marketplace endpoints (no organisation) may receive these.
MARKETPLACE_ONLY_EVENTS: Final = frozenset({"note.created"})
