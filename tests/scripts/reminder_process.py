"""One life of a coopbot process, as far as reminders go; driven by tests/test_reminder_restart.py.

    reminder_process.py URL schedule SECONDS [--grace S]
        Add a call with one reminder due in SECONDS, schedule its job (which
        keeps the grace time it was scheduled with), exit.
        Prints "scheduled REMINDER_ID DUE_AT_ISO".

    reminder_process.py URL serve [--grace S] [--rescan] [--expect N] [--quiet S]
        Start as the bot would. Every reminder job that runs prints "job JOB_ID";
        the one run that claims the reminder prints "fired REMINDER_ID". With
        --rescan, pending reminders are scheduled again at start (the bot's
        recovery for jobs dropped past the grace time). Exits once N reminders
        fired and then nothing else ran for --quiet seconds; exit code 2 if the
        N did not come within 15 s.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.scheduler import Scheduler
from bot.storage import Store

EXPECT_TIMEOUT = 15.0


def job_id(reminder_id: int) -> str:
    return f"reminder:{reminder_id}"


async def schedule(store: Store, url: str, seconds: float, grace: int) -> None:
    now = datetime.now(UTC)
    due_at = now + timedelta(seconds=seconds)
    with store.unit() as u:
        call = u.calls.add(title="restart test", starts_at=due_at + timedelta(minutes=10),
                           duration_minutes=30, coops=["a", "b"], created_by="test",
                           platform="console", channel_id="c", now=now)
        (reminder,) = u.reminders.replace_for_call(call.id, [(10, due_at)])
    scheduler = Scheduler(url, misfire_grace_seconds=grace)
    scheduler.register("reminder", _never_here)
    await scheduler.start()
    scheduler.run_once(job_id(reminder.id), due_at, "reminder", {"reminder_id": reminder.id})
    scheduler.shutdown()
    print(f"scheduled {reminder.id} {due_at.isoformat()}", flush=True)


async def _never_here(payload: dict[str, Any]) -> None:
    raise AssertionError(f"the scheduling process must exit before {payload} is due")


async def serve(store: Store, url: str, grace: int, rescan: bool, expect: int, quiet: float) -> int:
    ran: asyncio.Queue[str] = asyncio.Queue()

    async def remind(payload: dict[str, Any]) -> None:
        reminder_id = int(payload["reminder_id"])
        print(f"job {job_id(reminder_id)}", flush=True)
        with store.unit() as u:
            claimed = u.reminders.claim(reminder_id, datetime.now(UTC))
        if claimed is not None:
            print(f"fired {claimed.id}", flush=True)
            await ran.put("fired")
        else:
            await ran.put("job")

    scheduler = Scheduler(url, misfire_grace_seconds=grace)
    scheduler.register("reminder", remind)
    await scheduler.start()
    try:
        if rescan:
            now = datetime.now(UTC)
            with store.unit() as u:
                pending = u.reminders.pending()
            for reminder in pending:
                scheduler.run_once(job_id(reminder.id), max(reminder.due_at, now), "reminder",
                                   {"reminder_id": reminder.id})
        fired = 0
        while fired < expect:
            try:
                event = await asyncio.wait_for(ran.get(), EXPECT_TIMEOUT)
            except TimeoutError:
                return 2
            fired += event == "fired"
        while True:  # anything after the expected fires is a duplicate: it prints, we keep listening
            try:
                await asyncio.wait_for(ran.get(), quiet)
            except TimeoutError:
                return 0
    finally:
        scheduler.shutdown()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    sub = parser.add_subparsers(dest="command", required=True)
    scheduling = sub.add_parser("schedule")
    scheduling.add_argument("seconds", type=float)
    scheduling.add_argument("--grace", type=int, default=3600)
    serving = sub.add_parser("serve")
    serving.add_argument("--grace", type=int, default=3600)
    serving.add_argument("--rescan", action="store_true")
    serving.add_argument("--expect", type=int, default=0)
    serving.add_argument("--quiet", type=float, default=0.5)
    args = parser.parse_args()

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    store = Store(args.url)
    store.migrate()
    try:
        if args.command == "schedule":
            asyncio.run(schedule(store, args.url, args.seconds, args.grace))
            return 0
        return asyncio.run(serve(store, args.url, args.grace, args.rescan, args.expect, args.quiet))
    finally:
        store.close()


if __name__ == "__main__":
    sys.exit(main())
