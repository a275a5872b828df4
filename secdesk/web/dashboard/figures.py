"""The dashboard's figures as the page shows them: headline numbers, charts, and each chart's data table.

Everything a person reads is translated here, and every number and date is
formatted in the reader's language (``django.utils.formats``) and timezone
(the weeks were cut in it by the selector).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from secdesk.triage.metrics import AckWeek, Dashboard, RemediationWeek
from secdesk.web.dashboard import charts
from secdesk.web.dashboard.scales import LOOKS, SEQUENCE
from secdesk.web.dashboard.words import (
    ACK_BUCKET,
    AGE_BAND,
    OFFER_STATUS,
    days,
    hours,
    hours_tick,
    number,
    percent,
    severity_name,
    week_heading,
    week_label,
)

__all__ = ["Cell", "Chart", "Row", "Tile", "build"]


@dataclass(frozen=True)
class Cell:
    """One table cell: its text, and a link when the thing has a page."""

    text: str
    url: str = ""


@dataclass(frozen=True)
class Row:
    head: Cell
    cells: list[Cell]


@dataclass
class Chart:
    """A chart with its heading, its takeaway in one sentence, and its data as a table."""

    ident: str
    heading: str
    summary: str
    svg: SafeString
    caption: str
    columns: list[str]
    rows: list[Row] = field(default_factory=list)


@dataclass(frozen=True)
class Tile:
    label: str
    value: str
    note: str = ""


def build(figures: Dashboard) -> dict[str, Any]:
    """The template's context: ``tiles`` and ``charts``."""
    return {
        "tiles": _tiles(figures),
        "charts": [
            _ack_distribution(figures),
            _ack_trend(figures),
            _compliance(figures),
            _ack_outcomes(figures),
            _open_tickets(figures),
            _offers(figures),
        ],
    }


def _tiles(figures: Dashboard) -> list[Tile]:
    critical = next((row.total for row in figures.open_by_severity if row.severity == "critical"), 0)
    return [
        Tile(_("Open tickets"), number(figures.open_total), _("%(count)s critical") % {"count": number(critical)}),
        Tile(
            _("Median time to acknowledge"),
            hours(figures.ack_median_hours),
            _("90th percentile: %(hours)s") % {"hours": hours(figures.ack_p90_hours)},
        ),
        Tile(
            _("Acknowledged on time"),
            percent(figures.ack_compliance),
            ngettext("of %(count)s ticket", "of %(count)s tickets", figures.acknowledged)
            % {"count": number(figures.acknowledged)},
        ),
        Tile(_("Remediation targets met"), percent(figures.remediation_compliance)),
        Tile(
            _("Offers under action"),
            number(figures.offers_total),
            _("%(count)s suspended or delisted")
            % {"count": number(figures.offers_by_status["suspended"] + figures.offers_by_status["delisted"])},
        ),
    ]


def _weeks_text(figures: Dashboard) -> str:
    return ngettext("the last %(count)s week", "the last %(count)s weeks", len(figures.weeks)) % {
        "count": len(figures.weeks)
    }


def _ack_distribution(figures: Dashboard) -> Chart:
    total = sum(found for _, found in figures.ack_histogram)
    names = [str(ACK_BUCKET[bucket.key]) for bucket, _ in figures.ack_histogram]
    values = [found for _, found in figures.ack_histogram]
    summary = _("%(count)s tickets submitted in %(period)s were acknowledged; half of them within %(median)s.") % {
        "count": number(total),
        "period": _weeks_text(figures),
        "median": hours(figures.ack_median_hours),
    }
    return Chart(
        ident="chart-ack-distribution",
        heading=_("Time to acknowledge"),
        summary=summary,
        svg=charts.bar_chart(
            ident="chart-ack-distribution",
            title=_("Time to acknowledge, distribution"),
            description=_(
                "Bars: how many tickets were acknowledged within each range of wall-clock time after submission."
            )
            + " "
            + summary,
            labels=names,
            values=values,
            axis_title=_("Wall-clock time from submission to acknowledgement"),
        ),
        caption=_("Tickets by time to acknowledge (wall-clock hours)"),
        columns=[_("Time to acknowledge"), _("Tickets"), _("Share")],
        rows=[
            Row(Cell(name), [Cell(number(found)), Cell(percent(found / total if total else None))])
            for name, found in zip(names, values, strict=True)
        ],
    )


