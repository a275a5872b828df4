"""Words people read for the desk's stored values: statuses, severities, timeline events, requests.

Stored values are stable English identifiers (``awaiting_publisher``); what a
person reads is translated here, in one place, for every page of the portal.
Short words that other apps' catalogues also translate (for other uses: the
one ``django`` domain is shared) carry a context, so each keeps its meaning.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from django.utils.functional import Promise
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

STATUS: Final[Mapping[str, Promise]] = {
    "draft": pgettext_lazy("ticket status", "Draft"),
    "submitted": pgettext_lazy("ticket status", "Submitted"),
    "acknowledged": pgettext_lazy("ticket status", "Acknowledged"),
    "assessing": pgettext_lazy("ticket status", "Being assessed"),
    "awaiting_publisher": pgettext_lazy("ticket status", "Waiting for you"),
    "remediating": pgettext_lazy("ticket status", "Remediating"),
    "notifying": pgettext_lazy("ticket status", "Notifying customers"),
    "resolved": pgettext_lazy("ticket status", "Resolved"),
    "closed": pgettext_lazy("ticket status", "Closed"),
    "reopened": pgettext_lazy("ticket status", "Reopened"),
}

#: The stages a publisher sees a ticket go through, in order (a progress bar, not the full lifecycle).
STAGES: Final[tuple[tuple[str, Promise], ...]] = (
    ("submitted", pgettext_lazy("progress stage", "Submitted")),
    ("acknowledged", pgettext_lazy("progress stage", "Acknowledged")),
    ("assessing", pgettext_lazy("progress stage", "Assessment")),
    ("remediating", pgettext_lazy("progress stage", "Remediation")),
    ("notifying", pgettext_lazy("progress stage", "Customer notice")),
    ("resolved", pgettext_lazy("progress stage", "Resolved")),
)
_STAGE_OF_STATUS: Final = {
    "submitted": "submitted",
    "acknowledged": "acknowledged",
    "assessing": "assessing",
    "awaiting_publisher": "assessing",
    "reopened": "assessing",
    "remediating": "remediating",
    "notifying": "notifying",
    "resolved": "resolved",
    "closed": "resolved",
}

SEVERITY: Final[Mapping[str, Promise]] = {
    "none": pgettext_lazy("severity", "None"),
    "low": pgettext_lazy("severity", "Low"),
    "medium": pgettext_lazy("severity", "Medium"),
    "high": pgettext_lazy("severity", "High"),
    "critical": pgettext_lazy("severity", "Critical"),
}

CATEGORY: Final[Mapping[str, Promise]] = {
    "security_incident": _("Security incident"),
    "vulnerability": _("Vulnerability"),
}

PROBLEM_TYPE: Final[Mapping[str, Promise]] = {"security_incident": _("Security incident")}

MITIGATION: Final[Mapping[str, Promise]] = {
    "none": _("No fix or mitigation yet"),
    "workaround": _("A workaround exists"),
    "fix_available": _("A fix is available"),
}

REQUEST_KIND: Final[Mapping[str, Promise]] = {
    "information": _("Provide information"),
    "affected_versions": _("Confirm the affected versions and plans"),
    "modify_offer": _("Modify the offer"),
    "remove_offer": _("Remove the offer"),
    "approve_notice": _("Approve the customer notice"),
}

REQUEST_STATUS: Final[Mapping[str, Promise]] = {
    "open": pgettext_lazy("request status", "Waiting for your answer"),
    "extension_requested": pgettext_lazy("request status", "Extension asked; the marketplace decides"),
    "done": pgettext_lazy("request status", "Done"),
    "declined": pgettext_lazy("request status", "Declined"),
    "withdrawn": pgettext_lazy("request status", "Withdrawn"),
}

NOTICE_STATUS: Final[Mapping[str, Promise]] = {
    "draft": _("Draft — being written together"),
    "approved": _("Approved — queued for delivery"),
    "sending": _("Being sent"),
    "sent": _("Sent"),
}

OFFER_ACTION: Final[Mapping[str, Promise]] = {
    "suspend": _("The marketplace suspended an offer"),
    "delist": _("The marketplace delisted an offer"),
    "reinstate": _("The marketplace reinstated an offer"),
}

_EVENTS: Final[Mapping[str, Promise]] = {
    "ticket.created": _("Ticket created"),
    "ticket.draft_updated": _("Draft updated"),
    "ticket.submitted": _("Submitted to the marketplace"),
    "ticket.acknowledged": _("Acknowledged by the marketplace"),
    "ticket.assessment_started": _("Assessment started"),
    "ticket.awaiting_publisher": _("The marketplace is waiting for you"),
    "ticket.publisher_responded": _("You answered; the assessment continues"),
    "ticket.remediation_started": _("Remediation started"),
    "ticket.notifying_started": _("Customers are being notified"),
    "ticket.resolved": _("Resolved"),
    "ticket.closed": _("Closed"),
    "ticket.withdrawn": _("Withdrawn"),
    "ticket.reopened": _("Reopened"),
    "ticket.reclassified": _("Priority or severity changed"),
    "ticket.assessed": _("Assessment result shared"),
    "ticket.affected_updated": _("Affected plans and versions updated"),
    "message.created": _("Message posted"),
    "request.created": _("The marketplace asked you for something"),
    "request.done": _("Request answered: done"),
    "request.declined": _("Request answered: declined"),
    "request.extension_requested": _("More time asked for a request"),
    "request.extension_granted": _("Extension granted"),
    "request.extension_refused": _("Extension refused"),
    "request.overdue": _("A request is overdue"),
    "notice.started": _("Customer notice started"),
    "notice.edited": _("Customer notice edited"),
    "notice.approval_given": _("Customer notice approved by one side"),
    "notice.approved": _("Customer notice approved by both sides"),
}


def label(table: Mapping[str, Promise], value: str | None) -> str:
    """The readable word for ``value``, or the value itself when the table does not know it."""
    if not value:
        return ""
    found = table.get(value)
    return str(found) if found is not None else value


def stage_of(status: str) -> str | None:
    return _STAGE_OF_STATUS.get(status)


def event_label(kind: str, data: Mapping[str, Any]) -> str:
    """One line for a timeline event, with the details that matter to the publisher."""
    if kind.startswith("offer.") and kind.removeprefix("offer.") in OFFER_ACTION:
        return str(OFFER_ACTION[kind.removeprefix("offer.")])
    base = str(_EVENTS.get(kind, kind))
    if kind == "ticket.acknowledged" and data.get("priority"):
        return gettext("%(event)s: priority %(priority)s, severity %(severity)s") % {
            "event": base,
            "priority": data.get("priority", ""),
            "severity": label(SEVERITY, str(data.get("severity", ""))),
        }
    if kind == "notice.edited" and data.get("version"):
        return gettext("%(event)s (version %(version)s)") % {"event": base, "version": data["version"]}
    if kind.startswith("request.") and data.get("kind"):
        return gettext("%(event)s — %(what)s") % {"event": base, "what": label(REQUEST_KIND, str(data["kind"]))}
    return base
