"""CVSS vectors: strict validation, scoring and the qualitative severity scale.

A reporter gives CVSS v3.0, v3.1 or v4.0 vector strings. We validate them
ourselves, strictly, against the FIRST specifications before handing them to
the ``cvss`` library (Red Hat) for the arithmetic: the library is lenient (it
accepts v4.0 metrics in any order, for one) and its error messages do not say
which metric is at fault, which is what a reporter needs to fix the vector.

References:

* CVSS v3.0 specification, section 6 (vector string) — https://www.first.org/cvss/v3.0/specification-document
* CVSS v3.1 specification, section 6 (vector string) — https://www.first.org/cvss/v3.1/specification-document
* CVSS v4.0 specification, section 7 (vector string) — https://www.first.org/cvss/v4-0/specification-document
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from cvss import CVSS3, CVSS4
from cvss.exceptions import CVSSError

from secdesk.domain.errors import FieldError, InvalidInput

__all__ = [
    "SEVERITIES",
    "CvssError",
    "CvssScore",
    "highest_severity",
    "parse_vector",
    "parse_vectors",
    "severity_for_score",
    "severity_rank",
]

#: The FIRST qualitative severity rating scale, lowest first, so that the index
#: of a severity is its rank.
SEVERITIES: Final[tuple[str, ...]] = ("none", "low", "medium", "high", "critical")

#: Well above the longest valid vector (a v4.0 vector naming every metric with
#: its longest value is under 200 characters); anything longer is not worth
#: parsing, and the limit keeps error handling of hostile input cheap.
MAX_VECTOR_LENGTH: Final = 512

# How much of an offending fragment an error message quotes back: enough to
# recognise it, never a whole pasted document.
_QUOTE_LIMIT: Final = 24

_VERSIONS: Final = ("3.0", "3.1", "4.0")

# --- CVSS v3.0 / v3.1 -------------------------------------------------------
# Both versions define the same metrics with the same values (v3.1 changed
# formulas and wording, not the vector), so one table serves both. Base metric
# values have no "X": every base metric is mandatory.
_V3_VALUES: Final[Mapping[str, tuple[str, ...]]] = {
    # Base
    "AV": ("N", "A", "L", "P"),
    "AC": ("L", "H"),
    "PR": ("N", "L", "H"),
    "UI": ("N", "R"),
    "S": ("U", "C"),
    "C": ("H", "L", "N"),
    "I": ("H", "L", "N"),
    "A": ("H", "L", "N"),
    # Temporal
    "E": ("X", "H", "F", "P", "U"),
    "RL": ("X", "U", "W", "T", "O"),
    "RC": ("X", "C", "R", "U"),
    # Environmental
    "CR": ("X", "H", "M", "L"),
    "IR": ("X", "H", "M", "L"),
    "AR": ("X", "H", "M", "L"),
    "MAV": ("X", "N", "A", "L", "P"),
    "MAC": ("X", "L", "H"),
    "MPR": ("X", "N", "L", "H"),
    "MUI": ("X", "N", "R"),
    "MS": ("X", "U", "C"),
    "MC": ("X", "H", "L", "N"),
    "MI": ("X", "H", "L", "N"),
    "MA": ("X", "H", "L", "N"),
}
_V3_BASE: Final = ("AV", "AC", "PR", "UI", "S", "C", "I", "A")

# --- CVSS v4.0 --------------------------------------------------------------
# Insertion order IS the canonical order of the v4.0 specification (Base,
# Threat, Environmental, Supplemental), which a v4.0 vector must follow.
_V4_VALUES: Final[Mapping[str, tuple[str, ...]]] = {
    # Base
    "AV": ("N", "A", "L", "P"),
    "AC": ("L", "H"),
    "AT": ("N", "P"),
    "PR": ("N", "L", "H"),
    "UI": ("N", "P", "A"),
    "VC": ("H", "L", "N"),
    "VI": ("H", "L", "N"),
    "VA": ("H", "L", "N"),
    "SC": ("H", "L", "N"),
    "SI": ("H", "L", "N"),
    "SA": ("H", "L", "N"),
    # Threat
    "E": ("X", "A", "P", "U"),
    # Environmental
    "CR": ("X", "H", "M", "L"),
    "IR": ("X", "H", "M", "L"),
    "AR": ("X", "H", "M", "L"),
    "MAV": ("X", "N", "A", "L", "P"),
    "MAC": ("X", "L", "H"),
    "MAT": ("X", "N", "P"),
    "MPR": ("X", "N", "L", "H"),
    "MUI": ("X", "N", "P", "A"),
    "MVC": ("X", "H", "L", "N"),
    "MVI": ("X", "H", "L", "N"),
    "MVA": ("X", "H", "L", "N"),
    "MSC": ("X", "H", "L", "N"),
    # Only the modified subsequent integrity/availability may be raised to
    # S (Safety); the spec gives MSC no such value.
    "MSI": ("X", "S", "H", "L", "N"),
    "MSA": ("X", "S", "H", "L", "N"),
    # Supplemental (never changes the score)
    "S": ("X", "N", "P"),
    "AU": ("X", "N", "Y"),
    "R": ("X", "A", "U", "I"),
    "V": ("X", "D", "C"),
    "RE": ("X", "L", "M", "H"),
    "U": ("X", "Clear", "Green", "Amber", "Red"),
}
_V4_BASE: Final = ("AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA")
_V4_POSITION: Final[Mapping[str, int]] = {metric: i for i, metric in enumerate(_V4_VALUES)}

_VALUES_BY_VERSION: Final[Mapping[str, Mapping[str, tuple[str, ...]]]] = {
    "3.0": _V3_VALUES,
    "3.1": _V3_VALUES,
    "4.0": _V4_VALUES,
}
_BASE_BY_VERSION: Final[Mapping[str, tuple[str, ...]]] = {
    "3.0": _V3_BASE,
    "3.1": _V3_BASE,
    "4.0": _V4_BASE,
}


class CvssError(ValueError):
    """A vector (or score, or severity) the rules refuse.

    ``metric`` names the metric at fault — ``"CVSS"`` for the prefix, ``None``
    when the problem is not one metric's (an empty vector, a trailing ``/``).
    ``code`` is a stable machine-readable reason.
    """

    def __init__(self, message: str, *, metric: str | None = None, code: str = "invalid_cvss") -> None:
        super().__init__(message)
        self.message = message
        self.metric = metric
        self.code = code


@dataclass(frozen=True)
class CvssScore:
    """A validated vector and what it scores."""

    vector: str
    version: str
    base_score: float
    severity: str

    def as_dict(self) -> dict[str, object]:
        return {
            "vector": self.vector,
            "version": self.version,
            "base_score": self.base_score,
            "severity": self.severity,
        }


@dataclass(frozen=True)
class _Parsed:
    """What the strict parser found: the version and the metrics as given."""

    version: str
    metrics: dict[str, str]

    def identity(self) -> tuple[str, frozenset[tuple[str, str]]]:
        """What makes two vectors "the same vector".

        v3.x allows any order and every version allows an optional metric
        to be spelt out as X (Not Defined), so two strings can differ and still
        say exactly the same thing; comparing strings would let such twins in.
        """
        return self.version, frozenset((m, v) for m, v in self.metrics.items() if v != "X")


def _quote(fragment: str) -> str:
    """Quote user input back in a message, shortened so messages stay small."""
    if len(fragment) > _QUOTE_LIMIT:
        fragment = fragment[: _QUOTE_LIMIT - 1] + "…"
    return repr(fragment)


def _parse_prefix(head: str, text: str) -> str:
    """Return the version named by the first component, or explain what is wrong."""
    expected = "must start with CVSS:3.0/, CVSS:3.1/ or CVSS:4.0/"
    if head.startswith("CVSS:"):
        version = head[len("CVSS:") :]
        if version in _VERSIONS:
            return version
        if version.startswith("2"):
            raise CvssError(
                f"CVSS v2 is not supported: the vector {expected}", metric="CVSS", code="unsupported_version"
            )
        raise CvssError(
            f"CVSS version {_quote(version)} is not supported: the vector {expected}",
            metric="CVSS",
            code="unsupported_version",
        )
    if head.upper().startswith("CVSS:"):
        raise CvssError(
            f"the prefix is written CVSS in upper case: the vector {expected}",
            metric="CVSS",
            code="bad_prefix",
        )
    # A v2 vector has no prefix and an "Au" (Authentication) metric; saying
    # so is more useful than "missing prefix", since adding one would not help.
    labels = {part.split(":", 1)[0] for part in text.strip("()").split("/")}
    if "Au" in labels and "AV" in labels:
        raise CvssError(
            f"this looks like a CVSS v2 vector, which is not supported: the vector {expected}",
            metric="CVSS",
            code="unsupported_version",
        )
    raise CvssError(f"the CVSS version prefix is missing: the vector {expected}", metric="CVSS", code="bad_prefix")


def _check_metric(label: str, value: str, version: str, seen: Mapping[str, str]) -> None:
    """Check one ``METRIC:VALUE`` pair against the version's table."""
    allowed_metrics = _VALUES_BY_VERSION[version]
    if label not in allowed_metrics:
        if label.upper() in allowed_metrics:
            raise CvssError(
                f"unknown metric {_quote(label)}: metric names are upper case, write {label.upper()!r}",
                metric=label,
                code="lowercase",
            )
        # v3.x and v4.0 share some names but not all; say where a stray one is from.
        other = [v for v in _VERSIONS if label in _VALUES_BY_VERSION[v]]
        hint = f" (it is a CVSS v{other[-1][0]} metric)" if other else ""
        raise CvssError(
            f"unknown metric {_quote(label)}: not a CVSS v{version} metric{hint}",
            metric=label,
            code="unknown_metric",
        )
    if label in seen:
        raise CvssError(f"metric {label} is given more than once", metric=label, code="duplicate_metric")
    allowed = allowed_metrics[label]
    if value not in allowed:
        same_but_case = [a for a in allowed if a.lower() == value.lower()]
        if same_but_case:
            raise CvssError(
                f"value {_quote(value)} of metric {label} has the wrong letter case: write {same_but_case[0]!r}",
                metric=label,
                code="lowercase",
            )
        raise CvssError(
            f"value {_quote(value)} is not allowed for metric {label} in CVSS v{version}; "
            f"allowed: {', '.join(allowed)}",
            metric=label,
            code="invalid_value",
        )


