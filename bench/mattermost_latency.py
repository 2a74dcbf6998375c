"""Mattermost round trip, throughput, memory and start: coopbot beside the bare floor and mmpy_bot.

    .venv/bin/python bench/mattermost_latency.py [--sequential 1000] [--rounds 10] [--burst 1000]
                                                 [--in-flight 50] [--starts 5] [--only NAME] [--profile DIR]

mmpy_bot runs from its own venv (it pins another Mattermost driver)::

    python3 -m venv .bench-venv && .bench-venv/bin/pip install -r bench/requirements-mmpy.txt

(without it, that row is left out and the table says so). Each bot runs as its
own process against its own fake Mattermost (``tests/fakes/mattermost.py``) in
this process, on loopback:

* first answer: ``--starts`` times, the process is spawned, and as soon as its
  websocket is up a command is posted; seconds from the spawn to the fake
  accepting the reply's ``POST /api/v4/posts`` (coopbot: on a store that has
  run before, as in a restart; median);
* round trip: a user posts a command, the bot's reply ``POST /api/v4/posts``
  arrives; both instants are taken inside the fake (``reply_timings()``), over
  ``--sequential`` commands one after the other (after a warm-up), in
  ``--rounds`` rounds that take the bots in turn (each round starting with the
  next bot), so a slow spell of a shared machine falls on all of them alike;
* throughput: ``--burst`` commands with ``--in-flight`` outstanding at any time
  (a new one is posted as each reply arrives); commands/s, then how many were
  never answered and how many were answered more than once;
* memory: the peak resident set (VmHWM, read from /proc while the bot runs).

Under the table, coopbot's libraries alone (``LIBRARIES``: what a Mattermost-only
coopbot on SQLite imports, run in a bare interpreter): their peak RSS and the
seconds from spawn to all imported, the floor under coopbot's own two figures.

The floor, ``bench/echo_aiohttp.py``, is a bare aiohttp client (a websocket and
a pooled session, no logic); ``bench/echo_mmpy.py`` is mmpy_bot 2.2.1 with a
one-function plugin. Both answer ``!ping``; coopbot answers ``!help tz`` (a
cheap command) and ``!time 7pm GMT on 29 Nov 2018``. With ``--profile DIR``
coopbot runs under cProfile (``COOPBOT_PROFILE``) and its stats land in DIR.
Prints one table with ratios to the floor and to mmpy_bot; not a test, nothing
asserts.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib.metadata import version

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.auxil.process import BotProcess, Process, bot_config  # noqa: E402
from tests.fakes.mattermost import FakeMattermost  # noqa: E402

TIME_COMMAND = "!time 7pm GMT on 29 Nov 2018"
WARM_UP = 50
REPLY_TIMEOUT = 15.0

BENCH_PYTHON = ROOT / ".bench-venv" / "bin" / "python"
FLOOR, MMPY = "bare aiohttp (floor)", "mmpy_bot 2.2.1"

Launch = Callable[[FakeMattermost, pathlib.Path], Awaitable[Process]]


@dataclass(frozen=True)
class Contender:
    name: str
    command: str
    launch: Launch


@dataclass(frozen=True)
class Result:
    name: str
    command: str
    p50_ms: float
    p99_ms: float
    per_second: float
    sent: int
    lost: int
    duplicated: int
    peak_mb: float
    first_answer_s: float


async def _floor(mm: FakeMattermost, _: pathlib.Path) -> Process:
    return await _connected(Process([str(ROOT / "bench" / "echo_aiohttp.py"), mm.url, mm.bot_token]), mm)


async def _mmpy(mm: FakeMattermost, _: pathlib.Path) -> Process:
    argv = [str(ROOT / "bench" / "echo_mmpy.py"), mm.url, mm.bot_token, mm.team.name]
    return await _connected(Process(argv, python=str(BENCH_PYTHON)), mm)


async def _connected(proc: Process, mm: FakeMattermost) -> Process:
    """``proc`` started and its websocket up; stopped again if it never connects."""
    await proc.start()
    try:
        await mm.wait_for_websocket(mm.bot, timeout=15)
    except BaseException:
        await proc.stop()
        raise
    return proc


def _coopbot(profile_dir: pathlib.Path | None, label: str) -> Launch:
    async def launch(mm: FakeMattermost, folder: pathlib.Path) -> Process:
        config = bot_config(folder, adapters={"mattermost": {
            "enabled": True, "url": mm.url, "token": mm.bot_token, "team": mm.team.name}},
            bot={"log_level": os.environ.get("BENCH_LOG_LEVEL", "INFO")})
        env = {"COOPBOT_PROFILE": str(profile_dir / f"{label}.prof")} if profile_dir else {}
        return await _connected(BotProcess(config, env=env), mm)
    return launch


def contenders(profile_dir: pathlib.Path | None) -> list[Contender]:
    mmpy = [Contender(MMPY, "!ping", _mmpy)] if BENCH_PYTHON.exists() else []
    if not mmpy:
        print(f"{MMPY} left out: no {BENCH_PYTHON.relative_to(ROOT)} (see the docstring)", file=sys.stderr)
    return [
        Contender(FLOOR, "!ping", _floor),
        *mmpy,
        Contender("coopbot", "!help tz", _coopbot(profile_dir, "help")),
        Contender("coopbot", TIME_COMMAND, _coopbot(profile_dir, "time")),
    ]


async def _post(mm: FakeMattermost, n: int, command: str) -> str:
    return str((await mm.user_posts(("ana", "ben")[n % 2], "town-square", command))["id"])


async def sequential(mm: FakeMattermost, command: str, count: int) -> list[float]:
    """Seconds from each command stored to its reply's POST arriving, one command at a time."""
    triggers = set()
    for n in range(count):
        trigger = await _post(mm, n, command)
        await mm.wait_for_post(user_id=mm.bot.id, after=trigger, timeout=REPLY_TIMEOUT)
        triggers.add(trigger)
    return [t.seconds for t in mm.reply_timings() if t.trigger_post_id in triggers]


