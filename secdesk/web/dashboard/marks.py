"""The pieces the charts are drawn with: text and category labels, axes and gridlines, legends, fill patterns,
line dashes and point markers — each built with ``format_html``, so every text in them is escaped.

Coordinates are written with one decimal at most (:func:`n`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from secdesk.web.dashboard.scales import AXIS, GRID, OUTLINE, Look, Scale

__all__ = [
    "BOLD_WIDTH",
    "CHAR_WIDTH",
    "LABEL_CHARS",
    "Format",
    "axis_line",
    "category_label",
    "dash",
    "fill",
    "legend",
    "line_swatch",
    "marker",
    "n",
    "pattern",
    "pattern_id",
    "text_at",
    "value_axis",
]

LABEL_CHARS = 22  # longer category labels are cut, with the whole label as a tooltip
CHAR_WIDTH = 7.0  # an average character of the 12px labels (wide enough for digits and capitals)
BOLD_WIDTH = 7.6  # the same in bold (values)

#: Writes a value for a reader (a count, hours, a share).
Format = Callable[[float], str]


def n(value: float) -> str:
    """A coordinate: one decimal is finer than a pixel."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def pattern(ident: str, look: Look) -> SafeString:
    """A fill of ``look.colour`` with light marks over it: hatching, dots or a cross-hatch."""
    marks = {
        "hatch": '<path d="M0 0V6" stroke="{ink}" stroke-width="1.6" stroke-opacity="0.55"/>',
        "back-hatch": '<path d="M3 0V6" stroke="{ink}" stroke-width="1.6" stroke-opacity="0.55"/>',
        "dots": '<circle cx="3" cy="3" r="1.3" fill="{ink}" fill-opacity="0.65"/>',
        "cross": '<path d="M0 0V6M0 3H6" stroke="{ink}" stroke-width="1.2" stroke-opacity="0.5"/>',
    }[look.pattern]
    ink = "#ffffff" if look.ink == "#ffffff" else "#1a1a1a"
    rotate = "" if look.pattern == "dots" else ' patternTransform="rotate(45)"'
    return format_html(
        '<pattern id="{id}" patternUnits="userSpaceOnUse" width="6" height="6"{rotate}>'
        '<rect width="6" height="6" fill="{colour}"/>' + marks + "</pattern>",
        id=pattern_id(ident, look),
        rotate=mark_safe(rotate),  # noqa: S308 — a constant of this function
        colour=look.colour,
        ink=ink,
    )


def pattern_id(ident: str, look: Look) -> str:
    return f"{ident}-{look.key}"


def fill(ident: str, look: Look) -> str:
    return f"url(#{pattern_id(ident, look)})" if look.pattern else look.colour


def text_at(x: float, y: float, text: str, *, anchor: str = "middle", css: str = "chart__label") -> SafeString:
    return format_html('<text x="{}" y="{}" text-anchor="{}" class="{}">{}</text>', n(x), n(y), anchor, css, text)


def category_label(x: float, y: float, text: str, *, anchor: str, room: float | None = None) -> SafeString:
    """A category's name: on two lines when it is wider than ``room``, cut to :data:`LABEL_CHARS` characters
    (with the whole name as its tooltip) when it is longer than that."""
    if room is not None and len(text) * CHAR_WIDTH > room and " " in text.strip():
        words = text.split()
        # The break that makes the longer line shortest.
        cut = min(range(1, len(words)), key=lambda i: max(len(" ".join(words[:i])), len(" ".join(words[i:]))))
        return format_html(
            '<text x="{x}" y="{y}" text-anchor="{a}" class="chart__label"><tspan x="{x}">{}</tspan>'
            '<tspan x="{x}" dy="14">{}</tspan></text>',
            " ".join(words[:cut]),
            " ".join(words[cut:]),
            x=n(x),
            y=n(y),
            a=anchor,
        )
    if len(text) <= LABEL_CHARS:
        return text_at(x, y, text, anchor=anchor)
    return format_html(
        '<text x="{}" y="{}" text-anchor="{}" class="chart__label"><title>{}</title>{}…</text>',
        n(x),
        n(y),
        anchor,
        text,
        text[: LABEL_CHARS - 1].rstrip(),
    )


