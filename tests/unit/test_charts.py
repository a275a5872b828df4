"""The dashboard's SVG charts: well-formed, accessible, escaped, no inline style, sane with no data."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from django.utils import translation

from secdesk.web.dashboard import charts
from secdesk.web.dashboard.scales import SEQUENCE, Scale, nice_ticks

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert(1)</script>" onload="alert(2)'


@pytest.fixture(autouse=True)
def _english():
    # Another test may leave its language active in this thread; the words checked here are English.
    with translation.override("en"):
        yield


def parse(markup: str) -> ET.Element:
    root = ET.fromstring(markup)  # noqa: S314 — our own markup, parsed to check it is well-formed
    assert root.tag == f"{SVG}svg"
    return root


def texts(root: ET.Element) -> list[str]:
    return ["".join(element.itertext()) for element in root.iter(f"{SVG}text")]


def check_accessible(root: ET.Element, ident: str, title: str) -> None:
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == f"{ident}-title {ident}-desc"
    found_title = root.find(f"{SVG}title")
    found_desc = root.find(f"{SVG}desc")
    assert found_title is not None
    assert found_desc is not None
    assert found_title.get("id") == f"{ident}-title"
    assert found_title.text == title
    assert found_desc.get("id") == f"{ident}-desc"
    assert found_desc.text
    for element in root.iter():
        assert "style" not in element.attrib, f"{element.tag} has an inline style (the CSP forbids it)"
        assert not any(name.startswith("on") for name in element.attrib), element.attrib


def all_charts(labels: list[str], values: list[float]) -> dict[str, str]:
    return {
        "bars": charts.bar_chart(ident="bars", title="Bars", description="d", labels=labels, values=values),
        "line": charts.line_chart(
            ident="line",
            title="Line",
            description="d",
            labels=labels,
            series=[charts.Series("A", values), charts.Series("B", [v / 2 for v in values])],
        ),
        "stacked": charts.stacked_bars(
            ident="stacked",
            title="Stacked",
            description="d",
            categories=labels,
            series=[charts.Series("A", values), charts.Series("B", values)],
        ),
        "horizontal": charts.stacked_bars(
            ident="horizontal",
            title="Horizontal",
            description="d",
            categories=labels,
            series=[charts.Series(name, values) for name in ("A", "B", "C", "D")],
            looks=SEQUENCE,
            horizontal=True,
        ),
    }


@pytest.mark.parametrize("kind", ["bars", "horizontal", "line", "stacked"])
def test_every_chart_is_well_formed_and_named_for_assistive_technology(kind):
    markup = all_charts(["Mon", "Tue", "Wed"], [3, 12, 7])[kind]
    root = parse(markup)
    check_accessible(root, kind, kind.capitalize())
    assert root.get("viewBox") == f"0 0 {charts.WIDTH} {charts.HEIGHT}"
    # Each pattern the chart fills with is defined in it, under the chart's own prefix.
    ids = {element.get("id") for element in root.iter() if element.get("id")}
    for element in root.iter():
        fill = element.get("fill", "")
        if fill.startswith("url(#"):
            assert fill[5:-1] in ids
            assert fill[5:-1].startswith(f"{kind}-")


@pytest.mark.parametrize("kind", ["bars", "horizontal", "line", "stacked"])
def test_hostile_labels_are_text(kind):
    markup = all_charts([HOSTILE, "ok"], [1, 2])[kind]
    assert "<script" not in markup
    assert 'onload="' not in markup
    root = parse(markup)
    check_accessible(root, kind, kind.capitalize())
    # Shown as text: whole, on two lines (tspans) or cut with the whole name as a tooltip.
    shown = "".join(texts(root)).replace(" ", "")
    assert HOSTILE.replace(" ", "") in shown


def test_hostile_series_names_are_text_in_the_legend():
    markup = charts.line_chart(
        ident="l", title="t", description="d", labels=["a"], series=[charts.Series(HOSTILE, [1])]
    )
    assert "<script" not in markup
    assert HOSTILE in texts(parse(markup))


def test_a_long_hostile_offer_name_is_cut_with_the_whole_name_as_its_tooltip():
    markup = charts.stacked_bars(
        ident="offers",
        title="Offers",
        description=HOSTILE,
        categories=[HOSTILE * 2],
        series=[charts.Series("Suspended", [4])],
        horizontal=True,
    )
    root = parse(markup)
    label = next(element for element in root.iter(f"{SVG}text") if element.find(f"{SVG}title") is not None)
    assert label.find(f"{SVG}title").text == HOSTILE * 2
    assert "".join(label.itertext()).endswith("…")
    assert root.find(f"{SVG}desc").text == HOSTILE


def test_titles_and_descriptions_are_escaped():
    markup = charts.bar_chart(ident="x", title=HOSTILE, description=HOSTILE, labels=["a"], values=[1])
    root = parse(markup)
    assert root.find(f"{SVG}title").text == HOSTILE
    assert "&lt;script&gt;" in markup


@pytest.mark.parametrize("kind", ["bars", "horizontal", "stacked"])
def test_no_data_still_draws_axes_and_says_so(kind):
    root = parse(all_charts(["a", "b", "c"], [0, 0, 0])[kind])
    assert "No data in this period" in texts(root)
    assert root.findall(f"{SVG}line")  # axes and gridlines
    assert [rect for rect in root.iter(f"{SVG}rect") if rect.get("class") == "chart__bar"] == []


def test_a_line_chart_without_values_says_so_and_draws_no_line():
    root = parse(
        charts.line_chart(
            ident="gaps", title="t", description="d", labels=["a", "b"], series=[charts.Series("A", [None, None])]
        )
    )
    assert "No data in this period" in texts(root)
    assert root.findall(f"{SVG}path") == []
    assert root.findall(f"{SVG}line")
    # Zero is a value (a median of zero hours): drawn, not "no data".
    zeros = parse(all_charts(["a", "b"], [0, 0])["line"])
    assert "No data in this period" not in texts(zeros)
    assert len(zeros.findall(f"{SVG}path")) == 2


def test_bars_scale_to_the_axis():
    root = parse(charts.bar_chart(ident="b", title="t", description="d", labels=["a", "b"], values=[5, 10]))
    bars = [rect for rect in root.iter(f"{SVG}rect") if rect.get("class") == "chart__bar"]
    heights = [float(rect.get("height")) for rect in bars]
    assert heights[1] == pytest.approx(2 * heights[0])
    # 10 is the top tick: the tallest bar reaches the top of the plot.
    assert float(bars[1].get("y")) == pytest.approx(28)
    assert "10" in texts(root)


def test_a_missing_value_breaks_the_line():
    root = parse(
        charts.line_chart(
            ident="l",
            title="t",
            description="d",
            labels=["1", "2", "3", "4", "5"],
            series=[charts.Series("A", [1, 2, None, 4, 5])],
        )
    )
    assert len(root.findall(f"{SVG}path")) == 2
    markers = list(root.iter(f"{SVG}circle"))
    assert len(markers) == 4 + 1  # four points and the legend's marker


def test_series_differ_by_more_than_colour():
    root = parse(all_charts(["a", "b"], [1, 2])["line"])
    dashes = {path.get("stroke-dasharray") for path in root.findall(f"{SVG}path")}
    assert len(dashes) == 2  # one solid (None), one dashed
    assert root.findall(f".//{SVG}rect")  # the second series' markers are squares, the first's circles


def test_numbers_follow_the_readers_language():
    with translation.override("tr"):
        assert charts.count(12345) == "12.345"
        root = parse(charts.bar_chart(ident="b", title="t", description="d", labels=["a"], values=[12345]))
    assert "12.345" in texts(root)
    with translation.override("en"):
        assert charts.count(12345) == "12,345"


@pytest.mark.parametrize(
    ("maximum", "integer", "expected"),
    [
        (-1, False, [0, 1]),
        (0, True, [0, 1]),
        (0.3, False, [0, 0.1, 0.2, 0.3]),
        (3, True, [0, 1, 2, 3]),
        (7, True, [0, 2, 4, 6, 8]),
        (100, False, [0, 20, 40, 60, 80, 100]),
        (6961, True, [0, 2000, 4000, 6000, 8000]),
        (float("nan"), False, [0, 1]),
    ],
)
def test_ticks_are_round_numbers_from_zero(maximum, integer, expected):
    assert nice_ticks(maximum, integer=integer) == pytest.approx(expected)


def test_a_scale_with_no_range_stays_at_its_start():
    assert Scale(0, 10, 100)(5) == 10
    assert Scale(10, 100, 0)(5) == 50


def test_a_horizontal_bar_of_zero_still_says_zero_unless_every_bar_is():
    def ends(values: list[int]) -> list[str]:
        markup = charts.stacked_bars(
            ident="ages",
            title="Ages",
            description="d",
            categories=["Offer A", "Offer B"],
            series=[charts.Series("Suspended", values)],
            horizontal=True,
            total_format=lambda value: f"{value:g} days",
        )
        return [text for text in texts(parse(markup)) if text.endswith(" days")]

    assert ends([5, 0]) == ["5 days", "0 days"]
    assert ends([0, 0]) == []
