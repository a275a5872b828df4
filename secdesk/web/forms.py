"""Reading the portal's HTML forms into the domain's inputs, and the domain's field errors back.

No validation rules live here: the domain decides (``intake.check``, the
services); this module only splits text areas into lists and puts each
``FieldError`` next to the field a person typed it in, with the line and the
CVSS metric named.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, tzinfo

from django.http import QueryDict
from django.utils.translation import gettext as _

from secdesk.domain.errors import FieldError
from secdesk.domain.intake import Answers

#: The answers' fields as the form names them (the same names as the domain's).
INTAKE_FIELDS = (
    "problem_type",
    "category",
    "offers",
    "description",
    "cvss_vectors",
    "cve_ids",
    "cwe_ids",
    "mitigation",
    "remediation_steps",
    "customer_message",
)
_ID_SEPARATORS = re.compile(r"[\s,;]+")


def _lines(text: str) -> tuple[list[str], list[int]]:
    """Non-empty lines (surrounding spaces dropped) and the line number each came from."""
    kept: list[str] = []
    numbers: list[int] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw.strip():
            kept.append(raw.strip())
            numbers.append(number)
    return kept, numbers


def _ids(text: str) -> list[str]:
    return [part for part in _ID_SEPARATORS.split(text) if part]


@dataclass
class IntakeForm:
    """The request form as typed: ``values`` to show it again, ``answers()`` for the domain."""

    values: dict[str, object]
    vector_lines: list[int] = field(default_factory=list)

    @classmethod
    def from_post(cls, data: QueryDict) -> IntakeForm:
        values: dict[str, object] = {name: data.get(name, "") for name in INTAKE_FIELDS}
        values["problem_type"] = data.get("problem_type", "") or "security_incident"
        values["offers"] = [slug for slug in data.getlist("offers") if slug]
        _, numbers = _lines(str(values["cvss_vectors"]))
        return cls(values=values, vector_lines=numbers)

    @classmethod
    def from_answers(cls, answers: Answers) -> IntakeForm:
        values: dict[str, object] = {
            "problem_type": answers.problem_type,
            "category": answers.category,
            "offers": list(answers.offers),
            "description": answers.description,
            "cvss_vectors": "\n".join(answers.cvss_vectors),
            "cve_ids": ", ".join(answers.cve_ids),
            "cwe_ids": ", ".join(answers.cwe_ids),
            "mitigation": answers.mitigation,
            "remediation_steps": answers.remediation_steps,
            "customer_message": answers.customer_message,
        }
        return cls(values=values, vector_lines=list(range(1, len(answers.cvss_vectors) + 1)))

    def answers(self) -> Answers:
        vectors, _numbers = _lines(str(self.values["cvss_vectors"]))
        offers = self.values["offers"]
        return Answers(
            category=str(self.values["category"]),
            problem_type=str(self.values["problem_type"]),
            offers=tuple(offers) if isinstance(offers, list) else (),
            description=str(self.values["description"]),
            cvss_vectors=tuple(vectors),
            cve_ids=tuple(_ids(str(self.values["cve_ids"]))),
            cwe_ids=tuple(_ids(str(self.values["cwe_ids"]))),
            mitigation=str(self.values["mitigation"]),
            remediation_steps=str(self.values["remediation_steps"]),
            customer_message=str(self.values["customer_message"]),
        )

    def changes(self) -> dict[str, object]:
        """Every answer, for ``update_draft`` (a draft's form always shows them all)."""
        answers = self.answers()
        return {name: getattr(answers, name) for name in INTAKE_FIELDS}


# Messages people read for the common refusals, by (field, code) or code; the domain's own
# (English, precise) message is shown for everything else, e.g. which CVSS metric is wrong.
def _generic(code: str, name: str) -> str | None:
    specific = {
        ("offers", "required"): _("Choose at least one offer concerned."),
        ("description", "required"): _("Describe the issue."),
        ("cvss_vectors", "required"): _("A vulnerability needs at least one CVSS vector or CVE id."),
        ("mitigation", "required"): _("Say whether a fix or mitigation exists."),
        ("remediation_steps", "required"): _("Describe the remediation steps for the workaround or fix."),
        ("category", "invalid_choice"): _("Choose the category: security incident or vulnerability."),
        ("body", "required"): _("Write a message or attach a file."),
        ("reason", "required"): _("Give a reason."),
        ("proposed_due", "required"): _("Propose a new due date."),
        ("response", "invalid_choice"): _("Choose an answer: done, declined or more time."),
        ("subject", "required"): _("The subject must not be empty."),
    }
    found = specific.get((name, code))
    if found is not None:
        return found
    if code == "too_long":
        return _("This is too long.")
    if code == "unknown_offer":
        return _("This offer is not one of your organisation's offers.")
    return None


def describe(error: FieldError, vector_lines: list[int] | None = None) -> tuple[str, str]:
    """``(field, message)`` for a domain ``FieldError``: the form field it belongs to, said for people."""
    name, _sep, index = error.field.partition(".")
    message = _generic(error.code, name) or error.message
    if name == "cvss_vectors" and index.isdigit():
        position = int(index)
        line = vector_lines[position] if vector_lines and position < len(vector_lines) else position + 1
        if error.metric and error.metric != "CVSS":  # "CVSS" names the version prefix, not a metric
            return name, _("Line %(line)s, metric %(metric)s: %(message)s") % {
                "line": line,
                "metric": error.metric,
                "message": message,
            }
        return name, _("Line %(line)s: %(message)s") % {"line": line, "message": message}
    if name in ("cve_ids", "cwe_ids") and index.isdigit():
        return name, _("Entry %(number)s: %(message)s") % {"number": int(index) + 1, "message": message}
    if name == "files" and index.isdigit():
        return name, _("File %(number)s: %(message)s") % {"number": int(index) + 1, "message": message}
    return name, message


def field_errors(
    errors: Iterable[FieldError], vector_lines: list[int] | None = None, *, known: Iterable[str] = ()
) -> dict[str, list[str]]:
    """Messages per form field; errors of fields the form does not show go under ``__all__``."""
    shown = set(known)
    out: dict[str, list[str]] = defaultdict(list)
    for error in errors:
        name, message = describe(error, vector_lines)
        out[name if not shown or name in shown else "__all__"].append(message)
    return dict(out)


def end_of_day(text: str, zone: tzinfo) -> datetime | None:
    """``YYYY-MM-DD`` as the last minute of that day in the person's timezone; ``None`` if not a date."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        return None
    return datetime.combine(day, time(23, 59), tzinfo=zone)
