"""Core benchmark: startup to ready, and command cost in-process (router, parser, full dispatch).

    .venv/bin/python bench/core.py [--commands 2000]

Prints numbers only; nothing here is asserted.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import App, build_resolver, default_zone  # noqa: E402
from bot.timefmt import format_zone_rows  # noqa: E402
from bot.timeparse import parse_when  # noqa: E402
from config.loader import load_config  # noqa: E402
from tests.auxil.console import write_config  # noqa: E402
from tests.auxil.recording import RecordingAdapter  # noqa: E402

ENGLISH = "!time 7pm GMT on 29 Nov 2018"
SPANISH = "!hora jueves 29 de noviembre de 2018 a las 19 GMT"


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def startup_seconds(config: pathlib.Path, runs: int) -> list[float]:
    """Process start until the bot logs that it is ready."""
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "run", "-c", str(config)], cwd=ROOT,
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        assert proc.stderr is not None
        for line in proc.stderr:
            if "coopbot ready" in line:
                timings.append(time.perf_counter() - started)
                break
        proc.stdin.close()  # type: ignore[union-attr]
        proc.wait(timeout=15)
    return timings


def time_calls(fn: Callable[[], object], n: int) -> list[float]:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return samples


async def dispatch_samples(config_path: pathlib.Path, text: str, n: int) -> tuple[list[float], float]:
    chat = RecordingAdapter()
    app = App(load_config(config_path), adapters={"console": chat})
    await app.start()
    try:
        samples = []
        started_all = time.perf_counter()
        for _ in range(n):
            started = time.perf_counter()
            await chat.say(text)
            await chat.sent.get()
            samples.append(time.perf_counter() - started)
        rate = n / (time.perf_counter() - started_all)
    finally:
        await app.stop()
    return samples, rate


async def command_samples(chat: RecordingAdapter, text: str, n: int, *, senders: int = 0) -> list[float]:
    """Seconds from saying ``text`` to its reply, ``n`` times in turn (``senders``: as that many members)."""
    taken = []
    for i in range(n):
        started = time.perf_counter()
        await chat.say(text, sender=f"m{i % senders}" if senders else None)
        await chat.sent.get()
        taken.append(time.perf_counter() - started)
    return taken


def row(name: str, samples: list[float], extra: str = "") -> str:
    p50, p99 = percentiles(samples)
    return f"| {name} | {p50 * 1000:.3f} | {p99 * 1000:.3f} | {extra} |"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--commands", type=int, default=2000)
    parser.add_argument("--startups", type=int, default=5)
    args = parser.parse_args()
    folder = pathlib.Path(tempfile.mkdtemp(prefix="coopbot-bench-"))
    config_path = write_config(folder)
    config = load_config(config_path)
    resolver = build_resolver(config)
    zone = default_zone(config, resolver)
    now = datetime(2026, 11, 23, 12, tzinfo=timezone.utc)

    print(f"# coopbot core benchmark — {platform.python_implementation()} {platform.python_version()}, "
          f"{platform.machine()}, {os.cpu_count()} cores")
    ready = startup_seconds(config_path, args.startups)
    print(f"\nstartup to ready (console + SQLite, {len(ready)} runs): median {statistics.median(ready) * 1000:.0f} ms,"
          f" max {max(ready) * 1000:.0f} ms\n")

    print("| what | p50 ms | p99 ms | throughput |")
    print("|---|---|---|---|")
    n = args.commands
    for label, phrase in (("parse, English", ENGLISH.split(" ", 1)[1]), ("parse, Spanish", SPANISH.split(" ", 1)[1])):
        samples = time_calls(lambda: parse_when(phrase, now=now, zone=zone, resolver=resolver), n)
        print(row(label, samples, f"{n / sum(samples):.0f}/s"))
    zones = tuple(z for z in (resolver.resolve(c.zone) for c in config.coops) if z is not None)
    for lang in ("en", "es"):
        samples = time_calls(lambda: format_zone_rows(now, zones, lang), n)
        print(row(f"render 4 zones, {lang}", samples, f"{n / sum(samples):.0f}/s"))
    for label, text in (("dispatch !time, English", ENGLISH), ("dispatch !hora, Spanish", SPANISH),
                        ("dispatch !help tz", "!help tz")):
        samples, rate = asyncio.run(dispatch_samples(config_path, text, n))
        print(row(label + " (claim + handler + outbox + send + mark sent)", samples, f"{rate:.0f}/s"))


if __name__ == "__main__":
    main()
