"""Recurring jobs: each occurrence of a wall-clock rule (``bot.recurrence``) run at most once, across restarts.

A recurring job (``bot.commands.job`` with ``every=``) is one stored one-shot
job per occurrence, its id naming the occurrence (``job_id``). The next one is
planned at start, after each run (whether the run worked or failed) and when
APScheduler drops one it found too late (a host suspended for hours), so a
schedule never stops until the configuration drops it. The last occurrence
handled is kept in the cursors table, under the job's kind and its rule
(``cursor_name``), and moved in the run's transaction (``claim``): an
occurrence runs at most once however it comes, by its stored job, by the
catch-up at start, or both. At start an occurrence missed while the bot was
down runs if it is at most the grace time late, else it is skipped (and
recorded as handled); a rule seen for the first time (a new schedule) counts
from now, with nothing missed.

Call ``plan_*`` outside any ``Store`` unit: they write the scheduler's job store.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from bot.recurrence import WallClockRule, is_occurrence, latest_until, next_after

if TYPE_CHECKING:
    from bot.commands import JobSpec
    from bot.scheduler import Scheduler
    from bot.storage import Store, Unit
    from config.model import Config

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


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
    """What a recurring job needs at start about an occurrence missed while the bot was down."""

    missed: datetime | None = None  # to run now
    skipped: datetime | None = None  # too late to run: recorded as handled


def _last_handled(unit: Unit, kind: str, rule: WallClockRule) -> datetime | None:
    value = unit.cursors.get(cursor_name(kind, rule))
    return datetime.fromisoformat(value) if value else None


def on_start(unit: Unit, kind: str, rule: WallClockRule, now: datetime, grace: timedelta) -> StartPlan:
    latest = latest_until(rule, now)
    last = _last_handled(unit, kind, rule)
    if last is None or latest <= last:
        if last is None:  # a rule never seen: count from now
            unit.cursors.set(cursor_name(kind, rule), latest.isoformat())
        return StartPlan()
    if now - latest <= grace:
        return StartPlan(missed=latest)
    unit.cursors.set(cursor_name(kind, rule), latest.isoformat())
    return StartPlan(skipped=latest)


def claim(unit: Unit, kind: str, rule: WallClockRule | None, occurrence: datetime) -> bool:
    """Whether ``occurrence`` is to run now: one of the rule's, and not handled yet. Marks it handled."""
    if rule is None or not is_occurrence(rule, occurrence):
        return False  # planned under a schedule since changed or removed
    last = _last_handled(unit, kind, rule)
    if last is not None and occurrence <= last:
        return False
    unit.cursors.set(cursor_name(kind, rule), occurrence.isoformat())
    return True


class Schedules:
    """The recurring jobs of the running bot: their rules come from the configuration."""

    def __init__(self, config: Config, jobs: Mapping[str, JobSpec], scheduler: Scheduler, store: Store,
                 clock: Clock) -> None:
        self._config = config
        self._specs = {kind: spec for kind, spec in jobs.items() if spec.every is not None}
        self._scheduler = scheduler
        self._store = store
        self._clock = clock

    def is_recurring(self, kind: str) -> bool:
        return kind in self._specs

    def rule(self, kind: str) -> WallClockRule | None:
        every = self._specs[kind].every
        return every(self._config) if every is not None else None

    def grace(self, kind: str) -> timedelta:
        grace = self._specs[kind].grace
        return grace(self._config) if grace is not None else self._config.reminders.misfire_grace

    def claim(self, unit: Unit, kind: str, job_payload: dict[str, Any]) -> bool:
        """In the run's transaction: whether this occurrence is to run (False: it ran, or is no longer planned)."""
        occurrence = occurrence_of(job_payload)
        if not claim(unit, kind, self.rule(kind), occurrence):
            log.info("%s of %s: already run, or no longer in the configuration", kind, occurrence.isoformat())
            return False
        log.info("%s of %s: running", kind, occurrence.isoformat())
        return True

    def plan_at_start(self) -> None:
        """Plan each schedule's next occurrence; run one missed while the bot was down, or skip it if it is
        later than its grace time."""
        now = self._clock()
        plans = []
        with self._store.unit() as unit:
            for kind in self._specs:
                rule = self.rule(kind)
                if rule is not None:
                    plans.append((kind, rule, on_start(unit, kind, rule, now, self.grace(kind))))
        for kind, rule, plan in plans:
            if plan.skipped is not None:
                log.warning("%s of %s (%s) was missed by more than its grace time while the bot was down: skipped",
                            kind, plan.skipped.isoformat(), rule)
            if plan.missed is not None:
                log.info("%s of %s (%s) was missed while the bot was down: running it now",
                         kind, plan.missed.isoformat(), rule)
                self._scheduler.run_once(job_id(kind, plan.missed), now, kind, payload(plan.missed))
            self.plan_next(kind, now)

    def plan_next(self, kind: str, after: datetime) -> None:
        """Plan ``kind``'s first occurrence after ``after`` (and after now), if it still has a rule."""
        rule = self.rule(kind)
        if rule is not None:
            upcoming = next_after(rule, max(after, self._clock()))
            self._scheduler.run_once(job_id(kind, upcoming), upcoming, kind, payload(upcoming))
