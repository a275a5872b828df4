# ruff: noqa: RUF001 — the ranges' en dashes are meant
"""The dashboard's words and numbers as the reader reads them: translated labels of the figures' ranges and
statuses, and numbers, hours, shares and weeks in the reader's language (``django.utils.formats``)."""

from __future__ import annotations

from django.utils import formats
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext, pgettext_lazy

from secdesk.triage.aggregates import Week
from secdesk.web import labels

__all__ = [
    "ACK_BUCKET",
    "AGE_BAND",
    "OFFER_STATUS",
    "days",
    "hours",
    "hours_tick",
    "number",
    "percent",
    "severity_name",
    "week_heading",
    "week_label",
]

ACK_BUCKET: dict[str, Promise] = {
    "lt_1h": gettext_lazy("under 1 h"),
    "1_4h": gettext_lazy("1–4 h"),
    "4_8h": gettext_lazy("4–8 h"),
    "8_24h": gettext_lazy("8–24 h"),
    "24_48h": gettext_lazy("1–2 days"),
    "48_72h": gettext_lazy("2–3 days"),
    "ge_72h": gettext_lazy("3 days or more"),
}
AGE_BAND: dict[str, Promise] = {
    "lt_1d": gettext_lazy("under 1 day"),
    "1_7d": gettext_lazy("1–7 days"),
    "7_30d": gettext_lazy("7–30 days"),
    "ge_30d": gettext_lazy("30 days or more"),
}
OFFER_STATUS: dict[str, Promise] = {
    "suspended": pgettext_lazy("offer status", "Suspended"),
    "delisted": pgettext_lazy("offer status", "Delisted"),
    "modification_requested": pgettext_lazy("offer status", "Modification requested"),
}


def number(value: float, decimals: int = 0) -> str:
    return formats.number_format(value, decimals, force_grouping=True)


def hours(value: float | None) -> str:
    """``8.5 h`` (one decimal under 10 hours), ``29 h``; a dash without a value."""
    if value is None:
        return "—"
    return _("%(hours)s h") % {"hours": number(value, 1 if value < 10 else 0)}


def hours_tick(value: float) -> str:
    """An axis tick in hours: whole hours without decimals."""
    return _("%(hours)s h") % {"hours": number(value, 0 if value == int(value) else 1)}


def percent(share: float | None) -> str:
    if share is None:
        return "—"
    return _("%(percent)s %%") % {"percent": number(share * 100, 1 if 0 < share < 1 else 0)}


def week_label(week: Week) -> str:
    """Short, for an axis: the Monday (``23 Nov``)."""
    return formats.date_format(week.monday, "j M")


def week_heading(week: Week) -> str:
    """For a table: ``Week of 23 Nov 2026`` (and "so far" for the current week)."""
    text = pgettext("dashboard", "Week of %(date)s") % {"date": formats.date_format(week.monday, "j M Y")}
    return _("%(week)s (so far)") % {"week": text} if week.partial else text


def severity_name(severity: str) -> str:
    return labels.label(labels.SEVERITY, severity) if severity else pgettext("severity", "Not set yet")


def days(value: float) -> str:
    """Whole days: ``12 days``."""
    return ngettext("%(count)s day", "%(count)s days", int(value)) % {"count": number(int(value))}
