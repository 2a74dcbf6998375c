"""Consent proposals at size, in-process on SQLite: a council of 200 members, 2,000 proposals.

    timeout 600 .venv/bin/python bench/proposals.py [--proposals 2000] [--members 200] [--commands 500]

Side by side in one run, message in to reply out: taking a position on a proposal
that already has one position per member, showing it, opening a proposal (which
also stores its two jobs with APScheduler), ``!help tz`` for scale; then closing
proposals of 30 positions each through the deadline job, and a start with every
proposal open (the start-up rescan of their jobs). Prints numbers; asserts nothing.
"""
from __future__ import annotations

import argparse
import asyncio
import pathlib
import platform
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.core import command_samples, row  # noqa: E402
from bot.app import App  # noqa: E402
from bot.storage import Stance, Store  # noqa: E402
from config.loader import load_config  # noqa: E402
from tests.auxil.console import write_config  # noqa: E402
from tests.auxil.recording import RecordingAdapter  # noqa: E402

STANCES = (Stance.AGREE, Stance.AGREE, Stance.ABSTAIN, Stance.OBJECT)


def seed(url: str, proposals: int, members: int) -> None:
    """Open proposals a month ahead; the first has a position from every member, the next ones 30 each."""
    store = Store(url)
    store.migrate()
    now = datetime.now(timezone.utc)
    with store.unit() as u:
        for n in range(proposals):
            proposal = u.proposals.open(
                text=f"Proposal {n}: we adopt the shared hosting plan", quorum=3, members=("ana", "bo"),
                deadline_at=now + timedelta(days=30, minutes=n), remind_at=now + timedelta(days=29, minutes=n),
                by="ana", by_id="id-ana", platform="console", channel_id="console", lang="en", now=now)
            for m in range(members if n == 0 else 30 if n <= 200 else 0):
                u.proposals.take_position(proposal.id, member_id=f"id-m{m}", member_name=f"m{m}",
                                          stance=STANCES[m % len(STANCES)], reason="a reason" if m % 4 == 3 else None,
                                          now=now)
    store.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--proposals", type=int, default=2000)
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--commands", type=int, default=500)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        config = load_config(write_config(pathlib.Path(folder)))
        seed(config.storage.url, options.proposals, options.members)
        print(f"# {platform.machine()} {platform.python_version()}; {options.proposals} open proposals, "
              f"{options.members} positions on proposal 1")
        chat = RecordingAdapter()
        app = App(config, adapters={"console": chat})
        started = time.perf_counter()
        await app.start()  # the first start plans every proposal's two jobs
        first_start = time.perf_counter() - started
        try:
            await command_samples(chat, "!proposal 1", 20)  # warm caches
            rows = [
                ("!agree 1 (200 members)", await command_samples(chat, "!agree 1", options.commands,
                                                         senders=options.members)),
                ("!proposal 1 (200 positions)", await command_samples(chat, "!proposal 1", options.commands)),
                ('!propose "…" (+2 jobs stored)', await command_samples(chat, '!propose "Monthly calls on Thursdays"',
                                                                options.commands // 5)),
                ("!help tz (for scale)", await command_samples(chat, "!help tz", options.commands)),
            ]
            closing = []
            for proposal_id in range(2, 202):
                began = time.perf_counter()
                await app.run_job("proposal.deadline", {"proposal_id": proposal_id})
                closing.append(time.perf_counter() - began)
            rows.append(("deadline job, 30 positions", closing))
        finally:
            await app.stop()
        for name, taken in rows:
            print(row(name, taken))
        again = App(config, adapters={"console": RecordingAdapter()})
        started = time.perf_counter()
        await again.start()  # every job stored already: the rescan only compares
        print(f"start with {options.proposals} open proposals: first {first_start * 1000:.0f} ms "
              f"(plans {2 * options.proposals} jobs), again {(time.perf_counter() - started) * 1000:.0f} ms")
        await again.stop()


if __name__ == "__main__":
    asyncio.run(main())