async def burst(mm: FakeMattermost, command: str, total: int, in_flight: int) -> tuple[float, list[str]]:
    """Post ``total`` commands keeping ``in_flight`` unanswered; seconds taken and the commands' ids."""
    started = time.perf_counter()
    triggers = [await _post(mm, n, command) for n in range(min(in_flight, total))]
    for _ in range(total):
        try:
            await mm.wait_for_post(user_id=mm.bot.id, timeout=REPLY_TIMEOUT)
        except TimeoutError:
            break  # whatever is still unanswered counts as lost
        if len(triggers) < total:
            triggers.append(await _post(mm, len(triggers), command))
    return time.perf_counter() - started, triggers


async def settle(mm: FakeMattermost, command: str) -> None:
    """A last command, answered after everything before it (or late duplicates would be missed)."""
    trigger = await _post(mm, 0, command)
    while True:
        reply = await mm.wait_for_post(user_id=mm.bot.id, timeout=REPLY_TIMEOUT)
        if reply["root_id"] == trigger:
            return


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set so far (VmHWM), read while it runs."""
    fields = dict(line.split(":", 1) for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(fields["VmHWM"].split()[0]) / 1024


async def first_answer(contender: Contender, folder: pathlib.Path) -> float:
    """Seconds from spawning the bot to the fake accepting its first reply."""
    async with FakeMattermost() as mm:
        spawned = time.perf_counter()
        proc = await contender.launch(mm, folder)
        try:
            trigger = await _post(mm, 0, contender.command)
            await mm.wait_for_post(user_id=mm.bot.id, after=trigger, timeout=REPLY_TIMEOUT)
            answered = next(t.reply_perf for t in mm.reply_timings() if t.trigger_post_id == trigger)
        finally:
            await proc.stop()
    return answered - spawned


# What a Mattermost-only coopbot on SQLite imports from its libraries, with one pydantic model
# built (pydantic loads most of itself on the first): the floor under its memory and start.
LIBRARIES = """
import asyncio, aiohttp, orjson, pytz, yaml, websockets.asyncio.client, mattermostdriver, babel.dates, babel.units
import sqlalchemy, sqlalchemy.dialects.sqlite, apscheduler.schedulers.asyncio, apscheduler.jobstores.sqlalchemy
import pydantic
class Setting(pydantic.BaseModel):
    name: str
Setting(name="x")
print(open("/proc/self/status").read().split("VmHWM:")[1].split()[0], flush=True)
"""


def libraries_alone(starts: int) -> tuple[float, float]:
    """Peak RSS (MB) and seconds from spawn to everything imported (median of ``starts``),
    for coopbot's libraries in a bare interpreter: what no code of ours could save."""
    peaks, seconds = [], []
    for _ in range(max(1, starts)):
        spawned = time.perf_counter()
        with subprocess.Popen([sys.executable, "-c", LIBRARIES], stdout=subprocess.PIPE, text=True) as child:
            assert child.stdout is not None
            line = child.stdout.readline()  # printed once all is imported (its exit is not counted)
            seconds.append(time.perf_counter() - spawned)
        peaks.append(int(line) / 1024)
    return max(peaks), statistics.median(seconds)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


@dataclass
class Running:
    contender: Contender
    mm: FakeMattermost
    proc: Process
    round_trips: list[float]
    starts: list[float]


