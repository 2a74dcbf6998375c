"""SQLite's write-ahead log under a long run of commands: does it stay bounded?

    .venv/bin/python bench/wal_growth.py [--commands 100000] [--in-flight 50]

The real App on a SQLite file, with the in-process recording adapter (no
network, so commands come faster than any chat server sends them: the harder
case for the log). ``!time 7pm GMT on 29 Nov 2018`` is said ``--commands``
times, ``--in-flight`` at once, while the App's own checkpoint loop runs. The
log file's size is sampled every 20 ms; prints the largest and the last, with
commands per second. Not a test: nothing asserts.
"""
from __future__ import annotations

import argparse
import asyncio
import pathlib
import platform
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import App  # noqa: E402
from config.loader import load_config  # noqa: E402
from tests.auxil.console import write_config  # noqa: E402
from tests.auxil.recording import RecordingAdapter  # noqa: E402

COMMAND = "!time 7pm GMT on 29 Nov 2018"
MB = 1024 * 1024


async def run(commands: int, in_flight: int) -> None:
    folder = pathlib.Path(tempfile.mkdtemp(prefix="coopbot-wal-"))
    chat = RecordingAdapter()
    app = App(load_config(write_config(folder)), adapters={"console": chat})
    await app.start()
    largest = 0

    async def watch() -> None:
        nonlocal largest
        while True:
            largest = max(largest, app.store.wal_bytes())
            await asyncio.sleep(0.02)

    async def worker(count: int) -> None:
        for _ in range(count):
            await chat.say(COMMAND)
            await chat.sent.get()

    watcher = asyncio.create_task(watch())
    started = time.perf_counter()
    try:
        await asyncio.gather(*(worker(commands // in_flight) for _ in range(in_flight)))
        seconds = time.perf_counter() - started
    finally:
        watcher.cancel()
        last = app.store.wal_bytes()
        await app.stop()
    done = commands // in_flight * in_flight
    print(f"{done} commands, {in_flight} in flight, {done / seconds:.0f}/s; write-ahead log: largest "
          f"{largest / MB:.1f} MB, at the end {last / MB:.1f} MB; database file "
          f"{(folder / 'coopbot.db').stat().st_size / MB:.1f} MB; Python {platform.python_version()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commands", type=int, default=100_000)
    parser.add_argument("--in-flight", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(run(args.commands, args.in_flight))


if __name__ == "__main__":
    main()
