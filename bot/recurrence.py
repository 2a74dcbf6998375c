"""Occurrences of a wall-clock time in a zone: "monday 09:00 Buenos Aires", every week, across DST.

A rule names a local time (and a weekday, or every day) in a zone; each
occurrence is that local time on a matching day, turned into UTC with pytz's
``localize`` on that day, so the UTC instant moves when the zone's offset does
and the local time never does. Two days a year need a choice:

- a local time skipped by a DST gap (02:30 on the night clocks go forward)
  happens as far after the gap as it was into it: 03:30 local;
- a local time a DST change repeats (01:30 on the night clocks go back) happens
  once, the first time.

All instants in and out are aware; results are in UTC. Jobs that recur by
such a rule are ``bot.schedules``.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone
from typing import Protocol

import pytz

_WEEK = 7


class WallClockRule(Protocol):
    """A local time in a zone, on one weekday (0 is Monday) or, with ``weekday`` None, every day."""

    @property
    def weekday(self) -> int | None: ...

    @property
    def at(self) -> time: ...

    @property
    def zone(self) -> str: ...


def occurrence_on(rule: WallClockRule, day: date) -> datetime | None:
    """The rule's instant on local ``day`` (UTC), or None if the rule skips that day."""
    if rule.weekday is not None and day.weekday() != rule.weekday:
        return None
    tz = pytz.timezone(rule.zone)
    local = datetime.combine(day, rule.at)
    try:
        aware = tz.localize(local, is_dst=None)
    except pytz.AmbiguousTimeError:
        aware = tz.localize(local, is_dst=True)  # the first of the two
    except pytz.NonExistentTimeError:
        aware = tz.normalize(tz.localize(local, is_dst=False))  # read on the old offset: after the gap
    return aware.astimezone(timezone.utc)


def _around(rule: WallClockRule, moment: datetime, step: int) -> Iterator[datetime]:
    """The rule's instants on the local days from the day before ``moment``'s, going ``step`` days at a time."""
    first = moment.astimezone(pytz.timezone(rule.zone)).date() - timedelta(days=step)
    for n in range(_WEEK + 3):
        found = occurrence_on(rule, first + timedelta(days=n * step))
        if found is not None:
            yield found


def next_after(rule: WallClockRule, moment: datetime) -> datetime:
    """The first occurrence strictly after ``moment``."""
    return next(when for when in _around(rule, moment, 1) if when > moment)


def latest_until(rule: WallClockRule, moment: datetime) -> datetime:
    """The last occurrence at or before ``moment``."""
    return next(when for when in _around(rule, moment, -1) if when <= moment)


def is_occurrence(rule: WallClockRule, moment: datetime) -> bool:
    """Whether ``moment`` is one of the rule's instants (a job planned under another rule is not)."""
    day = moment.astimezone(pytz.timezone(rule.zone)).date()
    return any(occurrence_on(rule, near) == moment for near in (day - timedelta(days=1), day, day + timedelta(days=1)))
