"""Confirmation numbers: what a reporter is given to quote when following up on a report.

A confirmation number looks like ``SEC-7K2M-Q9XD-4``: the prefix ``SEC``, eight
Crockford base32 symbols carrying 40 random bits (shown in two groups of four)
and one Crockford check symbol, the 40-bit value modulo 37.

People read these numbers aloud, copy them from e-mails and type them back, so
:func:`normalise` forgives what Crockford base32 was designed to forgive (case,
separators, ``O``/``I``/``L`` for ``0``/``1``) and refuses everything else.
Because 37 is prime and larger than the 32-symbol payload alphabet, the check
symbol catches every single wrong symbol and every swap of two neighbouring
symbols (including the last payload symbol and the check symbol).

A number that does not decode answers exactly like an unknown ticket
(:class:`InvalidConfirmationNumber` is a :class:`~secdesk.domain.errors.NotFound`),
so a guesser cannot tell a well-formed miss from a typo.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import Final

from secdesk.domain.errors import NotFound

__all__ = [
    "CHECK_ALPHABET",
    "PAYLOAD_ALPHABET",
    "PREFIX",
    "REASON_BAD_CHARACTER",
    "REASON_CHECK_MISMATCH",
    "REASON_WRONG_LENGTH",
    "InvalidConfirmationNumber",
    "generate",
    "is_valid",
    "normalise",
]

PREFIX: Final = "SEC"

#: Crockford base32: digits and letters without I, L, O, U.
PAYLOAD_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
#: Crockford check symbols: the payload alphabet plus five extra symbols for 32..36.
CHECK_ALPHABET: Final = PAYLOAD_ALPHABET + "*~$=U"

PAYLOAD_BITS: Final = 40
PAYLOAD_LENGTH: Final = PAYLOAD_BITS // 5  # 5 bits per base32 symbol
_RANDOM_BYTES: Final = PAYLOAD_BITS // 8
_CHECK_MODULUS: Final = len(CHECK_ALPHABET)  # 37, a prime: see the module docstring
_GROUP: Final = 4

REASON_WRONG_LENGTH: Final = "wrong length"
REASON_BAD_CHARACTER: Final = "invalid character"
REASON_CHECK_MISMATCH: Final = "check character does not match"

# Crockford decoding: letters easily mistaken for digits decode as those digits.
_ALIASES: Final = {"O": "0", "I": "1", "L": "1"}
_PAYLOAD_VALUES: Final = {symbol: value for value, symbol in enumerate(PAYLOAD_ALPHABET)}
_CHECK_VALUES: Final = {symbol: value for value, symbol in enumerate(CHECK_ALPHABET)}

# Separators people (and word processors) put into numbers they copy: ASCII and
# Unicode hyphens/dashes, the minus sign and any white space.
_SEPARATORS: Final = re.compile(r"[\s\-\u2010-\u2015\u2212]+")


class InvalidConfirmationNumber(NotFound):
    """The text is not a confirmation number at all (malformed or mistyped).

    The message is deliberately the same for every cause; ``reason`` says which
    check failed, for the CLI and for API error details.
    """

    def __init__(self, reason: str) -> None:
        super().__init__("Not a valid confirmation number")
        self.reason = reason


def _check_symbol(value: int) -> str:
    return CHECK_ALPHABET[value % _CHECK_MODULUS]


def _format(value: int) -> str:
    """Render a 40-bit value in the canonical display form ``SEC-XXXX-XXXX-C``."""
    symbols = []
    rest = value
    for _ in range(PAYLOAD_LENGTH):
        rest, digit = divmod(rest, 32)
        symbols.append(PAYLOAD_ALPHABET[digit])
    payload = "".join(reversed(symbols))
    groups = [payload[i : i + _GROUP] for i in range(0, PAYLOAD_LENGTH, _GROUP)]
    return "-".join([PREFIX, *groups, _check_symbol(value)])


def _decode_payload(payload: str) -> int:
    value = 0
    for symbol in payload:
        value = value * 32 + _PAYLOAD_VALUES[symbol]
    return value


def generate(random_bytes: Callable[[int], bytes] = secrets.token_bytes) -> str:
    """Return a new random confirmation number in canonical form.

    ``random_bytes(n)`` must return ``n`` bytes; it defaults to the OS CSPRNG
    because the number is the reporter's only handle on an anonymous report and
    must not be guessable. Tests inject a deterministic source.
    """
    raw = random_bytes(_RANDOM_BYTES)
    if len(raw) != _RANDOM_BYTES:
        raise ValueError(f"random_bytes({_RANDOM_BYTES}) returned {len(raw)} bytes")
    return _format(int.from_bytes(raw, "big"))


def normalise(text: str) -> str:
    """Return the canonical form of a typed confirmation number.

    Accepts any letter case, hyphens and white space anywhere, an optional
    ``SEC`` prefix and the Crockford aliases ``O`` → ``0``, ``I``/``L`` → ``1``.
    ``U`` is only valid as the check symbol. Raises
    :class:`InvalidConfirmationNumber` when the text is not a valid number.
    """
    compact = _SEPARATORS.sub("", text)
    # Refuse non-ASCII before upper-casing: str.upper() can change the length
    # ("ß" → "SS") and would make the length check below misleading.
    if not compact.isascii():
        raise InvalidConfirmationNumber(REASON_BAD_CHARACTER)
    compact = compact.upper()
    # "SEC" is itself valid base32, so the prefix is recognised by length alone:
    # only a string one prefix longer than a bare number can carry it.
    if len(compact) == len(PREFIX) + PAYLOAD_LENGTH + 1 and compact.startswith(PREFIX):
        compact = compact[len(PREFIX) :]
    if len(compact) != PAYLOAD_LENGTH + 1:
        raise InvalidConfirmationNumber(REASON_WRONG_LENGTH)

    decoded = "".join(_ALIASES.get(symbol, symbol) for symbol in compact)
    payload, check = decoded[:PAYLOAD_LENGTH], decoded[PAYLOAD_LENGTH]
    if any(symbol not in _PAYLOAD_VALUES for symbol in payload) or check not in _CHECK_VALUES:
        raise InvalidConfirmationNumber(REASON_BAD_CHARACTER)
    value = _decode_payload(payload)
    if _check_symbol(value) != check:
        raise InvalidConfirmationNumber(REASON_CHECK_MISMATCH)
    return _format(value)


def is_valid(text: str) -> bool:
    """Tell whether ``text`` normalises to a confirmation number."""
    try:
        normalise(text)
    except InvalidConfirmationNumber:
        return False
    return True
