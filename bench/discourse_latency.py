"""Discourse: mention → reply latency by polling and by webhook, and what an idle poll costs.

    .venv/bin/python bench/discourse_latency.py [--mentions N] [--cycles N] [--interval SECONDS]

Runs the real bot process (``coopbot run``) against the in-process fake
Discourse, with a staff bot and the posting and API limits lifted, so only
the bot and the loopback are measured. Latency is from the mention's
creation to the reply's, both stamped by the fake; polled mentions come at a
random moment of the poll cycle. The webhook floor is an echo receiver that
posts a reply the moment a delivery arrives (no signature check, no storage,
no parsing of the command): what the fake and the loopback cost by
themselves; "coopbot adds" is the difference. The idle cost compares a bot
polling every ``--interval`` with one that does not poll (an hour's interval),
over the same seconds, both with a page of old notifications: requests per
cycle and the bot process's CPU time per cycle (from /proc).
Prints a table; nothing asserts.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import pathlib
import platform
import random
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the fake and the process harness live under tests/

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402
from aiohttp.test_utils import TestServer  # noqa: E402

from tests.auxil.discourse_bot import (  # noqa: E402
    NOTIFICATIONS,
    WEBHOOK_SECRET,
    DiscourseBot,
    RequestSignal,
    discourse_config,
)
from tests.fakes.discourse import FakeDiscourse, SiteSettings  # noqa: E402

BENCH = SiteSettings(max_admin_api_reqs_per_minute=None, rate_limit_create_post=0, unique_posts_mins=0)
WARMUP = 5


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc/<pid>/stat."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def mention_latencies(folder: pathlib.Path, *, webhook: bool, interval: float, count: int) -> list[float]:
    """Milliseconds from each mention to its reply, after a few warm-up mentions.

    Mentions come at a random moment of the poll cycle (not right after the
    previous reply, which would always wait a whole interval).
    """
    async with FakeDiscourse(settings=BENCH, bot_staff=True) as forum:
        config = discourse_config(folder, forum, poll_interval="1h" if webhook else f"{interval}s", webhook=webhook)
        async with DiscourseBot(config) as bot:
            if webhook:
                forum.add_webhook(bot.webhook_url, WEBHOOK_SECRET)
            return await replies(forum, count, pause=0.0 if webhook else interval)


async def echo_latencies(count: int) -> list[float]:
    """The floor: a receiver in this process that answers every post at once (no checks, no storage)."""
    async with FakeDiscourse(settings=BENCH, bot_staff=True) as forum, aiohttp.ClientSession(
            headers={"Api-Key": forum.api_key, "Api-Username": forum.bot.username}) as http:
        async def echo(request: web.Request) -> web.Response:
            post = json.loads(await request.read())["post"]
            if post["username"] != forum.bot.username:
                body = {"topic_id": post["topic_id"], "reply_to_post_number": post["post_number"],
                        "raw": f"Echo of post {post['id']}: {post['raw']}"}
                async with http.post(forum.url + "/posts.json", json=body) as response:
                    await response.read()
            return web.json_response({"ok": True})

        app = web.Application()
        app.router.add_post("/hook", echo)
        async with TestServer(app, host="127.0.0.1", port=0) as receiver:
            forum.add_webhook(str(receiver.make_url("/hook")), WEBHOOK_SECRET)
            return await replies(forum, count, pause=0.0)


async def replies(forum: FakeDiscourse, count: int, *, pause: float) -> list[float]:
    """Milliseconds from each mention to its reply, each after up to ``pause`` seconds, warm-up dropped."""
    topic = forum.create_topic("Benchmarking the coop bot's answers")
    samples = []
    for n in range(WARMUP + count):
        await asyncio.sleep(random.uniform(0, pause))
        post = await forum.user_posts("alice", topic.id, f"@coopbot time {n % 12 + 1}pm GMT on 29 Nov 2030")
        reply = await forum.wait_for_post(forum.bot.username, timeout=10)
        samples.append((reply.created_monotonic - post.created_monotonic) * 1000)
    return samples[WARMUP:]


async def idle_cost(folder: pathlib.Path, *, interval: str, cycles: int, seconds: float | None) -> tuple[int, int, float, float]:
    """(polls, requests, CPU seconds, wall seconds) of an idle bot: ``cycles`` polls, or ``seconds`` if given."""
    forum = FakeDiscourse(settings=BENCH, bot_staff=True)
    requests = RequestSignal.install(forum)
    async with forum:
        topic = forum.create_topic("A forum where the bot was mentioned before")
        for n in range(30):  # a page of old notifications, as on a forum in use
            await forum.user_posts("alice", topic.id, f"@coopbot time {n % 12 + 1}pm GMT, an old question")
        async with DiscourseBot(discourse_config(folder, forum, poll_interval=interval)) as bot:
            assert bot.proc is not None
            await requests.wait_for(lambda log: NOTIFICATIONS in log.routes(), timeout=10)
            await asyncio.sleep(1.0)  # let start-up work settle before measuring
            start, cpu, wall = len(requests), cpu_seconds(bot.proc.pid), time.perf_counter()
            if seconds is None:
                await requests.wait_for(lambda log: log.routes(start).count(NOTIFICATIONS) >= cycles, timeout=600)
            else:
                await asyncio.sleep(seconds)  # the non-polling baseline: nothing to wait for but time
            used, elapsed = cpu_seconds(bot.proc.pid) - cpu, time.perf_counter() - wall
            routes = requests.routes(start)
    return routes.count(NOTIFICATIONS), len(routes), used, elapsed


async def run(args: argparse.Namespace) -> None:
    folder = pathlib.Path(tempfile.mkdtemp(prefix="discourse-bench-"))
    interval = f"{args.interval}s"
    polled = await mention_latencies(folder / "poll", webhook=False, interval=args.interval, count=args.mentions)
    pushed = await mention_latencies(folder / "hook", webhook=True, interval=args.interval, count=args.mentions)
    floor = await echo_latencies(args.mentions)
    polls, requests, cpu, wall = await idle_cost(folder / "idle", interval=interval, cycles=args.cycles, seconds=None)
    _, _, base_cpu, _ = await idle_cost(folder / "base", interval="1h", cycles=0, seconds=wall)
    rows = [
        ("mention → reply, polling every " + interval, f"{percentile(polled, 0.5):.1f} ms",
         f"{percentile(polled, 0.99):.1f} ms"),
        ("mention → reply, webhook", f"{percentile(pushed, 0.5):.1f} ms", f"{percentile(pushed, 0.99):.1f} ms"),
        ("webhook floor: an echo receiver", f"{percentile(floor, 0.5):.1f} ms", f"{percentile(floor, 0.99):.1f} ms"),
        ("webhook: coopbot adds to the floor", f"{percentile(pushed, 0.5) - percentile(floor, 0.5):.1f} ms",
         f"{percentile(pushed, 0.99) - percentile(floor, 0.99):.1f} ms"),
        ("idle poll: requests per cycle", f"{requests / max(polls, 1):.2f}", f"({requests} in {polls} cycles)"),
        ("idle poll: bot CPU per cycle", f"{(cpu - base_cpu) * 1000 / max(polls, 1):.2f} ms",
         f"(process {cpu * 1000 / max(polls, 1):.2f} ms, of which not polling {base_cpu * 1000 / max(polls, 1):.2f})"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'':{width}}  {'p50':>10}  {'p99':>10}")
    for name, p50, p99 in rows:
        print(f"{name:{width}}  {p50:>10}  {p99}")
    print(f"mentions={args.mentions} cycles={polls} machine={platform.machine()} cpus={os.cpu_count()} "
          f"python={platform.python_version()} aiohttp={aiohttp.__version__}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mentions", type=int, default=100)
    parser.add_argument("--cycles", type=int, default=50)
    parser.add_argument("--interval", type=float, default=0.2)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
