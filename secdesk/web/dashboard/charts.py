"""SVG charts drawn on the server: bars, lines with points, stacked bars.

Each builder returns one ``<svg>`` element as safe markup, built only with
``format_html`` (every label, including offer names typed by publishers, is
escaped; numbers are formatted before they are written). The element is an
image to assistive technology: ``role="img"``, named by its ``<title>`` and
described by its ``<desc>`` through ``aria-labelledby``; the page follows
each chart with a data table, its real text alternative.

No ``style`` attributes (the CSP's ``style-src`` forbids them): colours are
SVG presentation attributes (``fill``, ``stroke``), sizes and fonts come
from classes in ``web/dashboard.css``. Series differ by colour *and* by a
pattern, dash or marker (:mod:`secdesk.web.dashboard.scales`). Charts are
drawn in a 520 x 300 box (about their size at 1280 px wide) and scale with
the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils import formats
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from secdesk.web.dashboard.marks import (
    BOLD_WIDTH,
    CHAR_WIDTH,
    LABEL_CHARS,
    Format,
    axis_line,
    category_label,
    dash,
    fill,
    legend,
    marker,
    n,
    pattern,
    text_at,
    value_axis,
)
from secdesk.web.dashboard.scales import LOOKS, OUTLINE, Look, Scale, nice_ticks

__all__ = ["HEIGHT", "WIDTH", "Series", "bar_chart", "count", "line_chart", "stacked_bars"]

WIDTH = 520
HEIGHT = 300


@dataclass(frozen=True)
class Series:
    """One series: its name (for the legend) and one value per category (``None``: no value)."""

    name: str
    values: Sequence[float | None]


def count(value: float) -> str:
    """A whole number in the reader's language (``1,234`` / ``1.234``)."""
    return formats.number_format(round(value), 0, force_grouping=True)


def _frame(ident: str, title: str, description: str, parts: Sequence[SafeString], looks: Sequence[Look]) -> SafeString:
    defs = format_html_join("", "{}", ((pattern(ident, look),) for look in looks if look.pattern))
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {w} {h}" role="img"'
        ' aria-labelledby="{i}-title {i}-desc" focusable="false">'
        '<title id="{i}-title">{title}</title><desc id="{i}-desc">{desc}</desc>'
        "<defs>{defs}</defs>{body}</svg>",
        w=WIDTH,
        h=HEIGHT,
        i=ident,
        title=title,
        desc=description,
        defs=defs,
        body=mark_safe("".join(parts)),  # noqa: S308 — every part was built by format_html
    )


def _empty(parts: list[SafeString], x: float, y: float, empty: bool) -> None:
    if empty:
        parts.append(text_at(x, y, _("No data in this period"), css="chart__empty"))


def _label_every(count_: int, room: float, width: float = 46) -> int:
    """Label every k-th category so that labels ``width`` wide do not overlap in ``room`` pixels."""
    return max(1, -(-int(count_ * width) // max(1, int(room))))


def bar_chart(
    *,
    ident: str,
    title: str,
    description: str,
    labels: Sequence[str],
    values: Sequence[float],
    value_format: Format = count,
    axis_title: str = "",
) -> SafeString:
    """Vertical bars, one per category (a histogram when the categories are ranges), the value on each."""
    left, right, top, bottom = 56.0, WIDTH - 12.0, 28.0, HEIGHT - 52.0
    ticks = nice_ticks(max(values, default=0), integer=True)
    y = Scale(ticks[-1], bottom, top)
    look = LOOKS[0]
    parts = value_axis(ticks, y, horizontal=False, cross=(left, right), fmt=value_format)
    band = (right - left) / max(1, len(values))
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        middle = left + band * (index + 0.5)
        height = bottom - y(value)
        if value > 0:
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}" stroke="{}" class="chart__bar"/>',
                    n(middle - band * 0.35),
                    n(bottom - height),
                    n(band * 0.7),
                    n(height),
                    look.colour,
                    OUTLINE,
                )
            )
            parts.append(text_at(middle, bottom - height - 6, value_format(value), css="chart__value"))
        parts.append(category_label(middle, bottom + 18, label, anchor="middle", room=band - 4))
    parts.append(axis_line(left, bottom, right, bottom))
    if axis_title:
        parts.append(text_at((left + right) / 2, HEIGHT - 10, axis_title, css="chart__axis-title"))
    _empty(parts, (left + right) / 2, (top + bottom) / 2, not any(values))
    return _frame(ident, title, description, parts, [])


