"""How long one command's unit of work takes: claim the message, read prefs, write, enqueue a reply.

    .venv/bin/python bench/storage_unit.py [URL] [--units N]

Default URL: a fresh SQLite file in a temp dir. Prints p50/p99/mean in µs and
units per second, with the machine and versions. Not a test: nothing asserts.
"""
from __future__ import annotations

import argparse
import platform
import sqlite3
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy

from bot.storage import Store, Unit


def command(u: Unit, n: int, now: datetime, run: str) -> None:
    if not u.inbox.claim("mattermost", f"{run}-{n}", now):
        return
    u.users.get("mattermost", f"user-{n % 50}")
    u.users.set_zone("mattermost", f"user-{n % 50}", "America/Argentina/Buenos_Aires", now)
    u.cursors.set("mattermost.seq", str(n))
    u.outbox.enqueue(platform="mattermost", channel_id="town-square", thread_id=f"{run}-{n}",
                     text="Call on Tuesday 15:00 UTC", now=now)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url", nargs="?")
    parser.add_argument("--units", type=int, default=5000)
    args = parser.parse_args()
    url = args.url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    store = Store(url)
    store.migrate()
    now = datetime(2025, 3, 30, 12, 0, tzinfo=UTC)
    run = uuid.uuid4().hex[:8]  # fresh message ids, so every claim succeeds on a reused database
    for n in range(200):  # warm the pool and the statement cache
        with store.unit() as u:
            command(u, -n - 1, now, run)
    samples = []
    for n in range(args.units):
        start = time.perf_counter_ns()
        with store.unit() as u:
            command(u, n, now + timedelta(microseconds=n), run)
        samples.append((time.perf_counter_ns() - start) / 1000)
    store.close()
    samples.sort()
    mean = statistics.fmean(samples)
    print(f"url={store.engine.url.render_as_string(hide_password=True)} units={args.units}")
    print(f"p50={samples[len(samples) // 2]:.0f}µs p99={samples[int(len(samples) * 0.99)]:.0f}µs "
          f"mean={mean:.0f}µs units/s={1e6 / mean:.0f}")
    print(f"machine={platform.machine()} python={platform.python_version()} "
          f"sqlalchemy={sqlalchemy.__version__} sqlite={sqlite3.sqlite_version}")


if __name__ == "__main__":
    main()
