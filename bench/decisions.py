"""The decision log at size: ``!decisions #tag`` over 10,000 decisions, in-process on SQLite.

    timeout 600 .venv/bin/python bench/decisions.py [--decisions 10000] [--commands 1000]

Side by side in one run: the command whole (message in, reply out, through the
router, the typed-argument parser, one transaction, rendering and the outbox),
``!help tz`` as the cheapest command for scale, the listing's query alone, and
the Markdown and JSON exports of the whole log. Prints numbers; asserts nothing.
"""
from __future__ import annotations

import argparse
import asyncio
import io
import pathlib
import platform
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.core import command_samples, percentiles, row, time_calls  # noqa: E402
from bot.app import App, build_resolver, default_zone  # noqa: E402
from bot.export import export_decisions  # noqa: E402
from bot.i18n import Catalogue  # noqa: E402
from bot.storage import DecisionFilter, Store  # noqa: E402
from config.loader import load_config  # noqa: E402
from tests.auxil.console import write_config  # noqa: E402
from tests.auxil.recording import RecordingAdapter  # noqa: E402

TAGS = [f"tag{n}" for n in range(40)]


def seed(url: str, count: int) -> None:
    """``count`` decisions over a year, one to three of 40 tags each, a fifth of them in one of 200 calls."""
    store = Store(url)
    store.migrate()
    rng = random.Random(7)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with store.unit() as u:
        calls = [u.calls.add(title=f"Call {n}", starts_at=start + timedelta(days=n), duration_minutes=60, coops=(),
                             created_by="ana", platform="console", channel_id="console", now=start).id
                 for n in range(200)]
    for first in range(0, count, 1000):
        with store.unit() as u:
            for n in range(first, min(count, first + 1000)):
                u.decisions.record(
                    text=f"Decision {n}: " + "we agree on the shared hosting budget " * rng.randint(1, 4),
                    tags=rng.sample(TAGS, rng.randint(1, 3)), call_id=rng.choice(calls) if n % 5 == 0 else None,
                    by="ana", by_id="u1", platform="console", channel_id="console",
                    now=start + timedelta(minutes=50 * n))
    store.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--decisions", type=int, default=10_000)
    parser.add_argument("--commands", type=int, default=1000)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        config = load_config(write_config(pathlib.Path(folder)))
        started = time.perf_counter()
        seed(config.storage.url, options.decisions)
        print(f"# {platform.machine()} {platform.python_version()}; {options.decisions} decisions seeded "
              f"in {time.perf_counter() - started:.1f} s")
        chat = RecordingAdapter()
        app = App(config, adapters={"console": chat})
        await app.start()
        try:
            await command_samples(chat, "!decisions #tag3", 50)  # warm caches
            rows = [
                ("!decisions #tag3", await command_samples(chat, "!decisions #tag3", options.commands)),
                ("!decisions #tag3 #tag7", await command_samples(chat, "!decisions #tag3 #tag7",
                                                                 options.commands)),
                ("!decisions since 1 Jun", await command_samples(chat, "!decisions since 1 Jun 2026",
                                                                 options.commands)),
                ("!help tz (for scale)", await command_samples(chat, "!help tz", options.commands)),
            ]
        finally:
            await app.stop()
        store = Store(config.storage.url)

        def query() -> None:
            with store.unit() as u:
                u.decisions.page(DecisionFilter(tags=("tag3",)), limit=11)

        rows.append(("page query alone (#tag3)", time_calls(query, options.commands)))
        for name, samples in rows:
            print(row(name, samples))
        resolver = build_resolver(config)
        for fmt in ("md", "json"):
            out = io.StringIO()
            started = time.perf_counter()
            count = export_decisions(store, DecisionFilter(), out, fmt=fmt, lang="en",
                                     zone=default_zone(config, resolver), catalogue=Catalogue.load())
            took = time.perf_counter() - started
            print(f"export {fmt:4} {count} decisions  {took * 1000:8.1f} ms  {len(out.getvalue()) / 1e6:.1f} MB")
        store.close()
        p50, p99 = percentiles(rows[0][1])
        print(f"target: !decisions #tag p99 under 5 ms: {p99 * 1000:.2f} ms "
              f"({'met' if p99 < 0.005 else 'NOT met'}); p50 {p50 * 1000:.2f} ms")


if __name__ == "__main__":
    asyncio.run(main())
