"""One-shot jobs that survive restarts: APScheduler 3 behind intent-named methods.

Jobs live in the bot's own database (``SQLAlchemyJobStore``, table
``apscheduler_jobs``, which APScheduler creates and owns). Each stored job is a
textual reference to ``dispatch_job`` plus two arguments, a ``kind`` and a plain
JSON ``payload``; when it runs, ``dispatch_job`` hands the payload to the
callback registered for that kind in the ``Scheduler`` running on the loop.

Why a process-wide registry: APScheduler 3 persists a job's function as a
``module:name`` reference and can call nothing else, so a stored job cannot
point at a bound method or closure of a live object. ``_running`` maps each
event loop to the one ``Scheduler`` started on it; it is written only by
``start()`` and ``shutdown()`` and read only by ``dispatch_job``.

Misfire policy. APScheduler uses the wall clock. A job that fell due while the
process was down runs once at start if it is at most ``misfire_grace_seconds``
late (``coalesce`` folds repeated run times into one); a later one is dropped by
APScheduler and logged here as a warning. APScheduler stores the grace time
with each job, so the one in force is that of the Scheduler that scheduled it.
A kind registered with ``catch_up=True`` (closing a proposal at its deadline)
has no grace time: however late, its jobs run once at start.

Nothing is lost that way, because a job only ever points at a database row (a
reminder) and callers rescan after ``start()``::

    with store.unit() as u:
        pending = u.reminders.pending()
    for r in pending:
        scheduler.run_once(f"reminder:{r.id}", max(r.due_at, now), "reminder", {"reminder_id": r.id})

Deterministic ids and ``replace_existing`` keep that from duplicating jobs, and
``reminders.claim`` makes a reminder fire exactly once whichever way it comes
(stored job, rescan, both, or two processes).

SQLite: the job table is in the same file as the bot's, and a ``Store`` unit
holds the write lock from its first statement. So call ``run_once`` and
``cancel`` after the unit has committed (as ``bot.context.JobPlan`` does), and
never ``await`` inside a unit: a job store access from the loop would then wait
on a lock its own thread holds, until ``busy_timeout``.
"""
from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import BaseScheduler

from bot.storage.engine import make_engine

log = logging.getLogger(__name__)

JOBS_TABLE = "apscheduler_jobs"
#: Stored in every job row: never rename or move ``dispatch_job``.
ENTRY_POINT = f"{__name__}:dispatch_job"

JobCallback = Callable[[dict[str, Any]], Awaitable[None]]

_running: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Scheduler] = (
    weakref.WeakKeyDictionary()
)


async def dispatch_job(kind: str, payload: dict[str, Any]) -> None:
    """The function every stored job calls: run ``kind``'s callback with ``payload``.

    Raises ``LookupError`` (logged by APScheduler with the job) if no scheduler
    runs on this loop or none of its callbacks handles ``kind``.
    """
    scheduler = _running.get(asyncio.get_running_loop())
    if scheduler is None:
        raise LookupError(f"no Scheduler is running on this event loop for a {kind!r} job")
    await scheduler.callback(kind)(payload)


@dataclass(frozen=True)
class PlannedRun:
    job_id: str
    run_at: datetime
    kind: str
    payload: dict[str, Any]


