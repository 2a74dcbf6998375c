"""Deadlines a few seconds ahead on the wall clock, for stories through the real bot process.

A story where a deadline passes while no bot runs has nothing to wait on but the
clock: ``sleep_past`` / ``wait_past`` sleep exactly until it has passed.
"""
from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone


def seconds_ahead(seconds: float) -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=seconds)


def utc(at: datetime) -> str:
    """As a member writes it, to the second: "2026-12-06 18:30:15 UTC"."""
    return f"{at:%Y-%m-%d %H:%M:%S} UTC"


def _left(at: datetime, slack: float) -> float:
    return max(0.0, (at - datetime.now(timezone.utc)).total_seconds() + slack)


def sleep_past(at: datetime, slack: float = 1.0) -> None:
    time.sleep(_left(at, slack))


async def wait_past(at: datetime, slack: float = 1.0) -> None:
    await asyncio.sleep(_left(at, slack))
