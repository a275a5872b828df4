"""The intake rules: what a publisher's answers must hold to save a draft or submit.

The process asks four questions: (i) what is the issue, (ii) for a
vulnerability the CVSS vector(s) and/or CVE ids (optionally CWE ids),
(iii) is there a fix or mitigation and its remediation steps, (iv) an
optional message for customers. A draft may be incomplete; a submission
may not. Every problem is reported at once, per field.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from secdesk.domain import cvss as cvss_rules
from secdesk.domain import identifiers
from secdesk.domain.errors import ErrorList, InvalidInput

CATEGORIES = ("security_incident", "vulnerability")
MITIGATIONS = ("none", "workaround", "fix_available")
PROBLEM_TYPES = ("security_incident",)


@dataclass(frozen=True)
class Answers:
    """The publisher's answers as given (before validation)."""

    category: str = ""
    problem_type: str = "security_incident"
    offers: tuple[str, ...] = ()
    description: str = ""
    cvss_vectors: tuple[str, ...] = ()
    cve_ids: tuple[str, ...] = ()
    cwe_ids: tuple[str, ...] = ()
    mitigation: str = ""
    remediation_steps: str = ""
    customer_message: str = ""


@dataclass(frozen=True)
class CheckedAnswers:
    """Answers that passed the rules, with scores recomputed and ids normalised."""

    answers: Answers
    cvss: tuple[cvss_rules.CvssScore, ...] = field(default=())
    suggested_severity: str | None = None

    def cvss_dicts(self) -> list[dict[str, object]]:
        return [score.as_dict() for score in self.cvss]


def check(answers: Answers, *, complete: bool, max_text_chars: int = 100_000) -> CheckedAnswers:
    """Validate ``answers``; ``complete`` demands everything a submission needs.

    Raises ``InvalidInput`` listing every field at fault.
    """
    errors = ErrorList()
    if answers.problem_type not in PROBLEM_TYPES:
        errors.add("problem_type", "must be 'security_incident'", code="invalid_choice")
    if answers.category not in CATEGORIES:
        errors.add("category", "must be one of: security_incident, vulnerability", code="invalid_choice")
    if answers.mitigation and answers.mitigation not in MITIGATIONS:
        errors.add("mitigation", "must be one of: none, workaround, fix_available", code="invalid_choice")
    for name in ("description", "remediation_steps", "customer_message"):
        text = getattr(answers, name)
        if len(text) > max_text_chars:
            errors.add(name, f"is longer than {max_text_chars} characters", code="too_long")
        if "\x00" in text:
            errors.add(name, "must not contain NUL characters", code="invalid")
    if len(answers.offers) != len(set(answers.offers)):
        errors.add("offers", "lists the same offer twice", code="duplicate")
    if len(answers.cvss_vectors) > 20:
        errors.add("cvss_vectors", "at most 20 vectors", code="too_many")

    scores: list[cvss_rules.CvssScore] = []
    cves: list[str] = []
    cwes: list[str] = []
    try:
        scores = cvss_rules.parse_vectors(list(answers.cvss_vectors))
    except InvalidInput as exc:
        errors.errors.extend(exc.errors)
    try:
        cves = identifiers.normalise_cves(list(answers.cve_ids))
    except InvalidInput as exc:
        errors.errors.extend(exc.errors)
    try:
        cwes = identifiers.normalise_cwes(list(answers.cwe_ids))
    except InvalidInput as exc:
        errors.errors.extend(exc.errors)

    if complete:
        if not answers.offers:
            errors.add("offers", "name at least one offer concerned", code="required")
        if not answers.description.strip():
            errors.add("description", "describe the issue", code="required")
        if answers.category == "vulnerability" and not answers.cvss_vectors and not answers.cve_ids:
            errors.add(
                "cvss_vectors",
                "a vulnerability needs at least one CVSS vector or CVE id",
                code="required",
            )
        if not answers.mitigation:
            errors.add("mitigation", "say whether a fix or mitigation exists", code="required")
        elif answers.mitigation != "none" and not answers.remediation_steps.strip():
            errors.add(
                "remediation_steps",
                "describe the remediation steps for a workaround or fix",
                code="required",
            )
    errors.raise_if_any()
    normalised = replace(answers, cve_ids=tuple(cves), cwe_ids=tuple(cwes))
    return CheckedAnswers(
        answers=normalised,
        cvss=tuple(scores),
        suggested_severity=cvss_rules.highest_severity(scores),
    )
