"""bot.scheduler on a temp SQLite file, with APScheduler's real wall clock.

Jobs are scheduled about half a second ahead and the test waits on a queue the
callback feeds, with a timeout. To show that something did *not* run, a
sentinel job is scheduled after it: once the sentinel has run, everything due
before it has been processed.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from bot.scheduler import Scheduler

WAIT = 10.0  # seconds before a test gives up on an expected job
Fired = asyncio.Queue[tuple[str, dict[str, Any]]]


def soon(seconds: float = 0.5) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'coopbot.db'}"


@pytest.fixture
def fired() -> Fired:
    return asyncio.Queue()


def recorder(fired: Fired, kind: str) -> Callable[[dict[str, Any]], Any]:
    async def record(payload: dict[str, Any]) -> None:
        await fired.put((kind, payload))

    return record


@pytest.fixture
async def make_scheduler(url: str, fired: Fired) -> AsyncIterator[Callable[..., Any]]:
    """Start schedulers on ``url`` whose "reminder" and "sentinel" jobs feed ``fired``."""
    started: list[Scheduler] = []

    async def make(**options: Any) -> Scheduler:
        scheduler = Scheduler(url, **options)
        for kind in ("reminder", "sentinel"):
            scheduler.register(kind, recorder(fired, kind))
        await scheduler.start()
        started.append(scheduler)
        return scheduler

    yield make
    for scheduler in started:
        scheduler.shutdown()


async def next_fired(fired: Fired) -> tuple[str, dict[str, Any]]:
    return await asyncio.wait_for(fired.get(), WAIT)


async def test_a_job_runs_its_kinds_callback_with_the_payload_as_json(
    make_scheduler: Callable[..., Any], fired: Fired
) -> None:
    scheduler = await make_scheduler()
    scheduler.run_once("reminder:1", soon(), "reminder", {"reminder_id": 1, "offsets": (60, 10)})
    assert await next_fired(fired) == ("reminder", {"reminder_id": 1, "offsets": [60, 10]})
    assert scheduler.jobs() == []


async def test_scheduling_the_same_id_again_replaces_the_job(
    make_scheduler: Callable[..., Any], fired: Fired
) -> None:
    scheduler = await make_scheduler()
    later = datetime.now(UTC) + timedelta(hours=1)
    scheduler.run_once("reminder:1", later, "reminder", {"version": 1})
    scheduler.run_once("reminder:1", soon(0.5), "reminder", {"version": 2})
    scheduler.run_once("sentinel", soon(0.8), "sentinel", {})
    assert [job_id for job_id, _ in scheduler.jobs()] == ["reminder:1", "sentinel"]
    assert await next_fired(fired) == ("reminder", {"version": 2})
    assert await next_fired(fired) == ("sentinel", {})
    assert fired.empty()


async def test_a_cancelled_job_never_runs_and_cancelling_twice_is_fine(
    make_scheduler: Callable[..., Any], fired: Fired
) -> None:
    scheduler = await make_scheduler()
    scheduler.run_once("reminder:1", soon(0.5), "reminder", {})
    scheduler.run_once("sentinel", soon(0.8), "sentinel", {})
    scheduler.cancel("reminder:1")
    scheduler.cancel("reminder:1")
    scheduler.cancel("never-existed")
    assert await next_fired(fired) == ("sentinel", {})
    assert fired.empty()


async def test_jobs_lists_stored_jobs_soonest_first_in_utc(make_scheduler: Callable[..., Any]) -> None:
    scheduler = await make_scheduler()
    in_two_hours = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
    madrid_summer = in_two_hours.astimezone(timezone(timedelta(hours=2)))
    scheduler.run_once("b", madrid_summer, "reminder", {})
    scheduler.run_once("a", in_two_hours + timedelta(hours=1), "reminder", {})
    jobs = scheduler.jobs()
    assert jobs == [("b", in_two_hours), ("a", in_two_hours + timedelta(hours=1))]
    assert all(run_at.utcoffset() == timedelta(0) for _, run_at in jobs)


async def test_jobs_survive_a_restart_on_the_same_database(make_scheduler: Callable[..., Any]) -> None:
    in_an_hour = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    first = await make_scheduler()
    first.run_once("reminder:7", in_an_hour, "reminder", {"reminder_id": 7})
    first.shutdown()
    second = await make_scheduler()
    assert second.jobs() == [("reminder:7", in_an_hour)]


async def test_a_job_that_fell_due_while_down_runs_once_at_start(
    make_scheduler: Callable[..., Any], fired: Fired
) -> None:
    first = await make_scheduler()
    # Due already, but the scheduler stops before the loop turns: nothing runs it yet.
    first.run_once("reminder:1", datetime.now(UTC) - timedelta(minutes=5), "reminder", {"reminder_id": 1})
    first.shutdown()
    second = await make_scheduler(misfire_grace_seconds=3600)
    assert await next_fired(fired) == ("reminder", {"reminder_id": 1})
    second.run_once("sentinel", soon(0.3), "sentinel", {})
    assert await next_fired(fired) == ("sentinel", {})
    assert second.jobs() == []


async def test_a_job_later_than_the_grace_time_is_dropped_and_logged(
    make_scheduler: Callable[..., Any], fired: Fired, caplog: pytest.LogCaptureFixture
) -> None:
    first = await make_scheduler()
    first.run_once("reminder:1", datetime.now(UTC) - timedelta(hours=2), "reminder", {})
    first.shutdown()
    with caplog.at_level(logging.WARNING, logger="bot.scheduler"):
        second = await make_scheduler(misfire_grace_seconds=3600)
        second.run_once("sentinel", soon(0.3), "sentinel", {})
        assert await next_fired(fired) == ("sentinel", {})
    assert fired.empty() and second.jobs() == []
    assert any("reminder:1" in r.getMessage() and "dropped" in r.getMessage() for r in caplog.records)


async def test_a_catch_up_kinds_job_runs_at_start_however_late(url: str, fired: Fired) -> None:
    """A proposal's deadline passed hours ago while the bot was down: it still closes, once."""
    async def start() -> Scheduler:
        scheduler = Scheduler(url, misfire_grace_seconds=60)
        scheduler.register("deadline", recorder(fired, "deadline"), catch_up=True)
        scheduler.register("sentinel", recorder(fired, "sentinel"))
        await scheduler.start()
        return scheduler

    first = await start()
    first.run_once("deadline:1", datetime.now(UTC) - timedelta(hours=5), "deadline", {"proposal_id": 1})
    first.shutdown()
    second = await start()
    try:
        assert await next_fired(fired) == ("deadline", {"proposal_id": 1})
        second.run_once("sentinel", soon(0.3), "sentinel", {})
        assert await next_fired(fired) == ("sentinel", {})
        assert second.jobs() == []
    finally:
        second.shutdown()


