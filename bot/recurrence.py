"""Occurrences of a wall-clock time in a zone: "monday 09:00 Buenos Aires", every week, across DST.

A rule names a local time (and a weekday, or every day) in a zone; each
occurrence is that local time on a matching day, turned into UTC with pytz's
``localize`` on that day, so the UTC instant moves when the zone's offset does
and the local time never does. Two days a year need a choice:

- a local time skipped by a DST gap (02:30 on the night clocks go forward)
  happens as far after the gap as it was into it: 03:30 local;
- a local time a DST change repeats (01:30 on the night clocks go back) happens
  once, the first time.

All instants in and out are aware; results are in UTC.

A recurring job (``bot.commands.job`` with ``every=``) is one stored one-shot
job per occurrence, its id naming the occurrence (``job_id``): the next one is
planned at start and after each run. The last occurrence handled is kept in the
cursors table, under the job's kind and its rule (``cursor_name``), and moved in
the transaction of the run (``claim``), so an occurrence runs at most once
however it comes: its stored job, the catch-up at start, or both. At start
(``on_start``) an occurrence missed while the bot was down is run if it is at
most the grace time late, else skipped (and recorded as handled); a rule seen
for the first time (a new schedule) counts from now, with nothing missed.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Any, Protocol

import pytz

if TYPE_CHECKING:
    from bot.storage import Unit

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


# --- recurring jobs -------------------------------------------------------------------------


def cursor_name(kind: str, rule: WallClockRule) -> str:
    """Where the last occurrence handled is kept: per kind and rule, so a new schedule starts afresh."""
    day = "daily" if rule.weekday is None else str(rule.weekday)
    return f"recurring:{kind}:{day} {rule.at:%H:%M} {rule.zone}"


def job_id(kind: str, occurrence: datetime) -> str:
    return f"{kind}:{occurrence.astimezone(timezone.utc):%Y-%m-%dT%H:%MZ}"


def payload(occurrence: datetime) -> dict[str, Any]:
    return {"occurrence": occurrence.astimezone(timezone.utc).isoformat()}


def occurrence_of(job_payload: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(job_payload["occurrence"])


@dataclass(frozen=True)
class StartPlan:
    """What a recurring job needs at start: the next occurrence, and what to do about one missed."""

    upcoming: datetime
    missed: datetime | None = None  # to run now
    skipped: datetime | None = None  # too late to run: recorded as handled


def _last_handled(unit: Unit, kind: str, rule: WallClockRule) -> datetime | None:
    value = unit.cursors.get(cursor_name(kind, rule))
    return datetime.fromisoformat(value) if value else None


def on_start(unit: Unit, kind: str, rule: WallClockRule, now: datetime, grace: timedelta) -> StartPlan:
    upcoming = next_after(rule, now)
    latest = latest_until(rule, now)
    last = _last_handled(unit, kind, rule)
    if last is None or latest <= last:
        if last is None:  # a rule never seen: count from now
            unit.cursors.set(cursor_name(kind, rule), latest.isoformat())
        return StartPlan(upcoming)
    if now - latest <= grace:
        return StartPlan(upcoming, missed=latest)
    unit.cursors.set(cursor_name(kind, rule), latest.isoformat())
    return StartPlan(upcoming, skipped=latest)


def claim(unit: Unit, kind: str, rule: WallClockRule | None, occurrence: datetime) -> bool:
    """Whether ``occurrence`` is to run now: one of the rule's, and not handled yet. Marks it handled."""
    if rule is None or not is_occurrence(rule, occurrence):
        return False  # planned under a schedule since changed or removed
    last = _last_handled(unit, kind, rule)
    if last is not None and occurrence <= last:
        return False
    unit.cursors.set(cursor_name(kind, rule), occurrence.isoformat())
    return True
