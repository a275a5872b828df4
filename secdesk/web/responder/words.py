"""Words the responders read: statuses, outcomes, steps and timeline events, said from the marketplace's side.

``secdesk.web.labels`` speaks to the publisher ("Waiting for you"); a
responder reads the same stored values from the other side of the desk
("Waiting for the publisher"). Values without an entry here fall back to
the shared tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from django.utils.functional import Promise
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from secdesk.web import labels

STATUS: Final[Mapping[str, Promise]] = {
    **labels.STATUS,
    "awaiting_publisher": pgettext_lazy("ticket status, staff", "Waiting for the publisher"),
}

OUTCOME: Final[Mapping[str, Promise]] = {
    "confirmed": _("Confirmed: the issue is real and affects the offer"),
    "not_reproducible": _("Not reproducible"),
    "not_a_security_issue": _("Not a security issue"),
    "duplicate": _("Duplicate of another ticket"),
    "needs_information": _("More information needed"),
}

CLOSE_REASON: Final[Mapping[str, Promise]] = {
    "resolved": _("Resolved"),
    "duplicate": _("Duplicate of another ticket"),
    "not_a_security_issue": _("Not a security issue"),
    "not_reproducible": _("Not reproducible"),
    "withdrawn": _("Withdrawn by the publisher"),
}

#: The lifecycle steps a responder takes by name, as button labels.
STEP: Final[Mapping[str, Promise]] = {
    "start_assessment": _("Start the assessment"),
    "await_publisher": _("Wait for the publisher"),
    "publisher_responded": _("Record the publisher's answer"),
    "start_remediation": _("Start remediation"),
    "start_notifying": _("Start notifying customers"),
    "resolve": _("Resolve"),
    "close": _("Close the ticket"),
    "reopen": _("Reopen"),
}

REQUEST_KIND: Final[Mapping[str, Promise]] = {
    "information": _("Information"),
    "affected_versions": _("Affected versions and plans"),
    "modify_offer": _("Modify the offer"),
    "remove_offer": _("Remove the offer"),
    "approve_notice": _("Approve the customer notice"),
}

REQUEST_STATUS: Final[Mapping[str, Promise]] = {
    "open": pgettext_lazy("request status, staff", "Waiting for the publisher"),
    "extension_requested": pgettext_lazy("request status, staff", "More time asked: decide"),
    "done": pgettext_lazy("request status", "Done"),
    "declined": pgettext_lazy("request status", "Declined"),
    "withdrawn": pgettext_lazy("request status", "Withdrawn"),
}

OFFER_STATUS: Final[Mapping[str, Promise]] = {
    "live": pgettext_lazy("offer status", "Live"),
    "modification_requested": pgettext_lazy("offer status", "Modification requested"),
    "suspended": pgettext_lazy("offer status", "Suspended"),
    "delisted": pgettext_lazy("offer status", "Delisted"),
}

RECIPIENT_STATUS: Final[Mapping[str, Promise]] = {
    "pending": pgettext_lazy("delivery status", "Waiting"),
    "sending": pgettext_lazy("delivery status", "Being sent"),
    "sent": pgettext_lazy("delivery status", "Sent"),
    "failed": pgettext_lazy("delivery status", "Failed"),
    "bounced": pgettext_lazy("delivery status", "Bounced"),
}

_EVENTS: Final[Mapping[str, Promise]] = {
    "ticket.created": _("Ticket created"),
    "ticket.submitted": _("Submitted by the publisher"),
    "ticket.acknowledged": _("Acknowledged"),
    "ticket.assessment_started": _("Assessment started"),
    "ticket.awaiting_publisher": _("Waiting for the publisher"),
    "ticket.publisher_responded": _("The publisher answered; the assessment continues"),
    "ticket.remediation_started": _("Remediation started"),
    "ticket.notifying_started": _("Customers are being notified"),
    "ticket.resolved": _("Resolved"),
    "ticket.closed": _("Closed"),
    "ticket.withdrawn": _("Withdrawn by the publisher"),
    "ticket.reopened": _("Reopened"),
    "ticket.status_changed": _("Status changed"),
    "ticket.reclassified": _("Priority or severity changed"),
    "ticket.assigned": _("Assignee changed"),
    "ticket.assessed": _("Assessment result recorded"),
    "ticket.affected_updated": _("Affected plans and versions updated"),
    "message.created": _("Message posted"),
    "note.added": _("Internal note added"),
    "request.created": _("Request sent to the publisher"),
    "request.done": _("Request answered: done"),
    "request.declined": _("Request answered: declined"),
    "request.extension_requested": _("The publisher asked for more time"),
    "request.extension_granted": _("Extension granted"),
    "request.extension_refused": _("Extension refused"),
    "request.overdue": _("A request is overdue"),
    "sla.breached": _("A deadline was missed"),
    "notice.started": _("Customer notice started"),
    "notice.edited": _("Customer notice edited"),
    "notice.approval_given": _("Customer notice approved by one side"),
    "notice.approved": _("Customer notice approved by both sides"),
    "notice.delivered": _("Customer notice delivered"),
}


def label(table: Mapping[str, Promise], value: str | None) -> str:
    """The readable word for ``value``, or the value itself when the table does not know it."""
    return labels.label(table, value)


def event_label(kind: str, data: Mapping[str, Any]) -> str:
    """One line for a timeline event, as a responder reads it."""
    if kind.startswith("offer.") and kind.removeprefix("offer.") in labels.OFFER_ACTION:
        return labels.event_label(kind, data)
    base = str(_EVENTS.get(kind, kind))
    if kind == "ticket.status_changed" and data.get("to"):
        return gettext("%(event)s: %(before)s → %(after)s") % {
            "event": base,
            "before": label(STATUS, str(data.get("from", ""))),
            "after": label(STATUS, str(data["to"])),
        }
    if kind == "ticket.acknowledged" and data.get("priority"):
        return gettext("%(event)s: priority %(priority)s, severity %(severity)s") % {
            "event": base,
            "priority": data.get("priority", ""),
            "severity": label(labels.SEVERITY, str(data.get("severity", ""))),
        }
    if kind == "ticket.assessed" and data.get("outcome"):
        return gettext("%(event)s: %(outcome)s") % {"event": base, "outcome": label(OUTCOME, str(data["outcome"]))}
    if kind == "ticket.assigned":
        who = data.get("assignee")
        return gettext("%(event)s: %(who)s") % {"event": base, "who": who or gettext("nobody")}
    if kind == "notice.edited" and data.get("version"):
        return gettext("%(event)s (version %(version)s)") % {"event": base, "version": data["version"]}
    if kind.startswith("request.") and data.get("kind"):
        return gettext("%(event)s — %(what)s") % {"event": base, "what": label(REQUEST_KIND, str(data["kind"]))}
    return base


def event_details(kind: str, data: Mapping[str, Any]) -> list[str]:
    """The reasons and texts a responder wants to read under an event (plain text, escaped by the template)."""
    details: list[str] = []
    if kind == "ticket.acknowledged" and data.get("overridden"):
        suggested = data.get("suggested") or {}
        details.append(
            gettext("Suggested: priority %(priority)s, severity %(severity)s")
            % {
                "priority": suggested.get("priority") or "—",
                "severity": label(labels.SEVERITY, str(suggested.get("severity") or "")) or "—",
            }
        )
    if kind == "ticket.reclassified":
        before, after = data.get("before") or {}, data.get("after") or {}
        details.append(
            gettext("From %(before_priority)s/%(before_severity)s to %(after_priority)s/%(after_severity)s")
            % {
                "before_priority": before.get("priority") or "—",
                "before_severity": label(labels.SEVERITY, str(before.get("severity") or "")) or "—",
                "after_priority": after.get("priority") or "—",
                "after_severity": label(labels.SEVERITY, str(after.get("severity") or "")) or "—",
            }
        )
    if kind == "ticket.closed" and data.get("close_reason"):
        details.append(label(CLOSE_REASON, str(data["close_reason"])))
    for key in ("reason", "description", "text"):
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            details.append(value.strip())
    return details