async def measure(chosen: list[Contender], args: argparse.Namespace) -> list[Result]:
    async with contextlib.AsyncExitStack() as stack:
        folders = [pathlib.Path(stack.enter_context(tempfile.TemporaryDirectory())) for _ in chosen]
        starts: list[list[float]] = [[] for _ in chosen]
        for contender, folder in zip(chosen, folders):
            await first_answer(contender, folder)  # coopbot's first start creates its store
        for turn in range(args.starts):
            for index in [*range(turn % len(chosen), len(chosen)), *range(turn % len(chosen))]:
                starts[index].append(await first_answer(chosen[index], folders[index]))
        running = []
        for contender, folder, started in zip(chosen, folders, starts):
            mm = await stack.enter_async_context(FakeMattermost())
            proc = await contender.launch(mm, folder)
            stack.push_async_callback(proc.stop)  # before its fake closes
            running.append(Running(contender, mm, proc, [], started))
        for bot in running:
            await sequential(bot.mm, bot.contender.command, WARM_UP)
        for turn in range(args.rounds):
            first = turn % len(running)
            for bot in running[first:] + running[:first]:
                bot.round_trips += await sequential(bot.mm, bot.contender.command, args.sequential // args.rounds)
        results = [await _throughput(bot, args) for bot in running]
        print("  done", file=sys.stderr)
    return results


async def _throughput(bot: Running, args: argparse.Namespace) -> Result:
    mm, command = bot.mm, bot.contender.command
    seconds, triggers = await burst(mm, command, args.burst, args.in_flight)
    await settle(mm, command)
    peak = peak_rss_mb(bot.proc.pid)
    answers = Counter(p["root_id"] for p in mm.posts_by(mm.bot))
    lost = sum(1 for t in triggers if answers[t] == 0) + (args.burst - len(triggers))
    return Result(bot.contender.name, command, statistics.median(bot.round_trips) * 1000,
                  percentile(bot.round_trips, 0.99) * 1000, len(triggers) / seconds, args.burst, lost,
                  sum(1 for t in triggers if answers[t] > 1), peak,
                  statistics.median(bot.starts) if bot.starts else float("nan"))


def table(results: list[Result]) -> str:
    floor = next((r for r in results if r.name == FLOOR), None)
    mmpy = next((r for r in results if r.name == MMPY), None)

    def ratio(value: float, base: Result | None, field: str) -> str:
        return f"{value / getattr(base, field):.2f}×" if base is not None else "-"

    rows = ["| bot | command | p50 ms | × floor | × mmpy_bot | p99 ms | × mmpy_bot | commands/s (× floor) "
            "| lost | answered twice | peak RSS MB | first answer s |", "|" + "---|" * 12]
    for r in results:
        rows.append(f"| {r.name} | `{r.command}` | {r.p50_ms:.2f} | {ratio(r.p50_ms, floor, 'p50_ms')} | "
                    f"{ratio(r.p50_ms, mmpy, 'p50_ms')} | {r.p99_ms:.2f} | {ratio(r.p99_ms, mmpy, 'p99_ms')} | "
                    f"{r.per_second:.0f} ({ratio(r.per_second, floor, 'per_second')}) | {r.lost}/{r.sent} | "
                    f"{r.duplicated} | {r.peak_mb:.0f} | {r.first_answer_s:.2f} |")
    return "\n".join(rows)


def machine() -> str:
    packages = ", ".join(f"{name} {version(name)}" for name in ("aiohttp", "websockets", "mattermostdriver",
                                                               "SQLAlchemy", "prometheus-client"))
    return (f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}; {packages}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sequential", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--in-flight", type=int, default=50)
    parser.add_argument("--starts", type=int, default=5, help="timed starts per bot, for the first answer")
    parser.add_argument("--only", help="run only the contenders whose name contains this")
    parser.add_argument("--profile", type=pathlib.Path, help="directory for coopbot's cProfile stats")
    args = parser.parse_args()
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    chosen = [c for c in contenders(args.profile) if not args.only or args.only in c.name]
    if not chosen:
        parser.error(f"--only {args.only!r} matches none of: {', '.join(sorted({c.name for c in contenders(None)}))}")
    alone_mb, alone_s = libraries_alone(args.starts)
    results = await measure(chosen, args)
    print(f"{args.sequential} sequential round trips in {args.rounds} rounds (after {WARM_UP} warm-up), "
          f"{args.burst} commands with {args.in_flight} in flight, first answer median of {args.starts} starts; "
          f"{machine()}")
    print(table(results))
    print(f"coopbot's libraries alone, imported in a bare interpreter (no bot): peak RSS {alone_mb:.0f} MB, "
          f"{alone_s:.2f} s from spawn (median of {max(1, args.starts)})")


if __name__ == "__main__":
    asyncio.run(main())
