"""One backoff formula for everything coopbot retries: sends, reconnects, logins.

The wait before retry number ``attempt`` (1-based) is drawn between ``least``
times its ceiling and the ceiling, which doubles from ``base`` up to ``cap``.
``least=0`` is "full jitter" (reconnects: spread a crowd of clients apart);
``least=0.5`` keeps at least half the wait (sends: never hammer a server that
just failed).
"""
from __future__ import annotations

import random


def backoff_delay(attempt: int, *, base: float, cap: float, least: float = 0.0,
                  rng: random.Random | None = None) -> float:
    ceiling = min(cap, base * 2 ** max(0, attempt - 1))
    return (rng or random).uniform(ceiling * least, ceiling)
