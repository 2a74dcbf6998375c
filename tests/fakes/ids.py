"""Identifiers and timestamps shaped like the ones Mattermost hands out.

Mattermost ids (users, channels, posts, tokens, connection ids) are 26
characters of base32 in its own alphabet (``model.NewId``); timestamps are
Unix milliseconds.
"""
from __future__ import annotations

import secrets
import time
from collections.abc import Callable

__all__ = ["MillisClock", "is_valid_id", "new_id"]

_ALPHABET = "ybndrfg8ejkmcpqxot1uwisza345h769"


def new_id() -> str:
    """Return a fresh 26-character id (128 random bits, base32, like ``model.NewId``)."""
    bits = int.from_bytes(secrets.token_bytes(16), "big") << 2  # pad 128 bits to 26 * 5
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[bits & 31])
        bits >>= 5
    return "".join(reversed(chars))


def is_valid_id(value: str) -> bool:
    """Mirror ``model.IsValidId``: 26 ASCII letters or digits."""
    return len(value) == 26 and value.isascii() and value.isalnum()


class MillisClock:
    """Unix-millisecond timestamps from an injectable clock, strictly increasing.

    Real Mattermost can give two posts the same ``create_at``; the fake never
    does, so ``after``/``since`` tests are deterministic.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._last = 0

    def seconds(self) -> float:
        """The injected clock's current reading, in seconds."""
        return self._clock()

    def now_ms(self) -> int:
        """A timestamp later than every one returned before."""
        self._last = max(int(self._clock() * 1000), self._last + 1)
        return self._last