def _parse(text: object) -> _Parsed:
    """Validate a vector string strictly; return its version and metrics."""
    if not isinstance(text, str):
        raise CvssError("a CVSS vector must be a string", code="not_text")
    if text == "":
        raise CvssError("the CVSS vector is empty", code="empty")
    if len(text) > MAX_VECTOR_LENGTH:
        raise CvssError(f"the CVSS vector is longer than {MAX_VECTOR_LENGTH} characters", code="too_long")
    if text != text.strip():
        raise CvssError("the CVSS vector has leading or trailing whitespace", code="whitespace")

    head, *parts = text.split("/")
    version = _parse_prefix(head, text)
    if text.endswith("/"):
        raise CvssError("the CVSS vector ends with '/'", code="trailing_slash")

    metrics: dict[str, str] = {}
    last_position = -1
    for part in parts:
        if part == "":
            raise CvssError("the CVSS vector has an empty component ('//')", code="empty_component")
        label, sep, value = part.partition(":")
        if any(ch.isspace() for ch in part):
            raise CvssError(
                f"component {_quote(part)} contains whitespace",
                metric=label.strip() or None,
                code="whitespace",
            )
        if not sep or not label or not value or ":" in value:
            raise CvssError(
                f"component {_quote(part)} is not of the form METRIC:VALUE",
                metric=label or None,
                code="malformed_metric",
            )
        _check_metric(label, value, version, metrics)
        if version == "4.0":
            # v4.0 (unlike v3.x) fixes the order of the metrics in the vector.
            position = _V4_POSITION[label]
            if position < last_position:
                after = next(m for m in metrics if _V4_POSITION[m] > position)
                raise CvssError(
                    f"metric {label} is out of order: CVSS v4.0 requires it before {after}",
                    metric=label,
                    code="out_of_order",
                )
            last_position = position
        metrics[label] = value

    missing = [m for m in _BASE_BY_VERSION[version] if m not in metrics]
    if missing:
        raise CvssError(
            f"mandatory base metric{'s' if len(missing) > 1 else ''} missing: {', '.join(missing)}",
            metric=missing[0],
            code="missing_metric",
        )
    return _Parsed(version=version, metrics=metrics)