class Scheduler:
    """``Scheduler(url)``; ``register`` every kind, ``await start()``, then schedule.

    Call every method from the event loop's thread.
    """

    def __init__(self, url: str, *, misfire_grace_seconds: int = 3600) -> None:
        if misfire_grace_seconds < 1:
            raise ValueError(f"misfire_grace_seconds must be at least 1, not {misfire_grace_seconds}")
        self._callbacks: dict[str, JobCallback] = {}
        self._catch_up: set[str] = set()  # kinds whose jobs run however late
        self._grace_of: dict[str, int] = {}  # kinds with a grace time of their own, in seconds
        self._missed: dict[str, Callable[[str], None]] = {}  # kinds told when one of their jobs is dropped
        self._aps = _AsyncIOScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=make_engine(url), tablename=JOBS_TABLE)},
            job_defaults={"coalesce": True, "misfire_grace_time": misfire_grace_seconds},
            timezone=UTC,
        )
        self._aps.add_listener(self._log_missed, EVENT_JOB_MISSED)

    def register(self, kind: str, callback: JobCallback, *, catch_up: bool = False,
                 grace: timedelta | None = None, missed: Callable[[str], None] | None = None) -> None:
        """Name what a ``kind`` of job does. Before ``start()``, since due jobs fire at once.

        ``catch_up``: a job of this kind that fell due while the bot was down runs once at
        start however late it is (the misfire grace time does not apply to it).
        ``grace``: this kind's misfire grace time, instead of the scheduler's.
        ``missed(job_id)``: called when a job of this kind (its id starting ``kind:``) is dropped as too late.
        """
        if self._aps.running:
            raise RuntimeError(f"register {kind!r} before start(): due jobs run as soon as it starts")
        if kind in self._callbacks:
            raise ValueError(f"a callback is already registered for {kind!r}")
        self._callbacks[kind] = callback
        if catch_up:
            self._catch_up.add(kind)
        if grace is not None:
            self._grace_of[kind] = max(1, int(grace.total_seconds()))
        if missed is not None:
            self._missed[kind] = missed

    def callback(self, kind: str) -> JobCallback:
        try:
            return self._callbacks[kind]
        except KeyError:
            raise LookupError(f"no callback registered for job kind {kind!r}") from None

    async def start(self) -> None:
        """Start on the running loop; jobs that fell due while we were down run now."""
        loop = asyncio.get_running_loop()
        if loop in _running:
            raise RuntimeError("another Scheduler is already running on this event loop")
        _running[loop] = self
        try:
            self._aps.start()
        except BaseException:
            del _running[loop]
            raise

    def shutdown(self) -> None:
        """Stop at once; callbacks still running are cancelled. Stored jobs stay stored."""
        if not self._aps.running:
            return
        loop = self._aps.loop
        self._aps.shutdown(wait=False)
        if loop is not None and _running.get(loop) is self:
            del _running[loop]

    def run_once(self, job_id: str, run_at: datetime, kind: str, payload: dict[str, Any]) -> None:
        """Run ``kind``'s callback with ``payload`` at ``run_at``; replaces any job with this id.

        ``payload`` must be plain JSON; the callback gets it as JSON gave it back
        (tuples become lists), the same before and after a restart.
        """
        self._require_running()
        if run_at.tzinfo is None or run_at.utcoffset() is None:
            raise ValueError(f"run_at must be aware, got naive {run_at.isoformat()}")
        self.callback(kind)  # an unknown kind fails here, not when the job comes due
        self._aps.add_job(
            ENTRY_POINT,
            trigger="date",
            run_date=run_at.astimezone(UTC),
            id=job_id,
            name=f"{kind} {job_id}",
            args=(kind, json.loads(json.dumps(payload))),
            replace_existing=True,
            # None: APScheduler runs the job however late (its own default is the scheduler's)
            **({"misfire_grace_time": None} if kind in self._catch_up else {}),
            **({"misfire_grace_time": self._grace_of[kind]} if kind in self._grace_of else {}),
        )

    def cancel(self, job_id: str) -> None:
        """Remove the job; no error if it already ran or never existed."""
        self._require_running()
        try:
            self._aps.remove_job(job_id)
        except JobLookupError:
            pass

    def jobs(self) -> list[tuple[str, datetime]]:
        """Stored jobs and when they run, soonest first."""
        self._require_running()
        return [(job.id, job.next_run_time) for job in self._aps.get_jobs()]

    def planned(self) -> list[PlannedRun]:
        """Stored jobs with what they will run, soonest first."""
        self._require_running()
        return [PlannedRun(job.id, job.next_run_time, *job.args) for job in self._aps.get_jobs()]

    def _require_running(self) -> None:
        if not self._aps.running:
            raise RuntimeError("the Scheduler is not running: await start() first")

    def _log_missed(self, event: JobExecutionEvent) -> None:
        log.warning(
            "job %s was due at %s, more than its grace time ago: dropped (each feature re-plans or skips it at start)",
            event.job_id,
            event.scheduled_run_time.isoformat(),
        )
        tell = self._missed.get(event.job_id.split(":", 1)[0])
        if tell is not None:
            tell(event.job_id)


class _AsyncIOScheduler(AsyncIOScheduler):  # type: ignore[misc]  # APScheduler 3 is untyped
    """``AsyncIOScheduler`` whose ``shutdown`` takes effect now, not on the next loop turn.

    APScheduler 3.11 defers ``shutdown`` through ``call_soon_threadsafe``. Until
    that turn comes the old scheduler still runs jobs: a new one started in the
    meantime would process the same table, and a process that exits right away
    may skip the shutdown. We are always on the loop's thread, so stop now, and
    ignore any wakeup that was already queued before the stop.
    """

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        loop: asyncio.AbstractEventLoop | None = self._eventloop
        return loop

    def shutdown(self, wait: bool = True) -> None:
        BaseScheduler.shutdown(self, wait)
        self._stop_timer()
        self._eventloop = None

    def _process_jobs(self) -> float | None:
        if not self.running:  # a wakeup queued before shutdown()
            return None
        wait_seconds: float | None = super()._process_jobs()
        return wait_seconds