def _ack_trend(figures: Dashboard) -> Chart:
    weeks = figures.ack_weeks
    latest = next((week for week in reversed(weeks) if week.median_hours is not None), None)
    summary = (
        _("Latest week with acknowledgements: median %(median)s, 90th percentile %(p90)s.")
        % {"median": hours(latest.median_hours), "p90": hours(latest.p90_hours)}
        if latest
        else _("No ticket was acknowledged in this period.")
    )
    return Chart(
        ident="chart-ack-trend",
        heading=_("Time to acknowledge, week by week"),
        summary=summary,
        svg=charts.line_chart(
            ident="chart-ack-trend",
            title=_("Time to acknowledge per week: median and 90th percentile"),
            description=_("Lines: per week of submission, the median and the 90th percentile time to acknowledge,")
            + " "
            + _("in wall-clock hours.")
            + " "
            + summary,
            labels=[week_label(week.week) for week in weeks],
            series=[
                charts.Series(_("Median"), [week.median_hours for week in weeks]),
                charts.Series(_("90th percentile"), [week.p90_hours for week in weeks]),
            ],
            value_format=hours_tick,
        ),
        caption=_("Time to acknowledge per week of submission (wall-clock hours)"),
        columns=[_("Week"), _("Acknowledged"), _("Median"), _("90th percentile")],
        rows=[
            Row(
                Cell(week_heading(week.week)),
                [Cell(number(week.acknowledged)), Cell(hours(week.median_hours)), Cell(hours(week.p90_hours))],
            )
            for week in weeks
        ],
    )


def _compliance(figures: Dashboard) -> Chart:
    pairs: list[tuple[AckWeek, RemediationWeek]] = list(zip(figures.ack_weeks, figures.remediation_weeks, strict=True))
    summary = _("Over %(period)s: %(ack)s acknowledged on time, %(remediation)s of remediation targets met.") % {
        "period": _weeks_text(figures),
        "ack": percent(figures.ack_compliance),
        "remediation": percent(figures.remediation_compliance),
    }
    return Chart(
        ident="chart-compliance",
        heading=_("SLA compliance per week"),
        summary=summary,
        svg=charts.line_chart(
            ident="chart-compliance",
            title=_("SLA compliance per week, in percent"),
            description=_(
                "Lines: per week, the share of tickets acknowledged by their due time (by week of submission)"
                " and the share of remediation targets met (by week the target fell due)."
            )
            + " "
            + summary,
            labels=[week_label(ack.week) for ack, _ in pairs],
            series=[
                charts.Series(_("Acknowledged on time"), [_percent_value(ack.compliance) for ack, _ in pairs]),
                charts.Series(_("Remediation targets met"), [_percent_value(fix.compliance) for _, fix in pairs]),
            ],
            value_format=lambda value: _("%(percent)s %%") % {"percent": number(value)},
            top_value=100,
        ),
        caption=_("SLA compliance per week: acknowledgements and remediation targets"),
        columns=[
            _("Week"),
            _("Acknowledged on time"),
            _("Remediation targets met"),
            _("Targets met"),
            _("Targets breached"),
            _("Targets still open"),
        ],
        rows=[
            Row(
                Cell(week_heading(ack.week)),
                [
                    Cell(percent(ack.compliance)),
                    Cell(percent(fix.compliance)),
                    Cell(number(fix.met)),
                    Cell(number(fix.breached)),
                    Cell(number(fix.open)),
                ],
            )
            for ack, fix in pairs
        ],
    )


def _percent_value(share: float | None) -> float | None:
    return None if share is None else share * 100


def _ack_outcomes(figures: Dashboard) -> Chart:
    weeks = figures.ack_weeks
    late = sum(week.late for week in weeks)
    waiting = sum(week.waiting for week in weeks)
    summary = _("%(late)s acknowledged late or overdue, %(waiting)s waiting within their time.") % {
        "late": number(late),
        "waiting": number(waiting),
    }
    names = [_("On time"), _("Late or overdue"), _("Waiting")]
    return Chart(
        ident="chart-ack-outcomes",
        heading=_("Acknowledgements per week"),
        summary=summary,
        svg=charts.stacked_bars(
            ident="chart-ack-outcomes",
            title=_("Tickets submitted per week, by acknowledgement outcome"),
            description=_("Stacked bars: per week of submission, tickets acknowledged on time, late or overdue,")
            + " "
            + _("and still waiting within their time.")
            + " "
            + summary,
            categories=[week_label(week.week) for week in weeks],
            series=[
                charts.Series(names[0], [week.on_time for week in weeks]),
                charts.Series(names[1], [week.late for week in weeks]),
                charts.Series(names[2], [week.waiting for week in weeks]),
            ],
            looks=[LOOKS[0], LOOKS[1], LOOKS[2]],
        ),
        caption=_("Tickets submitted per week, by acknowledgement outcome"),
        columns=[_("Week"), *names],
        rows=[
            Row(
                Cell(week_heading(week.week)),
                [Cell(number(week.on_time)), Cell(number(week.late)), Cell(number(week.waiting))],
            )
            for week in weeks
        ],
    )


