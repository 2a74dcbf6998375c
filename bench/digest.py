"""The council digest at size, in-process on SQLite: 10,000 decisions since the last digest, 500 calls ahead.

    timeout 600 .venv/bin/python bench/digest.py [--decisions 10000] [--calls 500] [--runs 20]

Side by side in one run: reading what a digest holds (the news since the last
digest, the calls of the next 14 days with their agendas, the open proposals),
writing it as a reply in one language, and rendering it in each platform's
markup, cut into that platform's messages (Telegram's HTML by UTF-16 units,
Mattermost's posts of 16,383 characters); then ``!digest preview`` from message
in to reply out, and ``!help tz`` for scale. Prints numbers; asserts nothing.
"""
from __future__ import annotations

import argparse
import asyncio
import pathlib
import platform
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from functools import partial

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.core import command_samples, row, time_calls  # noqa: E402
from bot.adapters.telegram_text import split_html  # noqa: E402
from bot.app import App  # noqa: E402
from bot.rendering import render, split_message  # noqa: E402
from bot.storage import Store  # noqa: E402
from config.loader import load_config  # noqa: E402
from handlers.digest import Composer, news_since, outlook  # noqa: E402
from tests.auxil.console import write_config  # noqa: E402
from tests.auxil.recording import RecordingAdapter  # noqa: E402

COOPS = ("FACTTIC", "CoTech", "IT-Kollektiv", "Sassafras")


def seed(url: str, decisions: int, calls: int, now: datetime) -> None:
    """Decisions over the last six days, calls over the next 14 days with three agenda items each,
    and 100 open proposals."""
    store = Store(url)
    store.migrate()
    with store.unit() as u:
        for n in range(decisions):
            u.decisions.record(text=f"Decision {n}: we move the hosting of project {n} to the federation's servers",
                               tags=("hosting", f"team{n % 7}"), call_id=None, by="ana", by_id="id-ana",
                               platform="console", channel_id="console", thread_id=None, channel_name=None,
                               link=None, now=now - timedelta(days=6) + timedelta(seconds=50 * n))
        for n in range(calls):
            call = u.calls.add(title=f"Call {n}: federation sync", starts_at=now + timedelta(hours=1 + n * 0.6),
                               duration_minutes=60, coops=COOPS[: 2 + n % 3], created_by="ana", platform="console",
                               channel_id="console", now=now - timedelta(days=10))
            u.agenda.add(call.id, ["Inter-cooperative projects", "ICA IT network", "Clients and projects"],
                         added_by="ana", now=now - timedelta(days=10))
        for n in range(100):
            u.proposals.open(text=f"Proposal {n}: monthly calls on Thursdays", quorum=3, members=(),
                             deadline_at=now + timedelta(days=3, hours=n), remind_at=None, by="ana", by_id="id-ana",
                             platform="console", channel_id="console", lang="en", now=now - timedelta(days=8))
    store.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--decisions", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--runs", type=int, default=20)
    options = parser.parse_args()
    now = datetime.now(timezone.utc)
    with tempfile.TemporaryDirectory() as folder:
        config = load_config(write_config(pathlib.Path(folder)))
        seed(config.storage.url, options.decisions, options.calls, now)
        chat = RecordingAdapter()
        app = App(config, adapters={"console": chat})
        await app.start()
        try:
            s = app.services
            with app.store.unit() as unit:
                since = now - timedelta(days=7)
                news, ahead = news_since(unit, since), outlook(unit, now)
                composers = {lang: Composer(t=partial(s.catalogue.t, lang), lang=lang, zones=s.zones,
                                            bot_name=config.bot.name)
                             for lang in ("en", "es")}
                reply = composers["en"].digest(news, ahead, now, config.bot.zone)
                telegram = render(reply, "telegram")
                print(f"# {platform.machine()} {platform.python_version()}; {len(news.decisions)} decisions since the "
                      f"last digest, {len(ahead.calls)} calls ahead, {len(ahead.still_open)} open proposals; "
                      f"Telegram copy {len(telegram):,} characters in {len(split_html(telegram))} messages")
                print("| step | p50 ms | p99 ms | |")
                print("|---|---|---|---|")
                runs = options.runs
                gather = time_calls(lambda: (news_since(unit, since), outlook(unit, now)), runs)
                compose_en = time_calls(lambda: composers["en"].digest(news, ahead, now, config.bot.zone), runs)
                compose_es = time_calls(lambda: composers["es"].digest(news, ahead, now, config.bot.zone), runs)
                to_telegram = time_calls(lambda: split_html(render(reply, "telegram")), runs)
                to_mattermost = time_calls(lambda: split_message(render(reply, "markdown"), 16383), runs)
                to_discourse = time_calls(lambda: render(reply, "discourse"), runs)
                print(row("read: news, calls, agendas, proposals", gather))
                print(row("write the reply (en)", compose_en))
                print(row("write the reply (es)", compose_es))
                print(row("Telegram: HTML, cut into messages", to_telegram))
                print(row("Mattermost: Markdown, cut into posts", to_mattermost))
                print(row("Discourse: local-date markup", to_discourse))
                whole = [a + b + c for a, b, c in zip(gather, compose_en, to_telegram)]
                print(row("read + write + Telegram (one destination)", whole))
            print(row("!digest preview (console, in to out)", await command_samples(chat, "!digest preview", 5)))
            print(row("!help tz (for scale)", await command_samples(chat, "!help tz", 200)))
        finally:
            await app.stop()


if __name__ == "__main__":
    asyncio.run(main())