async def test_a_kind_with_its_own_grace_runs_within_it_and_is_told_of_a_job_dropped_beyond_it(
        url: str, fired: Fired) -> None:
    """The weekly digest: six hours of grace, whatever the reminders' is; a dropped occurrence is reported,
    so the next one can be planned."""
    dropped: list[str] = []

    async def start() -> Scheduler:
        scheduler = Scheduler(url, misfire_grace_seconds=60)
        scheduler.register("digest", recorder(fired, "digest"), grace=timedelta(hours=6), missed=dropped.append)
        scheduler.register("sentinel", recorder(fired, "sentinel"))
        await scheduler.start()
        return scheduler

    first = await start()
    first.run_once("digest:within", datetime.now(UTC) - timedelta(hours=5), "digest", {"n": 1})
    first.run_once("digest:beyond", datetime.now(UTC) - timedelta(hours=7), "digest", {"n": 2})
    first.shutdown()
    second = await start()
    try:
        assert await next_fired(fired) == ("digest", {"n": 1})
        second.run_once("sentinel", soon(0.3), "sentinel", {})
        assert await next_fired(fired) == ("sentinel", {})
        assert dropped == ["digest:beyond"] and second.jobs() == []
    finally:
        second.shutdown()


async def test_a_failing_callback_is_logged_and_later_jobs_still_run(
    url: str, fired: Fired, caplog: pytest.LogCaptureFixture
) -> None:
    async def fail(payload: dict[str, Any]) -> None:
        raise RuntimeError("boom")

    scheduler = Scheduler(url)
    scheduler.register("failing", fail)
    scheduler.register("sentinel", recorder(fired, "sentinel"))
    await scheduler.start()
    try:
        scheduler.run_once("failing:1", soon(0.3), "failing", {})
        scheduler.run_once("sentinel", soon(0.6), "sentinel", {})
        assert await next_fired(fired) == ("sentinel", {})
    finally:
        scheduler.shutdown()
    failures = [r for r in caplog.records if r.exc_info and "failing:1" in r.getMessage()]
    assert failures and "boom" in str(failures[0].exc_info[1])  # type: ignore[index]


async def test_mistakes_are_refused_when_made_not_when_the_job_comes_due(url: str) -> None:
    async def noop(payload: dict[str, Any]) -> None:
        return None

    scheduler = Scheduler(url)
    scheduler.register("reminder", noop)
    with pytest.raises(ValueError, match="already registered"):
        scheduler.register("reminder", noop)
    with pytest.raises(RuntimeError, match="start"):
        scheduler.run_once("reminder:1", soon(), "reminder", {})
    await scheduler.start()
    try:
        with pytest.raises(RuntimeError, match="before start"):
            scheduler.register("late", noop)
        with pytest.raises(LookupError, match="'typo'"):
            scheduler.run_once("x", soon(), "typo", {})
        with pytest.raises(ValueError, match="naive"):
            scheduler.run_once("x", datetime(2030, 1, 1, 12, 0), "reminder", {})
        with pytest.raises(TypeError, match="JSON serializable"):
            scheduler.run_once("x", soon(), "reminder", {"at": datetime.now(UTC)})
        assert scheduler.jobs() == []
        second = Scheduler(url)
        with pytest.raises(RuntimeError, match="already running"):
            await second.start()
    finally:
        scheduler.shutdown()
    with pytest.raises(ValueError, match="at least 1"):
        Scheduler(url, misfire_grace_seconds=0)
