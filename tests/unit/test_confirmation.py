"""Confirmation-number codec: format, forgiving input, and guaranteed typo detection."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from secdesk.domain import confirmation
from secdesk.domain.confirmation import (
    CHECK_ALPHABET,
    PAYLOAD_ALPHABET,
    InvalidConfirmationNumber,
    generate,
    is_valid,
    normalise,
)
from secdesk.domain.errors import DomainError, NotFound

# No example database: other people share this checkout and tests must not
# leave a .hypothesis directory behind.
FAST = settings(database=None, deadline=None, max_examples=200)

CANONICAL = re.compile(r"^SEC-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z*~$=U]$")


def from_bytes(data: bytes) -> str:
    """Generate the confirmation number whose random bits are ``data``."""

    def source(n: int) -> bytes:
        assert n == 5
        return data

    return generate(source)


def compact(number: str) -> str:
    """The nine symbols of a canonical number (payload then check), without prefix or hyphens."""
    return number.removeprefix("SEC-").replace("-", "")


def reason_of(text: str) -> str:
    with pytest.raises(InvalidConfirmationNumber) as caught:
        normalise(text)
    return caught.value.reason


# -- generation ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # Worked by hand: value 0 → all zeros, check 0.
        (bytes(5), "SEC-0000-0000-0"),
        # value 1 → check 1.
        (b"\x00\x00\x00\x00\x01", "SEC-0000-0001-1"),
        # value 32 = "10" in base32 → check symbol 32 is "*".
        (b"\x00\x00\x00\x00\x20", "SEC-0000-0010-*"),
        # value 36 = 1*32 + 4 → "14", check symbol 36 is "U".
        (b"\x00\x00\x00\x00\x24", "SEC-0000-0014-U"),
        # value 2**40 - 1: 2**36 ≡ 1 (mod 37, Fermat) so 2**40 ≡ 16 and the check is 15 → "F".
        (b"\xff" * 5, "SEC-ZZZZ-ZZZZ-F"),
    ],
)
def test_generate_known_values(data: bytes, expected: str) -> None:
    assert from_bytes(data) == expected


def test_generate_uses_the_csprng_by_default() -> None:
    numbers = {generate() for _ in range(50)}
    assert len(numbers) == 50
    assert all(CANONICAL.match(number) for number in numbers)


@pytest.mark.parametrize("size", [0, 4, 6])
def test_generate_refuses_a_wrong_amount_of_randomness(size: int) -> None:
    with pytest.raises(ValueError, match="bytes"):
        generate(lambda n: bytes(size))


@FAST
@given(st.binary(min_size=5, max_size=5))
def test_generated_numbers_are_canonical_and_round_trip(data: bytes) -> None:
    number = from_bytes(data)
    assert CANONICAL.match(number)
    assert normalise(number) == number
    assert is_valid(number)
    # The payload carries exactly the 40 random bits.
    value = 0
    for symbol in compact(number)[:8]:
        value = value * 32 + PAYLOAD_ALPHABET.index(symbol)
    assert value == int.from_bytes(data, "big")
    assert compact(number)[8] == CHECK_ALPHABET[value % 37]


# -- forgiving input ------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "SEC-0000-0014-U",
        "sec-0000-0014-u",
        "SEC00000014U",
        "sec00000014u",
        "00000014U",
        "0000-0014-U",
        "0000 0014 u",
        "  S E C - 0 0 0 0 - 0 0 1 4 - U  ",
        "SEC--0000--0014--U",
        "sec\t0000\n0014 u",
        "SEC\u20110000\u20130014\u2014U",  # non-breaking hyphen, en and em dash
        "SEC-OOOO-OO14-U",  # O read as 0
        "SEC-0000-0oI4-U",  # o and I
        "SEC-0000-00l4-U",  # l read as 1
    ],
)
def test_normalise_forgives_case_separators_prefix_and_aliases(typed: str) -> None:
    assert normalise(typed) == "SEC-0000-0014-U"
    assert is_valid(typed)


def test_aliases_apply_to_the_check_symbol_too() -> None:
    assert normalise("SEC-0000-0001-I") == "SEC-0000-0001-1"
    assert normalise("SEC-0000-0001-l") == "SEC-0000-0001-1"
    assert normalise("SEC-0000-0000-O") == "SEC-0000-0000-0"


def test_bare_payload_starting_with_sec_symbols_is_not_mistaken_for_a_prefix() -> None:
    # "SEC" is valid base32: a 9-symbol number starting with it keeps those symbols.
    value = 0
    for symbol in "SEC00000":
        value = value * 32 + PAYLOAD_ALPHABET.index(symbol)
    number = f"SEC-SEC0-0000-{CHECK_ALPHABET[value % 37]}"
    assert normalise(compact(number)) == number
    assert normalise(number) == number


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("", confirmation.REASON_WRONG_LENGTH),
        ("SEC", confirmation.REASON_WRONG_LENGTH),
        ("SEC-0000-0014", confirmation.REASON_WRONG_LENGTH),
        ("SEC-0000-0014-UU", confirmation.REASON_WRONG_LENGTH),
        ("0000-0014", confirmation.REASON_WRONG_LENGTH),
        ("XYZ-0000-0014-U", confirmation.REASON_WRONG_LENGTH),  # 12 symbols, not the SEC prefix
        ("SECSEC-0000-0014-U", confirmation.REASON_WRONG_LENGTH),
        ("SEC-0000-U014-U", confirmation.REASON_BAD_CHARACTER),  # U only as check symbol
        ("SEC-0000-*014-U", confirmation.REASON_BAD_CHARACTER),
        ("SEC-0000-0014-!", confirmation.REASON_BAD_CHARACTER),
        ("SEC-0000-00_4-U", confirmation.REASON_BAD_CHARACTER),
        ("SEC-0000-0014-\u00dc", confirmation.REASON_BAD_CHARACTER),  # Ü
        ("SEC-0000-00\u00df-U", confirmation.REASON_BAD_CHARACTER),  # ß would upper-case to "SS"
        ("SEC-0000-0014-0", confirmation.REASON_CHECK_MISMATCH),
        ("SEC-0000-0041-U", confirmation.REASON_CHECK_MISMATCH),
    ],
)
def test_normalise_rejects_with_a_reason(typed: str, reason: str) -> None:
    assert reason_of(typed) == reason
    assert not is_valid(typed)


def test_invalid_number_answers_like_a_missing_ticket() -> None:
    with pytest.raises(InvalidConfirmationNumber) as caught:
        normalise("SEC-0000-0014-0")
    error = caught.value
    assert isinstance(error, NotFound)
    assert isinstance(error, DomainError)
    assert error.title == NotFound.title
    # The message does not say why; only .reason does.
    assert error.message == "Not a valid confirmation number"
    assert str(error) == error.message
    assert "check" not in error.message


@FAST
@given(st.binary(min_size=5, max_size=5), st.booleans(), st.data())
def test_any_messy_rendering_normalises_back(data: bytes, with_prefix: bool, draw: st.DataObject) -> None:
    number = from_bytes(data)
    symbols = ("SEC" if with_prefix else "") + compact(number)
    # Random case, aliases for 0/1 and separators between (some) symbols.
    aliases = {"0": ["0", "O", "o"], "1": ["1", "I", "i", "L", "l"]}
    messy = [draw.draw(st.sampled_from(["", " ", "-"]))]
    for symbol in symbols:
        messy.append(draw.draw(st.sampled_from(aliases.get(symbol, [symbol.upper(), symbol.lower()]))))
        messy.append(draw.draw(st.sampled_from(["", "", "-", " ", "--", " - ", "\t"])))
    assert normalise("".join(messy)) == number


# -- typo detection -------------------------------------------------------------------


@FAST
@given(st.binary(min_size=5, max_size=5))
def test_every_single_substitution_is_detected(data: bytes) -> None:
    symbols = compact(from_bytes(data))
    for position, original in enumerate(symbols):
        alphabet = CHECK_ALPHABET if position == 8 else PAYLOAD_ALPHABET
        for replacement in CHECK_ALPHABET:
            if replacement == original:
                continue
            typed = symbols[:position] + replacement + symbols[position + 1 :]
            expected = (
                confirmation.REASON_CHECK_MISMATCH if replacement in alphabet else confirmation.REASON_BAD_CHARACTER
            )
            assert reason_of(typed) == expected, typed
            assert reason_of("SEC-" + typed) == expected


@FAST
@given(st.binary(min_size=5, max_size=5))
def test_every_adjacent_transposition_is_detected(data: bytes) -> None:
    symbols = compact(from_bytes(data))
    # Positions 0..7 are the payload, 8 the check symbol; the pair (7, 8) swaps
    # the last payload symbol with the check symbol (across the hyphen).
    for position in range(8):
        left, right = symbols[position], symbols[position + 1]
        if left == right:
            continue  # swapping equal symbols is no typo
        typed = symbols[:position] + right + left + symbols[position + 2 :]
        assert not is_valid(typed), typed
        assert not is_valid("SEC-" + typed)


def test_transposition_detection_holds_for_every_pair_and_position() -> None:
    """The algebra behind the guarantee, checked exhaustively rather than sampled.

    Swapping payload symbols a != b at weights 32**(k+1) and 32**k changes the
    value by (a - b) * 31 * 32**k; the check symbol misses the swap only if
    that is a multiple of 37, impossible since 37 is prime and no factor is.
    Substituting a by b at weight 32**k changes it by (a - b) * 32**k, likewise.
    Swapping the last payload symbol p with the check symbol c (both < 32)
    passes only if p ≡ 2c - p (mod 37), i.e. p == c.
    """
    for k in range(8):
        for a in range(32):
            for b in range(32):
                if a != b:
                    assert (a - b) * 32**k % 37 != 0
                    assert (a - b) * 31 * 32**k % 37 != 0
    for p in range(32):
        for c in range(32):
            if p != c:
                assert (2 * c - p) % 37 != p


def test_alias_substitutions_are_the_same_number_not_typos() -> None:
    # O/I/L decode to 0/1 by design, so typing them is not an error.
    assert normalise("SEC-0000-000I-1") == "SEC-0000-0001-1"