def _open_tickets(figures: Dashboard) -> Chart:
    rows = figures.open_by_severity
    bands = list(AGE_BAND.values())
    oldest = sum(row.counts[-1] for row in rows)
    summary = _("%(count)s open tickets; %(old)s of them submitted 30 days ago or more.") % {
        "count": number(figures.open_total),
        "old": number(oldest),
    }
    return Chart(
        ident="chart-open",
        heading=_("Open tickets by severity and age"),
        summary=summary,
        svg=charts.stacked_bars(
            ident="chart-open",
            title=_("Open tickets by severity and age"),
            description=_("Stacked bars: per severity, open tickets by time since submission.") + " " + summary,
            categories=[severity_name(row.severity) for row in rows],
            series=[charts.Series(str(band), [row.counts[index] for row in rows]) for index, band in enumerate(bands)],
            looks=SEQUENCE,
            horizontal=True,
        ),
        caption=_("Open tickets by severity and time since submission"),
        columns=[_("Severity"), *[str(band) for band in bands], _("Total")],
        rows=[
            Row(
                Cell(severity_name(row.severity)),
                [*(Cell(number(found)) for found in row.counts), Cell(number(row.total))],
            )
            for row in rows
        ],
    )


def _days(now: datetime, since: datetime | None) -> float | None:
    return None if since is None else max(0.0, (now - since).total_seconds() / 86400)


def _offers(figures: Dashboard) -> Chart:
    offers = figures.offers
    statuses = list(OFFER_STATUS)
    ages = [_days(figures.now, offer.since) for offer in offers]
    counts = figures.offers_by_status
    summary = _("%(count)s offers under action: %(suspended)s suspended, %(delisted)s delisted,") % {
        "count": number(figures.offers_total),
        "suspended": number(counts["suspended"]),
        "delisted": number(counts["delisted"]),
    }
    summary += " " + _("%(modification)s with a modification requested.") % {
        "modification": number(counts["modification_requested"])
    }
    if figures.offers_total > len(offers):
        summary += " " + _("The %(count)s under action the longest are shown.") % {"count": len(offers)}
    return Chart(
        ident="chart-offers",
        heading=_("Offers under action"),
        summary=summary,
        svg=charts.stacked_bars(
            ident="chart-offers",
            title=_("Offers under action, and for how long"),
            description=_("Bars: per offer, the days since the marketplace acted on it, by kind of action.")
            + " "
            + summary,
            categories=[offer.name for offer in offers],
            series=[
                charts.Series(
                    str(OFFER_STATUS[status]),
                    [value if offer.status == status else None for offer, value in zip(offers, ages, strict=True)],
                )
                for status in statuses
            ],
            looks=[LOOKS[3], LOOKS[1], LOOKS[2]],
            horizontal=True,
            value_format=charts.count,
            total_format=days,
        ),
        caption=_("Offers under action, longest first"),
        columns=[_("Offer"), _("Publisher"), _("Status"), _("Since"), _("Review or due"), _("Ticket")],
        rows=[_offer_row(figures, offer) for offer in offers],
    )


def _offer_row(figures: Dashboard, offer: Any) -> Row:
    since = (
        formats.date_format(timezone.localtime(offer.since, figures.zone).date(), "DATE_FORMAT") if offer.since else "—"
    )
    review = formats.date_format(offer.review, "DATE_FORMAT") if offer.review else "—"
    ticket = (
        Cell(offer.confirmation_number, _link("web:triage", offer.confirmation_number))
        if offer.confirmation_number
        else Cell("—")
    )
    return Row(
        Cell(offer.name, _link("web:offer_detail", offer.slug)),
        [
            Cell(offer.publisher),
            Cell(str(OFFER_STATUS.get(offer.status, offer.status))),
            Cell(since),
            Cell(review),
            ticket,
        ],
    )


def _link(name: str, argument: str) -> str:
    """The page of an offer or a ticket; no link while that page does not exist (other parts of the portal)."""
    try:
        return reverse(name, args=[argument])
    except NoReverseMatch:
        return ""
