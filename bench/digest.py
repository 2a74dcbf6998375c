"""The council digest at size, in-process on SQLite: 10,000 decisions since the last digest, 500 calls ahead.

    timeout 600 .venv/bin/python bench/digest.py [--decisions 10000] [--calls 500] [--runs 20]

Side by side in one run: reading what a digest holds (the news since the last
digest, the calls of the next 14 days with their agendas, the open proposals),
writing it as a reply in one language, and rendering it in each platform's
markup, cut into that platform's messages (Telegram's HTML by UTF-16 units,
Mattermost's posts of 16,383 characters, an e-mail's plain and HTML parts as a
MIME message); then, for scale, that e-mail sent to a real SMTP server on
loopback (aiosmtpd) and a one-line e-mail beside it, ``!digest preview`` from
message in to reply out, and ``!help tz``. Prints numbers; asserts nothing.
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
from email.message import EmailMessage
from email.policy import SMTP
from functools import partial

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiosmtplib  # noqa: E402

from bench.core import command_samples, row, time_calls  # noqa: E402
from bot.adapters.email_message import compose, written  # noqa: E402
from bot.adapters.telegram_text import split_html  # noqa: E402
from bot.app import App  # noqa: E402
from bot.rendering import render, split_message  # noqa: E402
from bot.storage import Store  # noqa: E402
from config.loader import load_config  # noqa: E402
from handlers.digest import Composer, news_since, outlook  # noqa: E402
from tests.auxil.console import write_config  # noqa: E402
from bot.messages import Reply, Text  # noqa: E402
from tests.auxil.recording import RecordingAdapter  # noqa: E402
from tests.auxil.smtp import MailServer  # noqa: E402

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


def mime(text: str) -> EmailMessage:
    return compose(text, sender="coopbot@example.coop", name="coopbot", recipients=("council@example.coop",),
                   queued_at=datetime.now(timezone.utc))


async def smtp_samples(smtp: MailServer, message: EmailMessage, runs: int) -> list[float]:
    """Seconds to send ``message`` (connect, EHLO, MAIL, RCPT, DATA, QUIT), ``runs`` times."""
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await aiosmtplib.send(message, hostname="127.0.0.1", port=smtp.port, start_tls=False)
        samples.append(time.perf_counter() - started)
    return samples


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
                to_email = time_calls(lambda: mime(written(reply)).as_bytes(policy=SMTP), runs)
                week = Reply(parts=reply.parts[:1] + (Text("\n".join(f"• {n}. Decision {n}: we move the hosting "
                                                                       "of a project" for n in range(40))),), lang="en")
                week_email = time_calls(lambda: mime(written(week)).as_bytes(policy=SMTP), 200)
                print(row("read: news, calls, agendas, proposals", gather))
                print(row("write the reply (en)", compose_en))
                print(row("write the reply (es)", compose_es))
                print(row("Telegram: HTML, cut into messages", to_telegram))
                print(row("Mattermost: Markdown, cut into posts", to_mattermost))
                print(row("Discourse: local-date markup", to_discourse))
                print(row("E-mail: plain and HTML parts, one MIME message (sent from a thread)", to_email))
                print(row("E-mail: the same for a week of 40 decisions", week_email))
                whole = [a + b + c for a, b, c in zip(gather, compose_en, to_telegram)]
                print(row("read + write + Telegram (one destination)", whole))
            async with MailServer() as smtp:
                big, small = mime(written(reply)), mime(written(Reply(parts=(Text("✅ New decision 1"),), lang="en")))
                print(row("E-mail: that message sent to aiosmtpd on loopback", await smtp_samples(smtp, big, 5)))
                print(row("E-mail: a one-line update sent the same way", await smtp_samples(smtp, small, 50)))
            print(row("!digest preview (console, in to out)", await command_samples(chat, "!digest preview", 5)))
            print(row("!help tz (for scale)", await command_samples(chat, "!help tz", 200)))
        finally:
            await app.stop()


if __name__ == "__main__":
    asyncio.run(main())
