"""Tests for secdesk.domain.cvss: strict vector validation, scoring, severities."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from secdesk.domain.cvss import (
    SEVERITIES,
    CvssError,
    CvssScore,
    highest_severity,
    parse_vector,
    parse_vectors,
    severity_for_score,
    severity_rank,
)
from secdesk.domain.errors import InvalidInput

V31 = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
V40 = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"

# Allowed values, written out here from the FIRST specifications rather than
# imported from the module, so the tests check the module against the specs.
V3_BASE = {
    "AV": "NALP",
    "AC": "LH",
    "PR": "NLH",
    "UI": "NR",
    "S": "UC",
    "C": "HLN",
    "I": "HLN",
    "A": "HLN",
}
V3_OPTIONAL = {
    "E": "XHFPU",
    "RL": "XUWTO",
    "RC": "XCRU",
    "CR": "XHML",
    "IR": "XHML",
    "AR": "XHML",
    "MAV": "XNALP",
    "MAC": "XLH",
    "MPR": "XNLH",
    "MUI": "XNR",
    "MS": "XUC",
    "MC": "XHLN",
    "MI": "XHLN",
    "MA": "XHLN",
}
V4_BASE = {
    "AV": "NALP",
    "AC": "LH",
    "AT": "NP",
    "PR": "NLH",
    "UI": "NPA",
    "VC": "HLN",
    "VI": "HLN",
    "VA": "HLN",
    "SC": "HLN",
    "SI": "HLN",
    "SA": "HLN",
}
# In canonical order: Threat, Environmental, Supplemental.
V4_OPTIONAL: dict[str, list[str]] = {
    "E": list("XAPU"),
    "CR": list("XHML"),
    "IR": list("XHML"),
    "AR": list("XHML"),
    "MAV": list("XNALP"),
    "MAC": list("XLH"),
    "MAT": list("XNP"),
    "MPR": list("XNLH"),
    "MUI": list("XNPA"),
    "MVC": list("XHLN"),
    "MVI": list("XHLN"),
    "MVA": list("XHLN"),
    "MSC": list("XHLN"),
    "MSI": list("XSHLN"),
    "MSA": list("XSHLN"),
    "S": list("XNP"),
    "AU": list("XNY"),
    "R": list("XAUI"),
    "V": list("XDC"),
    "RE": list("XLMH"),
    "U": ["X", "Clear", "Green", "Amber", "Red"],
}
V4_ORDER = [*V4_BASE, *V4_OPTIONAL]


def _severity_band(score: float) -> str:
    """The FIRST table, written as ranges, as an independent oracle."""
    if score == 0.0:
        return "none"
    if 0.1 <= score <= 3.9:
        return "low"
    if 4.0 <= score <= 6.9:
        return "medium"
    if 7.0 <= score <= 8.9:
        return "high"
    assert 9.0 <= score <= 10.0
    return "critical"


# --- Official values ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vector", "version", "score", "severity"),
    [
        (V31, "3.1", 9.8, "critical"),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", "3.1", 10.0, "critical"),
        ("CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", "3.0", 6.1, "medium"),
        ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", "3.1", 7.8, "high"),
        ("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:N", "3.1", 0.0, "none"),
        ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:N/A:N", "3.1", 3.7, "low"),
        (V40, "4.0", 9.3, "critical"),
        ("CVSS:4.0/AV:L/AC:L/AT:N/PR:N/UI:P/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", "4.0", 8.5, "high"),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N", "4.0", 0.0, "none"),
    ],
)
def test_official_scores(vector: str, version: str, score: float, severity: str) -> None:
    result = parse_vector(vector)
    assert result == CvssScore(vector=vector, version=version, base_score=score, severity=severity)
    assert isinstance(result.base_score, float)


def test_v3_keeps_the_base_score_not_temporal_or_environmental() -> None:
    # Temporal score of this vector is 7.8 and environmental 5.5; the base stays 9.8.
    result = parse_vector(V31 + "/E:U/RL:O/RC:U/MAV:P")
    assert result.base_score == 9.8
    assert result.severity == "critical"


def test_v4_threat_metrics_change_the_score() -> None:
    # Exploit maturity Unreported moves the vector to macrovector 000220, whose
    # value in FIRST's lookup table is 8.1 (CVSS-BT).
    assert parse_vector(V40 + "/E:U").base_score == 8.1
    assert parse_vector(V40 + "/E:A").base_score == 9.3


def test_v4_supplemental_metrics_do_not_change_the_score() -> None:
    assert parse_vector(V40 + "/S:P/AU:Y/R:U/V:C/RE:H/U:Red").base_score == 9.3


def test_v4_x_values_are_allowed_for_optional_metrics() -> None:
    assert parse_vector(V40 + "/E:X/CR:X/MAV:X/MSI:X/U:X").base_score == 9.3


def test_v4_msi_and_msa_allow_safety() -> None:
    assert parse_vector(V40 + "/MSI:S").base_score == 10.0
    assert parse_vector(V40 + "/MSA:S").severity == "critical"


def test_as_dict() -> None:
    assert parse_vector(V31).as_dict() == {
        "vector": V31,
        "version": "3.1",
        "base_score": 9.8,
        "severity": "critical",
    }


# --- Every error, with the metric it names ------------------------------------------------------


@pytest.mark.parametrize(
    ("vector", "code", "metric"),
    [
        # Not a string / empty / too long / whitespace around
        ("", "empty", None),
        ("CVSS:3.1/" + "AV:N/" * 200 + "AC:L", "too_long", None),
        (" " + V31, "whitespace", None),
        (V31 + "\n", "whitespace", None),
        # Prefix
        ("AV:N/AC:L/Au:N/C:P/I:P/A:P", "unsupported_version", "CVSS"),
        ("(AV:N/AC:L/Au:N/C:P/I:P/A:P)", "unsupported_version", "CVSS"),
        ("CVSS:2.0/AV:N/AC:L/Au:N/C:P/I:P/A:P", "unsupported_version", "CVSS"),
        ("CVSS:3.2/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "unsupported_version", "CVSS"),
        ("CVSS:3/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "unsupported_version", "CVSS"),
        ("cvss:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "bad_prefix", "CVSS"),
        ("AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "bad_prefix", "CVSS"),
        ("CVSS 3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "bad_prefix", "CVSS"),
        ("hello", "bad_prefix", "CVSS"),
        # Structure
        (V31 + "/", "trailing_slash", None),
        ("CVSS:3.1/", "trailing_slash", None),
        (V31.replace("/AC:L", "//AC:L"), "empty_component", None),
        (V31.replace("AV:N", "AV: N"), "whitespace", "AV"),
        (V31.replace("AV:N", "AV :N"), "whitespace", "AV"),
        (V31.replace("AV:N", "AV"), "malformed_metric", "AV"),
        (V31.replace("AV:N", "AV:"), "malformed_metric", "AV"),
        (V31.replace("AV:N", ":N"), "malformed_metric", None),
        (V31.replace("AV:N", "AV:N:N"), "malformed_metric", "AV"),
        # Case
        (V31.replace("AV:N", "av:N"), "lowercase", "av"),
        (V31.replace("AV:N", "AV:n"), "lowercase", "AV"),
        (V31.replace("S:U", "s:U"), "lowercase", "s"),
        (V40.replace("VC:H", "vc:H"), "lowercase", "vc"),
        (V40.replace("VC:H", "VC:h"), "lowercase", "VC"),
        (V40 + "/U:clear", "lowercase", "U"),
        (V40 + "/U:RED", "lowercase", "U"),
        # Unknown metric (including one from the other version, and v2's Au)
        (V31 + "/XX:N", "unknown_metric", "XX"),
        (V31 + "/AT:N", "unknown_metric", "AT"),
        (V31 + "/Au:N", "unknown_metric", "Au"),
        (V40 + "/C:H", "unknown_metric", "C"),
        (V40 + "/RL:O", "unknown_metric", "RL"),
        (V40 + "/MS:U", "unknown_metric", "MS"),
        # Unknown value
        (V31.replace("AV:N", "AV:X"), "invalid_value", "AV"),
        (V31.replace("UI:N", "UI:P"), "invalid_value", "UI"),
        (V31 + "/E:A", "invalid_value", "E"),
        (V31 + "/MS:S", "invalid_value", "MS"),
        (V40.replace("UI:N", "UI:R"), "invalid_value", "UI"),
        (V40.replace("SA:N", "SA:S"), "invalid_value", "SA"),
        (V40 + "/E:H", "invalid_value", "E"),
        (V40 + "/MSC:S", "invalid_value", "MSC"),
        (V40 + "/U:Blue", "invalid_value", "U"),
        (V31.replace("AV:N", "AV:\uff2e"), "invalid_value", "AV"),
        # Duplicate
        (V31 + "/AV:N", "duplicate_metric", "AV"),
        (V31 + "/E:X/E:X", "duplicate_metric", "E"),
        (V40 + "/AV:N", "duplicate_metric", "AV"),
        # Missing mandatory base metric (the first missing one is named)
        (V31.replace("/A:H", ""), "missing_metric", "A"),
        (V31.replace("/S:U", ""), "missing_metric", "S"),
        ("CVSS:3.1", "missing_metric", "AV"),
        ("CVSS:3.1/E:X", "missing_metric", "AV"),
        (V40.replace("/AT:N", ""), "missing_metric", "AT"),
        (V40.replace("/SA:N", ""), "missing_metric", "SA"),
        # v4.0 order
        (V40.replace("AV:N/AC:L", "AC:L/AV:N"), "out_of_order", "AV"),
        (V40 + "/U:Red/E:A", "out_of_order", "E"),
        (V40 + "/MSA:N/MSI:N", "out_of_order", "MSI"),
        (V40 + "/S:N/CR:H", "out_of_order", "CR"),
        ("CVSS:4.0/E:A/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", "out_of_order", "AV"),
    ],
)
def test_errors_name_the_metric(vector: str, code: str, metric: str | None) -> None:
    with pytest.raises(CvssError) as caught:
        parse_vector(vector)
    error = caught.value
    assert (error.code, error.metric) == (code, metric)
    if metric is not None:
        assert metric in str(error)


def test_unknown_value_lists_allowed_values() -> None:
    with pytest.raises(CvssError, match=r"AV.*allowed: N, A, L, P"):
        parse_vector(V31.replace("AV:N", "AV:Q"))
    with pytest.raises(CvssError, match=r"MSI.*allowed: X, S, H, L, N"):
        parse_vector(V40 + "/MSI:Q")


def test_missing_metrics_are_all_listed() -> None:
    with pytest.raises(CvssError, match="AV, AC, PR, UI, S, C, I, A"):
        parse_vector("CVSS:3.1")


def test_lowercase_messages_say_how_to_write_it() -> None:
    with pytest.raises(CvssError, match="'AV'"):
        parse_vector(V31.replace("AV:N", "av:N"))
    with pytest.raises(CvssError, match="'Clear'"):
        parse_vector(V40 + "/U:clear")


def test_v2_vector_is_called_v2() -> None:
    with pytest.raises(CvssError, match="v2"):
        parse_vector("AV:N/AC:L/Au:N/C:P/I:P/A:P")


@pytest.mark.parametrize("value", [None, 9.8, b"CVSS:3.1/AV:N", ["CVSS:3.1"]])
def test_non_strings_are_refused(value: object) -> None:
    with pytest.raises(CvssError) as caught:
        parse_vector(value)  # type: ignore[arg-type]
    assert caught.value.code == "not_text"


def test_cvss_error_is_a_value_error() -> None:
    assert issubclass(CvssError, ValueError)


# --- Order --------------------------------------------------------------------------------------


@settings(deadline=None)
@given(
    base=st.permutations([f"{m}:{v}" for m, v in zip(V3_BASE, "NLNNUHHH", strict=True)]),
    extra=st.permutations(["E:U", "RL:O", "RC:C", "CR:H", "MAV:L", "MS:C", "MA:N"]),
    shuffle=st.randoms(use_true_random=False),
    version=st.sampled_from(["3.0", "3.1"]),
)
def test_v3_accepts_any_order(base: list[str], extra: list[str], shuffle: random.Random, version: str) -> None:
    tokens = base + extra
    shuffle.shuffle(tokens)
    vector = f"CVSS:{version}/" + "/".join(tokens)
    assert parse_vector(vector).base_score == 9.8


@settings(deadline=None)
@given(st.permutations(V4_ORDER))
def test_v4_rejects_any_other_order(order: list[str]) -> None:
    values = {**{m: v[0] for m, v in V4_BASE.items()}, **{m: v[1] for m, v in V4_OPTIONAL.items()}}
    vector = "CVSS:4.0/" + "/".join(f"{m}:{values[m]}" for m in order)
    if order == V4_ORDER:
        assert parse_vector(vector).version == "4.0"
        return
    # The first metric that comes after one it should precede is the one named.
    position = {m: i for i, m in enumerate(V4_ORDER)}
    misplaced = next(m for k, m in enumerate(order) if k and position[m] < max(position[p] for p in order[:k]))
    with pytest.raises(CvssError) as caught:
        parse_vector(vector)
    assert (caught.value.code, caught.value.metric) == ("out_of_order", misplaced)


@pytest.mark.parametrize("i", range(len(V4_BASE) - 1))
def test_v4_swapping_neighbours_is_refused(i: int) -> None:
    tokens = V40.split("/")[1:]
    tokens[i], tokens[i + 1] = tokens[i + 1], tokens[i]
    with pytest.raises(CvssError) as caught:
        parse_vector("CVSS:4.0/" + "/".join(tokens))
    assert caught.value.code == "out_of_order"
    assert caught.value.metric == tokens[i + 1].split(":")[0]


# --- Generated valid vectors --------------------------------------------------------------------


@st.composite
def v3_vectors(draw: st.DrawFn) -> str:
    version = draw(st.sampled_from(["3.0", "3.1"]))
    tokens = [f"{m}:{draw(st.sampled_from(list(values)))}" for m, values in V3_BASE.items()]
    optional = draw(st.lists(st.sampled_from(list(V3_OPTIONAL)), unique=True))
    tokens += [f"{m}:{draw(st.sampled_from(list(V3_OPTIONAL[m])))}" for m in optional]
    tokens = draw(st.permutations(tokens))
    return f"CVSS:{version}/" + "/".join(tokens)


@st.composite
def v4_vectors(draw: st.DrawFn) -> str:
    tokens = [f"{m}:{draw(st.sampled_from(list(values)))}" for m, values in V4_BASE.items()]
    for metric, values in V4_OPTIONAL.items():
        if draw(st.booleans()):
            tokens.append(f"{metric}:{draw(st.sampled_from(values))}")
    return "CVSS:4.0/" + "/".join(tokens)


@settings(deadline=None, max_examples=300)
@given(st.one_of(v3_vectors(), v4_vectors()))
def test_valid_vectors_always_score(vector: str) -> None:
    result = parse_vector(vector)
    assert result.vector == vector
    assert result.version == vector[5:8]
    assert 0.0 <= result.base_score <= 10.0
    assert result.base_score == round(result.base_score, 1)
    assert result.severity == _severity_band(result.base_score)
    assert result.severity == severity_for_score(result.base_score)


@settings(deadline=None)
@given(v3_vectors())
def test_v3_base_score_ignores_optional_metrics(vector: str) -> None:
    prefix, *tokens = vector.split("/")
    base_only = "/".join([prefix, *(t for t in tokens if t.split(":")[0] in V3_BASE)])
    assert parse_vector(vector).base_score == parse_vector(base_only).base_score


# --- Garbage ------------------------------------------------------------------------------------

_FRAGMENTS = [
    "CVSS:3.1/",
    "CVSS:4.0/",
    "CVSS:3.0/",
    "CVSS:2.0/",
    "cvss:3.1/",
    *[f"{m}:" for m in {*V3_BASE, *V3_OPTIONAL, *V4_BASE, *V4_OPTIONAL}],
    *"NALPHXUCRSMYDIFOTW",
    "Clear",
    "Red",
    "/",
    "//",
    ":",
    " ",
    "\t",
    "\n",
    "\x00",
    "\u00a0",
    "\uff2e",  # fullwidth N
    "ß",
    "\u0131",  # dotless i, upper-cases to I
    "(",
    ")",
    "Au:N",
    "0",
    "9.8",
]


@settings(deadline=None, max_examples=500)
@given(
    st.one_of(
        st.text(),
        st.text(alphabet="CVS:/.0134ANLPHXUCRSMEIT ", max_size=80),
        st.lists(st.sampled_from(_FRAGMENTS), max_size=40).map("".join),
        st.lists(st.sampled_from(_FRAGMENTS), max_size=20).map(lambda xs: V40 + "/" + "".join(xs)),
        st.lists(st.sampled_from(_FRAGMENTS), max_size=20).map(lambda xs: V31 + "/" + "".join(xs)),
    )
)
def test_garbage_only_ever_raises_cvss_error(text: str) -> None:
    # Any other exception escapes _outcome and fails the test.
    outcome = _outcome(text)
    if isinstance(outcome, CvssError):
        assert outcome.code
        assert str(outcome)
        assert outcome.metric is None or isinstance(outcome.metric, str)
    else:
        assert 0.0 <= outcome.base_score <= 10.0
        assert outcome.severity in SEVERITIES


def _outcome(text: str) -> CvssScore | CvssError:
    try:
        return parse_vector(text)
    except CvssError as error:
        return error


# --- parse_vectors ------------------------------------------------------------------------------


def test_parse_vectors_returns_scores_in_order() -> None:
    results = parse_vectors([V40, V31])
    assert [r.version for r in results] == ["4.0", "3.1"]
    assert parse_vectors([]) == []


def test_parse_vectors_collects_every_error() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_vectors([V31, "CVSS:3.1/av:N", V40.replace("/SA:N", ""), V31 + "/AV:N"], field="vectors")
    errors = caught.value.errors
    assert [(e.field, e.code, e.metric) for e in errors] == [
        ("vectors.1", "invalid_cvss", "av"),
        ("vectors.2", "invalid_cvss", "SA"),
        ("vectors.3", "invalid_cvss", "AV"),
    ]
    assert all(e.message for e in errors)


def test_parse_vectors_rejects_the_same_vector_twice() -> None:
    reordered = "CVSS:3.1/A:H/I:H/C:H/S:U/UI:N/PR:N/AC:L/AV:N"
    with pytest.raises(InvalidInput) as caught:
        parse_vectors([V31, V40, V31, reordered, V31 + "/E:X", V40 + "/E:X"])
    errors = caught.value.errors
    assert [(e.field, e.code) for e in errors] == [
        ("cvss_vectors.2", "duplicate"),
        ("cvss_vectors.3", "duplicate"),
        ("cvss_vectors.4", "duplicate"),
        ("cvss_vectors.5", "duplicate"),
    ]
    assert "cvss_vectors.0" in errors[0].message
    assert "cvss_vectors.1" in errors[3].message


def test_parse_vectors_does_not_confuse_versions() -> None:
    # Same metrics, different version: two different vectors.
    assert len(parse_vectors([V31, V31.replace("3.1", "3.0")])) == 2
    # A different optional value is a different vector too.
    assert len(parse_vectors([V31, V31 + "/E:U"])) == 2


def test_parse_vectors_refuses_a_lone_string() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_vectors(V31)
    assert caught.value.errors[0].field == "cvss_vectors"


# --- Severity helpers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "severity"),
    [
        (0.0, "none"),
        (0, "none"),
        (0.1, "low"),
        (3.9, "low"),
        (4.0, "medium"),
        (6.9, "medium"),
        (7.0, "high"),
        (8.9, "high"),
        (9.0, "critical"),
        (10.0, "critical"),
        (10, "critical"),
    ],
)
def test_severity_for_score_bands(score: float, severity: str) -> None:
    assert severity_for_score(score) == severity


@given(st.integers(min_value=0, max_value=100))
def test_severity_for_score_matches_first_table(tenths: int) -> None:
    score = tenths / 10
    assert severity_for_score(score) == _severity_band(score)


@pytest.mark.parametrize("score", [-0.1, 10.1, float("nan"), float("inf"), True, "9.8", None])
def test_severity_for_score_refuses_non_scores(score: object) -> None:
    with pytest.raises(CvssError):
        severity_for_score(score)  # type: ignore[arg-type]


def test_severity_rank_orders_the_scale() -> None:
    assert [severity_rank(s) for s in SEVERITIES] == [0, 1, 2, 3, 4]
    assert SEVERITIES == ("none", "low", "medium", "high", "critical")
    with pytest.raises(CvssError):
        severity_rank("Critical")


def test_highest_severity() -> None:
    scores = [parse_vector(v) for v in ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:N/A:N", V31, V40)]
    assert highest_severity(scores) == "critical"
    assert highest_severity(scores[:1]) == "low"
    assert highest_severity(iter(scores[:1])) == "low"
    assert highest_severity([]) is None