def value_axis(
    ticks: list[float], scale: Scale, *, horizontal: bool, cross: tuple[float, float], fmt: Format
) -> list[SafeString]:
    """Gridlines with their labels, across the plot from ``cross[0]`` to ``cross[1]``."""
    parts = []
    for tick in ticks:
        at = scale(tick)
        if horizontal:
            parts.append(
                format_html(
                    '<line x1="{x}" y1="{a}" x2="{x}" y2="{b}" stroke="{c}" class="chart__grid"/>',
                    x=n(at),
                    a=n(cross[0]),
                    b=n(cross[1]),
                    c=GRID,
                )
            )
            parts.append(text_at(at, cross[1] + 16, fmt(tick)))
        else:
            parts.append(
                format_html(
                    '<line x1="{a}" y1="{y}" x2="{b}" y2="{y}" stroke="{c}" class="chart__grid"/>',
                    y=n(at),
                    a=n(cross[0]),
                    b=n(cross[1]),
                    c=GRID,
                )
            )
            parts.append(text_at(cross[0] - 6, at + 4, fmt(tick), anchor="end"))
    return parts


def axis_line(x1: float, y1: float, x2: float, y2: float) -> SafeString:
    return format_html(
        '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="1.5"/>', n(x1), n(y1), n(x2), n(y2), AXIS
    )


def legend(ident: str, names: Sequence[str], looks: Sequence[Look], *, lines: bool, y: float = 14) -> SafeString:
    """Swatches and names in a row at the top, left to right."""
    parts = []
    x = 8.0
    for name, look in zip(names, looks, strict=False):
        if lines:
            parts.append(line_swatch(x, y - 4, look))
            x += 30
        else:
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="14" height="14" fill="{}" stroke="{}"/>',
                    n(x),
                    n(y - 11),
                    fill(ident, look),
                    OUTLINE,
                )
            )
            x += 19
        parts.append(text_at(x, y, name, anchor="start", css="chart__legend"))
        x += 7.2 * len(name) + 16
    return format_html('<g class="chart__legend-row">{}</g>', mark_safe("".join(parts)))  # noqa: S308 — format_html parts


def line_swatch(x: float, y: float, look: Look) -> SafeString:
    return format_html(
        '<line x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="{c}" stroke-width="2.5"{dash}/>{marker}',
        n(x),
        n(x + 24),
        y=n(y),
        c=look.colour,
        dash=dash(look),
        marker=marker(x + 12, y, look),
    )


def dash(look: Look) -> SafeString:
    return format_html(' stroke-dasharray="{}"', look.dash) if look.dash else mark_safe("")


def marker(x: float, y: float, look: Look) -> SafeString:
    """A point: circle, square, diamond or triangle, filled in the series' colour with a white rim."""
    common = format_html('fill="{}" stroke="#ffffff" stroke-width="1.5"', look.colour)
    if look.marker == "square":
        return format_html('<rect x="{}" y="{}" width="8" height="8" {}/>', n(x - 4), n(y - 4), common)
    if look.marker == "diamond":
        points = f"{n(x)},{n(y - 5.5)} {n(x + 5.5)},{n(y)} {n(x)},{n(y + 5.5)} {n(x - 5.5)},{n(y)}"
        return format_html('<polygon points="{}" {}/>', points, common)
    if look.marker == "triangle":
        points = f"{n(x)},{n(y - 5.5)} {n(x + 5.5)},{n(y + 4.5)} {n(x - 5.5)},{n(y + 4.5)}"
        return format_html('<polygon points="{}" {}/>', points, common)
    return format_html('<circle cx="{}" cy="{}" r="4.5" {}/>', n(x), n(y), common)
