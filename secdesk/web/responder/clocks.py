"""What a responder reads about a ticket's clocks: "due in 3 h 20 min", "overdue by 2 d", "paused".

Computed on the server, at the moment of the request, so the page says the
same with or without JavaScript; the absolute moment goes with it, in the
reader's timezone, for the ``<time>`` element.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from django.utils.formats import date_format
from django.utils.translation import gettext, pgettext

from secdesk.domain.sla import remaining
from secdesk.tickets.models import NO_DEADLINE, OPEN_STATUS_VALUES, Ticket

_MINUTE = 60
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR


def span(delta: timedelta) -> str:
    """A duration in at most two units, rounded down: "2 d 4 h", "3 h 20 min", "5 min"."""
    seconds = max(0, int(delta.total_seconds()))
    days, rest = divmod(seconds, _DAY)
    hours, rest = divmod(rest, _HOUR)
    minutes = rest // _MINUTE
    parts: list[str] = []
    if days:
        parts.append(pgettext("duration", "%(count)d d") % {"count": days})
        if hours:
            parts.append(pgettext("duration", "%(count)d h") % {"count": hours})
    elif hours:
        parts.append(pgettext("duration", "%(count)d h") % {"count": hours})
        if minutes:
            parts.append(pgettext("duration", "%(count)d min") % {"count": minutes})
    else:
        parts.append(pgettext("duration", "%(count)d min") % {"count": max(minutes, 1) if seconds else 0})
    return " ".join(parts)


@dataclass(frozen=True)
class Countdown:
    """One deadline as read at ``now``: its text, whether it has passed, and the moment itself."""

    text: str
    overdue: bool
    due: datetime  # in the reader's timezone
    absolute: str  # the moment, formatted for the reader's language, with the zone named


def countdown(due: datetime, now: datetime, zone: tzinfo) -> Countdown:
    local = due.astimezone(zone)
    absolute = f"{date_format(local, 'DATETIME_FORMAT')} {getattr(zone, 'key', str(zone))}"
    if due <= now:
        text = gettext("overdue by %(span)s") % {"span": span(now - due)}
        return Countdown(text=text, overdue=True, due=local, absolute=absolute)
    text = gettext("due in %(span)s") % {"span": span(due - now)}
    return Countdown(text=text, overdue=False, due=local, absolute=absolute)


@dataclass(frozen=True)
class Clock:
    """The deadline the marketplace owes next on a ticket (the one the queue is ordered by)."""

    kind: str  # "acknowledgement", "remediation", "paused" or "none"
    label: str
    countdown: Countdown | None
    breached: bool  # missed: marked by the breach sweep, or past due now


def next_clock(ticket: Ticket, now: datetime, zone: tzinfo) -> Clock:
    """The running clock of ``ticket`` (``due_at``), or why none runs."""
    if ticket.due_at < NO_DEADLINE:
        running = countdown(ticket.due_at, now, zone)
        kind = "acknowledgement" if ticket.status == "submitted" else "remediation"
        label = gettext("Acknowledgement") if kind == "acknowledgement" else gettext("Remediation")
        return Clock(kind=kind, label=label, countdown=running, breached=ticket.breached or running.overdue)
    if ticket.remediation_paused_at is not None:
        return Clock(
            kind="paused",
            label=gettext("Paused: the publisher has the ball"),
            countdown=None,
            breached=ticket.breached,
        )
    return Clock(kind="none", label=gettext("No clock running"), countdown=None, breached=ticket.breached)


@dataclass(frozen=True)
class TicketClocks:
    """Both clocks of one ticket, for its triage page."""

    acknowledgement: Countdown | None  # running: not acknowledged yet
    acknowledgement_breached: bool
    remediation: Countdown | None  # running (not paused)
    remediation_left_when_paused: str  # the time left, frozen while the publisher has the ball
    remediation_breached: bool


def ticket_clocks(ticket: Ticket, now: datetime, zone: tzinfo) -> TicketClocks:
    acknowledgement = None
    if ticket.acknowledged_at is None and ticket.acknowledgement_due is not None:
        acknowledgement = countdown(ticket.acknowledgement_due, now, zone)
    remediation = None
    frozen = ""
    if ticket.remediation_due is not None and ticket.status in OPEN_STATUS_VALUES:
        if ticket.remediation_paused_at is not None:
            left = remaining(ticket.remediation_due, now=now, paused_since=ticket.remediation_paused_at)
            if left is not None:
                frozen = span(left) if left.total_seconds() > 0 else gettext("none")
        else:
            remediation = countdown(ticket.remediation_due, now, zone)
    ack_late = bool(acknowledgement and acknowledgement.overdue)
    remediation_late = bool(remediation and remediation.overdue)
    return TicketClocks(
        acknowledgement=acknowledgement,
        acknowledgement_breached=ticket.ack_breached_at is not None or ack_late,
        remediation=remediation,
        remediation_left_when_paused=frozen,
        remediation_breached=ticket.remediation_breached_at is not None or remediation_late,
    )
