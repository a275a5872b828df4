"""What the charts are drawn with: axis ticks at round numbers, and the series' looks.

Every look pairs a colour with something that is not a colour (a fill
pattern, a line dash, a marker shape), so that no series is told apart by
colour alone; every colour is at least 3:1 against the white chart background
(WCAG 1.4.11), and shapes also carry a dark outline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final


def nice_ticks(maximum: float, *, count: int = 5, integer: bool = False) -> list[float]:
    """Ticks from 0 to a round number at or above ``maximum``, about ``count`` steps of 1, 2, 2.5 or 5 x 10^k.

    With no data (``maximum`` 0 or less) the axis still runs 0..1, so that an empty chart is drawn with
    its axes. ``integer`` keeps steps whole (counts of tickets).
    """
    if not math.isfinite(maximum) or maximum <= 0:
        return [0.0, 1.0]
    raw = maximum / count
    magnitude = 10 ** math.floor(math.log10(raw))
    multipliers = (1, 2, 5, 10) if integer else (1, 2, 2.5, 5, 10)
    step = next(m * magnitude for m in multipliers if m * magnitude >= raw)
    if integer:
        step = max(1.0, float(round(step)))
    steps = math.ceil(maximum / step - 1e-9)
    return [round(i * step, 10) for i in range(steps + 1)]


@dataclass(frozen=True)
class Scale:
    """A linear map from data values ``[0, top]`` onto pixels ``[start, end]`` (``end`` may be smaller)."""

    top: float
    start: float
    end: float

    def __call__(self, value: float) -> float:
        if self.top <= 0:
            return self.start
        return self.start + (self.end - self.start) * (value / self.top)


@dataclass(frozen=True)
class Look:
    """How one series is drawn: fill/stroke colour, a pattern over fills, a dash for lines, a marker."""

    colour: str
    pattern: str  # "" (solid), "hatch", "dots", "cross", "back-hatch"
    dash: str  # "" (solid), or an SVG stroke-dasharray
    marker: str  # "circle", "square", "diamond", "triangle"
    ink: str  # text colour on this fill

    @property
    def key(self) -> str:
        return f"{self.pattern or 'solid'}-{self.colour.lstrip('#')}"


#: Looks for series, in order of use.
LOOKS: Final = (
    Look("#13294b", "", "", "circle", "#ffffff"),
    Look("#b45309", "hatch", "7 4", "square", "#ffffff"),
    Look("#0f766e", "dots", "2 3", "diamond", "#ffffff"),
    Look("#6d28d9", "cross", "10 3 2 3", "triangle", "#ffffff"),
)
#: Looks for a sequence from recent to old (the age of open tickets): lighter to darker, patterns alternating.
SEQUENCE: Final = (
    Look("#8fb3e3", "", "", "circle", "#1a1a1a"),
    Look("#4f7fc0", "hatch", "", "square", "#1a1a1a"),
    Look("#23508f", "dots", "", "diamond", "#ffffff"),
    Look("#13294b", "cross", "", "triangle", "#ffffff"),
)
OUTLINE: Final = "#1a1a1a"
GRID: Final = "#d5d8dd"
AXIS: Final = "#4f4f4f"
