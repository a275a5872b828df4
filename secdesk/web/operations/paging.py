"""Reading the keyset position of a page link (``?after=<id>``) of the operations pages."""

from __future__ import annotations

# Larger than any primary key a 64-bit column holds: such a link was not made by the desk.
_MAX_DIGITS = 19


def after_position(text: str) -> int | None:
    """The id a page link continues after: a whole number, else ``None`` (the page answers 400)."""
    return int(text) if text.isdigit() and len(text) <= _MAX_DIGITS else None