def line_chart(
    *,
    ident: str,
    title: str,
    description: str,
    labels: Sequence[str],
    series: Sequence[Series],
    value_format: Format = count,
    top_value: float | None = None,
) -> SafeString:
    """Lines with points, one per series over the categories (weeks); a missing value breaks the line."""
    left, right, top, bottom = 56.0, WIDTH - 16.0, 40.0, HEIGHT - 34.0
    present = [value for one in series for value in one.values if value is not None]
    ticks = nice_ticks(top_value if top_value is not None else max(present, default=0))
    y = Scale(ticks[-1], bottom, top)
    looks = LOOKS[: len(series)]
    parts = value_axis(ticks, y, horizontal=False, cross=(left, right), fmt=value_format)
    band = (right - left) / max(1, len(labels))
    every = _label_every(len(labels), right - left)
    for index, label in enumerate(labels):
        if (len(labels) - 1 - index) % every == 0:  # always label the latest week
            parts.append(text_at(left + band * (index + 0.5), bottom + 18, label))
    parts.append(axis_line(left, bottom, right, bottom))
    for one, look in zip(series, looks, strict=True):
        points = [
            (left + band * (index + 0.5), y(value)) if value is not None else None
            for index, value in enumerate(one.values)
        ]
        runs: list[list[tuple[float, float]]] = [[]]
        for point in points:
            if point is None:
                runs.append([])
            else:
                runs[-1].append(point)
        for run in runs:
            if len(run) > 1:
                path = "M" + " L".join(f"{n(px)} {n(py)}" for px, py in run)
                parts.append(
                    format_html(
                        '<path d="{}" fill="none" stroke="{}" stroke-width="2.5" stroke-linejoin="round"{}/>',
                        path,
                        look.colour,
                        dash(look),
                    )
                )
        parts.extend(marker(px, py, look) for px, py in filter(None, points))
    parts.append(legend(ident, [one.name for one in series], looks, lines=True))
    _empty(parts, (left + right) / 2, (top + bottom) / 2, not present)
    return _frame(ident, title, description, parts, looks)


def stacked_bars(
    *,
    ident: str,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[Series],
    looks: Sequence[Look] = LOOKS,
    horizontal: bool = False,
    value_format: Format = count,
    total_format: Format | None = None,
) -> SafeString:
    """Bars of stacked segments (one per series) per category, each total at the bar's end, a legend on top.

    Horizontal bars suit long category names (severities, offer names); vertical ones suit weeks.
    Segments wide enough carry their own value.
    """
    total_format = total_format or value_format
    totals = [sum(one.values[index] or 0 for one in series) for index in range(len(categories))]
    ticks = nice_ticks(max(totals, default=0), integer=True)
    looks = looks[: len(series)]
    if horizontal:
        # Room on the left for the longest category name (cut at LABEL_CHARS), the rest for the bars.
        longest = min(LABEL_CHARS, max((len(category) for category in categories), default=0))
        left, right, top, bottom = max(64.0, longest * CHAR_WIDTH + 16), WIDTH - 64.0, 36.0, HEIGHT - 30.0
        scale = Scale(ticks[-1], left, right)
        parts = value_axis(ticks, scale, horizontal=True, cross=(top, bottom), fmt=value_format)
        parts.append(axis_line(left, top, left, bottom))
    else:
        left, right, top, bottom = 56.0, WIDTH - 12.0, 36.0, HEIGHT - 34.0
        scale = Scale(ticks[-1], bottom, top)
        parts = value_axis(ticks, scale, horizontal=False, cross=(left, right), fmt=value_format)
        parts.append(axis_line(left, bottom, right, bottom))
    band = ((bottom - top) if horizontal else (right - left)) / max(1, len(categories))
    thickness = min(band * 0.7, 34.0)
    every = 1 if horizontal else _label_every(len(categories), right - left)
    for index, category in enumerate(categories):
        middle = (top if horizontal else left) + band * (index + 0.5)
        done = 0.0
        for one, look in zip(series, looks, strict=True):
            value = one.values[index] or 0
            if value <= 0:
                continue
            parts.append(_segment(ident, look, scale, done, value, middle, thickness, horizontal, value_format))
            done += value
        if horizontal:
            parts.append(category_label(left - 8, middle + 4, category, anchor="end"))
            if any(totals):  # a zero is said too (an offer acted on today, no critical ticket), unless all are
                parts.append(text_at(scale(done) + 6, middle + 4, total_format(totals[index]), anchor="start"))
        else:
            if (len(categories) - 1 - index) % every == 0:
                parts.append(text_at(middle, bottom + 18, category))
            total_text = total_format(totals[index])
            if totals[index] and len(total_text) * BOLD_WIDTH <= band - 2:
                parts.append(text_at(middle, scale(done) - 6, total_text, css="chart__value"))
    parts.append(legend(ident, [one.name for one in series], looks, lines=False))
    _empty(parts, (left + right) / 2, (top + bottom) / 2, not any(totals))
    return _frame(ident, title, description, parts, looks)


def _segment(
    ident: str,
    look: Look,
    scale: Scale,
    done: float,
    value: float,
    middle: float,
    thickness: float,
    horizontal: bool,
    value_format: Format,
) -> SafeString:
    """One stacked segment, outlined, with its value inside when there is room (white-rimmed text)."""
    start, end = scale(done), scale(done + value)
    low, length = min(start, end), abs(end - start)
    if horizontal:
        x, y, w, h = low, middle - thickness / 2, length, thickness
    else:
        x, y, w, h = middle - thickness / 2, low, thickness, length
    rect = format_html(
        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}" stroke="{}" class="chart__bar"/>',
        n(x),
        n(y),
        n(w),
        n(h),
        fill(ident, look),
        OUTLINE,
    )
    text = value_format(value)
    room = length >= 8 * len(text) + 8 if horizontal else length >= 18 and thickness >= 8 * len(text) + 4
    if not room:
        return rect
    halo = look.colour if look.ink == "#ffffff" else "#ffffff"
    return format_html(
        '{}<text x="{}" y="{}" text-anchor="middle" class="chart__inside" fill="{}" stroke="{}" stroke-width="3"'
        ' paint-order="stroke">{}</text>',
        rect,
        n(x + w / 2),
        n(y + h / 2 + 4),
        look.ink,
        halo,
        text,
    )