def _library_score(version: str, text: str) -> float:
    """The score the ``cvss`` library computes for an already validated vector."""
    if version == "4.0":
        # For v4.0 the library computes one score over whatever threat and
        # environmental metrics are present (CVSS-B, -BT, -BE or -BTE, as the
        # spec names it by the groups used). We store that value: it is what
        # FIRST's own calculator shows for the full vector, and v4.0 has no
        # separate "base only" figure once threat/environment are supplied.
        return float(CVSS4(text).base_score)
    # For v3.x the library computes base, temporal and environmental scores
    # separately; the desk ranks by the base score only, so that is the one kept.
    return float(CVSS3(text).base_score)


def _score(parsed: _Parsed, text: str) -> CvssScore:
    """Let the library do the arithmetic on a vector we have already validated."""
    try:
        raw = _library_score(parsed.version, text)
    except (CVSSError, ArithmeticError, LookupError, TypeError, ValueError) as exc:
        # Should not happen after our validation; if the library still balks,
        # the caller gets the same kind of error as for any bad vector.
        raise CvssError(f"the CVSS vector could not be scored: {exc}", code="not_scorable") from exc
    base_score = round(raw, 1)
    return CvssScore(
        vector=text,
        version=parsed.version,
        base_score=base_score,
        severity=severity_for_score(base_score),
    )


