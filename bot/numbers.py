"""Numbers people type to name things: a call, an agenda item, a post."""
from __future__ import annotations

MAX_DIGITS = 9  # fits every database's integer column


def small_number(text: str) -> int | None:
    """``text`` as a number when it is ASCII digits that fit a database integer, else None.

    Python's ``isdigit`` also takes "²" and "٣", and ``int`` refuses over 4300 digits.
    """
    return int(text) if text.isascii() and text.isdigit() and len(text) <= MAX_DIGITS else None
