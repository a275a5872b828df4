"""Tests for secdesk.domain.identifiers: CVE and CWE IDs, one canonical spelling."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from secdesk.domain.errors import InvalidInput
from secdesk.domain.identifiers import (
    IdentifierError,
    normalise_cve,
    normalise_cves,
    normalise_cwe,
    normalise_cwes,
)

# --- CVE ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CVE-2024-1234", "CVE-2024-1234"),
        (" cve-2024-1234 ", "CVE-2024-1234"),
        ("Cve-2021-44228", "CVE-2021-44228"),
        ("\tCVE-2014-0160\n", "CVE-2014-0160"),
        ("CVE-2014-0001", "CVE-2014-0001"),  # four-digit sequences keep their zeros
        ("CVE-1999-0001", "CVE-1999-0001"),
        ("CVE-2100-9999", "CVE-2100-9999"),
        ("CVE-2024-1234567", "CVE-2024-1234567"),
        ("CVE-2024-10000", "CVE-2024-10000"),
    ],
)
def test_normalise_cve(text: str, expected: str) -> None:
    assert normalise_cve(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "CVE",
        "CVE-2024",
        "CVE-2024-",
        "CVE-2024-123",  # fewer than four digits
        "CVE-2024-01234",  # padding beyond four digits
        "CVE-2024-00001",
        "CVE-1998-1234",  # before the programme
        "CVE-2101-1234",
        "CVE-24-1234",
        "CVE-02024-1234",
        "CVE_2024_1234",
        "CVE 2024 1234",
        "CVE-2024 -1234",
        "CVE\u20132024\u20131234",  # en dashes
        "CVE-2024-1234a",
        "CVE-2024-1234\nCVE-2024-5678",
        "2024-1234",
        "GHSA-xxxx-xxxx-xxxx",
        "CVE-٢٠٢٤-١٢٣٤",  # Arabic-Indic digits are digits, but not CVE digits
        "CVE-2024-" + "1" * 100,
    ],
)
def test_normalise_cve_refuses(text: str) -> None:
    with pytest.raises(IdentifierError) as caught:
        normalise_cve(text)
    assert caught.value.code == "invalid_cve"
    assert str(caught.value)


@pytest.mark.parametrize("value", [None, 2024, b"CVE-2024-1234"])
def test_normalise_cve_refuses_non_strings(value: object) -> None:
    with pytest.raises(IdentifierError):
        normalise_cve(value)  # type: ignore[arg-type]


@given(
    year=st.integers(min_value=1999, max_value=2100),
    sequence=st.integers(min_value=0, max_value=10**12),
    prefix=st.sampled_from(["CVE", "cve", "Cve", "cVe"]),
    padding=st.sampled_from(["", " ", "\t", "  \n"]),
)
def test_normalise_cve_round_trips(year: int, sequence: int, prefix: str, padding: str) -> None:
    canonical = f"CVE-{year}-{sequence:04d}"
    assert normalise_cve(f"{padding}{prefix}-{year}-{sequence:04d}{padding}") == canonical
    assert normalise_cve(canonical) == canonical


@given(st.text(max_size=80))
def test_normalise_cve_only_raises_identifier_error(text: str) -> None:
    try:
        result = normalise_cve(text)
    except IdentifierError:
        return
    assert re.fullmatch(r"CVE-[0-9]{4}-(?:[0-9]{4}|[1-9][0-9]{4,})", result)


# --- CWE ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CWE-79", "CWE-79"),
        ("cwe-79", "CWE-79"),
        ("CWE-079", "CWE-79"),
        (" Cwe-0000079 ", "CWE-79"),
        ("CWE-1", "CWE-1"),
        ("CWE-1321", "CWE-1321"),
        ("CWE-100", "CWE-100"),
    ],
)
def test_normalise_cwe(text: str, expected: str) -> None:
    assert normalise_cwe(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "CWE",
        "CWE-",
        "CWE-0",
        "CWE-000",
        "CWE--79",
        "CWE-+79",
        "CWE-7 9",
        "CWE 79",
        "CWE79",
        "79",
        "CWE-79a",
        "CWE-٧٩",
        "CWE-1234567890",  # does not fit a 32-bit column
        "CWE-" + "9" * 5000,  # would trip int()'s digit limit if it got that far
    ],
)
def test_normalise_cwe_refuses(text: str) -> None:
    with pytest.raises(IdentifierError) as caught:
        normalise_cwe(text)
    assert caught.value.code == "invalid_cwe"


@given(number=st.integers(min_value=1, max_value=999_999_999), zeros=st.integers(0, 5))
def test_normalise_cwe_round_trips(number: int, zeros: int) -> None:
    assert normalise_cwe(f"cwe-{'0' * zeros}{number}") == f"CWE-{number}"


@given(st.text(max_size=80))
def test_normalise_cwe_only_raises_identifier_error(text: str) -> None:
    try:
        result = normalise_cwe(text)
    except IdentifierError:
        return
    assert re.fullmatch(r"CWE-[1-9][0-9]*", result)


def test_identifier_error_is_a_value_error() -> None:
    assert issubclass(IdentifierError, ValueError)


# --- Lists --------------------------------------------------------------------------------------


def test_normalise_cves_drops_duplicates_keeping_first_order() -> None:
    assert normalise_cves(["cve-2024-0002", " CVE-2023-1234", "CVE-2024-0002", "Cve-2023-1234 "]) == [
        "CVE-2024-0002",
        "CVE-2023-1234",
    ]
    assert normalise_cves([]) == []


def test_normalise_cwes_drops_duplicates_keeping_first_order() -> None:
    assert normalise_cwes(["CWE-79", "cwe-89", "CWE-079", "CWE-89"]) == ["CWE-79", "CWE-89"]


def test_normalise_cves_collects_every_error() -> None:
    with pytest.raises(InvalidInput) as caught:
        normalise_cves(["CVE-2024-1234", "CVE-24-1", "CVE-2024-01234", 7])  # type: ignore[list-item]
    errors = caught.value.errors
    assert [(e.field, e.code, e.metric) for e in errors] == [
        ("cve_ids.1", "invalid_cve", None),
        ("cve_ids.2", "invalid_cve", None),
        ("cve_ids.3", "invalid_cve", None),
    ]
    assert all(e.message for e in errors)


def test_normalise_cwes_collects_every_error_under_the_given_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        normalise_cwes(["CWE-0", "CWE-79", "XSS"], field="weaknesses")
    assert [(e.field, e.code) for e in caught.value.errors] == [
        ("weaknesses.0", "invalid_cwe"),
        ("weaknesses.2", "invalid_cwe"),
    ]


def test_lists_refuse_a_lone_string() -> None:
    with pytest.raises(InvalidInput) as caught:
        normalise_cves("CVE-2024-1234")
    assert caught.value.errors[0].field == "cve_ids"
    with pytest.raises(InvalidInput):
        normalise_cwes("CWE-79")