def parse_vector(text: str) -> CvssScore:
    """Validate one CVSS v3.0/v3.1/v4.0 vector string and score it.

    Raises :class:`CvssError` naming the metric at fault.
    """
    parsed = _parse(text)
    return _score(parsed, text)


def parse_vectors(texts: Iterable[str], field: str = "cvss_vectors") -> list[CvssScore]:
    """Validate and score several vectors, reporting every bad one at once.

    Raises :class:`InvalidInput` with one :class:`FieldError` per bad entry
    (``field.<index>``), including entries that repeat an earlier vector.
    """
    if isinstance(texts, (str, bytes)):
        # A lone string is iterable too; scoring it character by character
        # would produce nonsense errors.
        raise InvalidInput([FieldError(field, "must be a list of CVSS vector strings", "invalid")])
    scores: list[CvssScore] = []
    errors: list[FieldError] = []
    first_index: dict[tuple[str, frozenset[tuple[str, str]]], int] = {}
    for i, text in enumerate(texts):
        path = f"{field}.{i}"
        try:
            parsed = _parse(text)
            score = _score(parsed, text)
        except CvssError as exc:
            errors.append(FieldError(path, exc.message, "invalid_cvss", exc.metric))
            continue
        identity = parsed.identity()
        if identity in first_index:
            errors.append(FieldError(path, f"the same vector as {field}.{first_index[identity]}", "duplicate"))
            continue
        first_index[identity] = i
        scores.append(score)
    if errors:
        raise InvalidInput(errors)
    return scores


def severity_for_score(score: float) -> str:
    """Map a score to the FIRST qualitative rating (same bands for v3.x and v4.0).

    None 0.0, Low 0.1-3.9, Medium 4.0-6.9, High 7.0-8.9, Critical 9.0-10.0.
    Bands are compared by their lower bounds, so a score between the tabulated
    one-decimal ranges (3.95) belongs to the lower band, and any positive score
    is at least Low.
    """
    if isinstance(score, bool) or not isinstance(score, (int, float)) or math.isnan(score):
        raise CvssError(f"{score!r} is not a CVSS score", code="invalid_score")
    if not 0.0 <= score <= 10.0:
        raise CvssError(f"CVSS score {score!r} is outside 0.0-10.0", code="invalid_score")
    if score == 0.0:
        return "none"
    if score < 4.0:
        return "low"
    if score < 7.0:
        return "medium"
    if score < 9.0:
        return "high"
    return "critical"


def severity_rank(severity: str) -> int:
    """Position of a severity on the scale: 0 for none up to 4 for critical."""
    try:
        return SEVERITIES.index(severity)
    except ValueError:
        raise CvssError(
            f"unknown severity {severity!r}; expected one of {', '.join(SEVERITIES)}", code="invalid_severity"
        ) from None


def highest_severity(scores: Iterable[CvssScore]) -> str | None:
    """The worst severity among the scores, or None when there are none."""
    severities = [s.severity for s in scores]
    if not severities:
        return None
    return max(severities, key=severity_rank)
