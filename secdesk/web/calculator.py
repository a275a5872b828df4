"""The CVSS calculator of the request form: pick base metrics or paste vectors, see the score.

The arithmetic is never done here (nor in the browser): every vector, picked or
pasted, goes through :func:`secdesk.domain.cvss.parse_vector`, the same code
that scores a submitted ticket. This module only names the base metrics for
people (the radio groups) and turns picks into a vector string.

``GET /cvss/score`` answers an HTML fragment (swapped in by htmx):

* ``vector`` (one or more lines, or repeated) — each line parsed, with the
  error naming the metric at fault;
* ``version`` (``3.1`` or ``4.0``) with ``m31_AV=N``, ``m40_VC=H``, … — the
  picks of that version's radio groups composed into a vector and scored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_GET

from secdesk.accounts.views import requires
from secdesk.domain.cvss import CvssError, CvssScore, parse_vector
from secdesk.domain.policy import Permission
from secdesk.web import labels

MAX_LINES: Final = 20


@dataclass(frozen=True)
class Metric:
    code: str
    name: Promise
    values: tuple[tuple[str, Promise], ...]


_NETWORK = (
    ("N", pgettext_lazy("cvss", "Network")),
    ("A", pgettext_lazy("cvss", "Adjacent")),
    ("L", pgettext_lazy("cvss", "Local")),
    ("P", pgettext_lazy("cvss", "Physical")),
)
_LOW_HIGH = (("L", pgettext_lazy("cvss", "Low")), ("H", pgettext_lazy("cvss", "High")))
_NONE_LOW_HIGH = (
    ("N", pgettext_lazy("cvss", "None")),
    ("L", pgettext_lazy("cvss", "Low")),
    ("H", pgettext_lazy("cvss", "High")),
)
_IMPACT = (
    ("H", pgettext_lazy("cvss", "High")),
    ("L", pgettext_lazy("cvss", "Low")),
    ("N", pgettext_lazy("cvss", "None")),
)

#: Base metrics of each version the calculator offers, in the order their vector lists them.
METRICS: Final[Mapping[str, tuple[Metric, ...]]] = {
    "3.1": (
        Metric("AV", _("Attack Vector"), _NETWORK),
        Metric("AC", _("Attack Complexity"), _LOW_HIGH),
        Metric("PR", _("Privileges Required"), _NONE_LOW_HIGH),
        Metric(
            "UI",
            _("User Interaction"),
            (("N", pgettext_lazy("cvss", "None")), ("R", pgettext_lazy("cvss", "Required"))),
        ),
        Metric("S", _("Scope"), (("U", pgettext_lazy("cvss", "Unchanged")), ("C", pgettext_lazy("cvss", "Changed")))),
        Metric("C", _("Confidentiality"), _IMPACT),
        Metric("I", _("Integrity"), _IMPACT),
        Metric("A", _("Availability"), _IMPACT),
    ),
    "4.0": (
        Metric("AV", _("Attack Vector"), _NETWORK),
        Metric("AC", _("Attack Complexity"), _LOW_HIGH),
        Metric(
            "AT",
            _("Attack Requirements"),
            (("N", pgettext_lazy("cvss", "None")), ("P", pgettext_lazy("cvss", "Present"))),
        ),
        Metric("PR", _("Privileges Required"), _NONE_LOW_HIGH),
        Metric(
            "UI",
            _("User Interaction"),
            (
                ("N", pgettext_lazy("cvss", "None")),
                ("P", pgettext_lazy("cvss", "Passive")),
                ("A", pgettext_lazy("cvss", "Active")),
            ),
        ),
        Metric("VC", _("Vulnerable System Confidentiality"), _IMPACT),
        Metric("VI", _("Vulnerable System Integrity"), _IMPACT),
        Metric("VA", _("Vulnerable System Availability"), _IMPACT),
        Metric("SC", _("Subsequent System Confidentiality"), _IMPACT),
        Metric("SI", _("Subsequent System Integrity"), _IMPACT),
        Metric("SA", _("Subsequent System Availability"), _IMPACT),
    ),
}
VERSIONS: Final = tuple(METRICS)


def field_name(version: str, code: str) -> str:
    """The radio group's name: ``m31_AV``, ``m40_VC``."""
    return f"m{version.replace('.', '')}_{code}"


def metric_groups(version: str) -> list[dict[str, object]]:
    """What the template needs to draw one version's radio groups."""
    return [
        {
            "code": metric.code,
            "name": metric.name,
            "field": field_name(version, metric.code),
            "values": [{"code": code, "name": name} for code, name in metric.values],
        }
        for metric in METRICS[version]
    ]


@dataclass(frozen=True)
class Line:
    """One scored (or refused) vector."""

    number: int
    vector: str
    score: CvssScore | None = None
    error: str = ""
    metric: str | None = None

    @property
    def severity_label(self) -> str:
        return labels.label(labels.SEVERITY, self.score.severity) if self.score else ""

    @property
    def metrics(self) -> str:
        """``AV:N/AC:L/…`` of a valid vector, for the widget to reflect into its radio groups."""
        if self.score is None:
            return ""
        return "/".join(self.vector.split("/")[1:])


def score_line(number: int, text: str) -> Line:
    try:
        return Line(number, text, score=parse_vector(text))
    except CvssError as exc:
        return Line(number, text, error=exc.message, metric=exc.metric)


def score_lines(texts: Sequence[str]) -> list[Line]:
    """Every non-empty line (surrounding spaces dropped), numbered as the person typed them."""
    lines: list[Line] = []
    number = 0
    for chunk in texts:
        for raw in chunk.splitlines():
            number += 1
            if raw.strip():
                lines.append(score_line(number, raw.strip()))
            if len(lines) >= MAX_LINES:
                return lines
    return lines


def compose(version: str, picks: Mapping[str, str]) -> tuple[str | None, list[Metric]]:
    """The vector for ``picks`` (``{"AV": "N", …}``), or ``None`` and the metrics still to pick."""
    missing = [metric for metric in METRICS[version] if not picks.get(metric.code)]
    if missing:
        return None, missing
    body = "/".join(f"{metric.code}:{picks[metric.code]}" for metric in METRICS[version])
    return f"CVSS:{version}/{body}", []


@login_required
@require_GET
@requires(Permission.TICKET_READ)
def cvss_score(request: HttpRequest) -> HttpResponse:
    """The calculator's answer, as an HTML fragment (no page around it)."""
    texts = request.GET.getlist("vector") or request.GET.getlist("cvss_vectors")
    context: dict[str, object] = {"mode": "lines"}
    if texts:
        lines = score_lines([t[:10_000] for t in texts])
        context["lines"] = lines
        context["several"] = len(lines) > 1
        # The request's own vectors (``check``) are in the request already: no "add this vector" for them.
        context["offer_use"] = not request.GET.get("check")
    else:
        version = request.GET.get("version", "")
        if version not in METRICS:
            version = VERSIONS[0]
        picks = {metric.code: request.GET.get(field_name(version, metric.code), "")[:8] for metric in METRICS[version]}
        vector, missing = compose(version, picks)
        context = {
            "mode": "picks",
            "version": version,
            "missing": missing,
            "line": score_line(1, vector) if vector else None,
        }
    response = render(request, "web/cvss/_result.html", context)
    response["Cache-Control"] = "private, no-store"
    return response
