"""CVE and CWE identifiers: check them and write them one way only.

Reporters type identifiers by hand (``cve-2024-1234``, ``CWE-079``); the desk
stores a single canonical spelling so that searching and de-duplicating work.

* CVE: ``CVE-YYYY-NNNN...`` as defined by the CVE ID syntax (2014 change): a
  sequence of at least four digits; four-digit sequences may start with zeros
  (``CVE-2014-0001``), longer ones may not (no padding beyond four digits).
* CWE: ``CWE-N`` with N a positive number, written without leading zeros.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from secdesk.domain.errors import FieldError, InvalidInput

__all__ = [
    "IdentifierError",
    "normalise_cve",
    "normalise_cves",
    "normalise_cwe",
    "normalise_cwes",
]

# re.ASCII and [0-9], because \d would also accept other scripts' digits
# ("٢٠٢٤"), which no CVE or CWE identifier uses.
_CVE_RE: Final = re.compile(r"CVE-([0-9]{4})-([0-9]{4,})", re.IGNORECASE | re.ASCII)
_CWE_RE: Final = re.compile(r"CWE-([0-9]+)", re.IGNORECASE | re.ASCII)

# The CVE programme started in 1999; the upper bound only rejects obvious typos.
CVE_FIRST_YEAR: Final = 1999
CVE_LAST_YEAR: Final = 2100

# CWE numbers are small (a few thousand so far); nine digits keeps any value
# within a 32-bit integer column and refuses absurd input before int() sees it.
_CWE_MAX_DIGITS: Final = 9

# Longer input is not an identifier with stray spaces, it is something else;
# refusing it early keeps messages and regex work small.
_MAX_INPUT_LENGTH: Final = 64


class IdentifierError(ValueError):
    """An identifier that is not a valid CVE or CWE ID; ``code`` says which."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _clean(text: object, kind: str, code: str) -> str:
    """Common checks: a string, not huge, surrounding whitespace removed."""
    if not isinstance(text, str):
        raise IdentifierError(f"a {kind} ID must be a string", code=code)
    if len(text) > _MAX_INPUT_LENGTH:
        raise IdentifierError(f"too long for a {kind} ID", code=code)
    return text.strip()


def normalise_cve(text: str) -> str:
    """Return the canonical spelling of a CVE ID (``" cve-2024-1234 "`` → ``"CVE-2024-1234"``).

    Raises :class:`IdentifierError` when the text is not a CVE ID.
    """
    cleaned = _clean(text, "CVE", "invalid_cve")
    match = _CVE_RE.fullmatch(cleaned)
    if match is None:
        raise IdentifierError(
            f"{cleaned[:32]!r} is not a CVE ID: expected CVE-YYYY-NNNN (four or more digits)",
            code="invalid_cve",
        )
    year, sequence = match.groups()
    if not CVE_FIRST_YEAR <= int(year) <= CVE_LAST_YEAR:
        raise IdentifierError(f"CVE year {year} is out of range ({CVE_FIRST_YEAR}-{CVE_LAST_YEAR})", code="invalid_cve")
    if len(sequence) > 4 and sequence.startswith("0"):
        # Zero padding is only used to reach four digits; "CVE-2024-01234"
        # would be a second spelling of CVE-2024-1234.
        raise IdentifierError(
            f"CVE sequence {sequence} has leading zeros: only four-digit sequences may start with 0",
            code="invalid_cve",
        )
    return f"CVE-{year}-{sequence}"


def normalise_cwe(text: str) -> str:
    """Return the canonical spelling of a CWE ID (``"cwe-079"`` → ``"CWE-79"``).

    Raises :class:`IdentifierError` when the text is not a CWE ID.
    """
    cleaned = _clean(text, "CWE", "invalid_cwe")
    match = _CWE_RE.fullmatch(cleaned)
    if match is None:
        raise IdentifierError(f"{cleaned[:32]!r} is not a CWE ID: expected CWE-N", code="invalid_cwe")
    digits = match.group(1).lstrip("0")
    if not digits:
        raise IdentifierError("CWE numbers start at 1", code="invalid_cwe")
    if len(digits) > _CWE_MAX_DIGITS:
        raise IdentifierError(f"CWE number {digits[:16]}… is too large", code="invalid_cwe")
    return f"CWE-{int(digits)}"


def _normalise_all(texts: Iterable[str], field: str, kind: str, code: str) -> list[str]:
    """Normalise each entry, report all bad ones at once, drop repeats (first one wins)."""
    if isinstance(texts, (str, bytes)):
        # A lone string is iterable too; checking it letter by letter would
        # produce one confusing error per character.
        raise InvalidInput([FieldError(field, f"must be a list of {kind} IDs", "invalid")])
    normalise = normalise_cve if kind == "CVE" else normalise_cwe
    result: list[str] = []
    seen: set[str] = set()
    errors: list[FieldError] = []
    for i, text in enumerate(texts):
        try:
            value = normalise(text)
        except IdentifierError as exc:
            errors.append(FieldError(f"{field}.{i}", exc.message, code))
            continue
        if value not in seen:
            seen.add(value)
            result.append(value)
    if errors:
        raise InvalidInput(errors)
    return result


def normalise_cves(texts: Iterable[str], field: str = "cve_ids") -> list[str]:
    """Normalise a list of CVE IDs; raises :class:`InvalidInput` listing each bad entry."""
    return _normalise_all(texts, field, "CVE", "invalid_cve")


def normalise_cwes(texts: Iterable[str], field: str = "cwe_ids") -> list[str]:
    """Normalise a list of CWE IDs; raises :class:`InvalidInput` listing each bad entry."""
    return _normalise_all(texts, field, "CWE", "invalid_cwe")
