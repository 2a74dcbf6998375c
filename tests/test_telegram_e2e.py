"""The council digest and decision updates through the real process, to Telegram, Mattermost and Discourse.

Three fakes on loopback: the Telegram Bot API (``tests.fakes.telegram``: its
HTML parser, 4096-unit limit and flood control are Telegram's), Mattermost
(the announce channel ``off-topic`` is configured Spanish) and Discourse (the
digest topic). The bot is ``coopbot run`` as a subprocess.
"""
from __future__ import annotations

import contextlib
import json
import pathlib
import re
import sqlite3
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from tests.auxil.mattermost_chat import Chat, adapter_settings
from tests.auxil.process import BotProcess, bot_config
from tests.fakes.discourse import FakeDiscourse, SiteSettings, Topic
from tests.fakes.mattermost import FakeMattermost
from tests.fakes.telegram import DEFAULT_CHAT, FakeTelegram, SentMessage
from tests.spec_check import TELEGRAM, check_request

RELAXED = SiteSettings(max_admin_api_reqs_per_minute=None, rate_limit_create_post=0)
SPANISH_DAY = re.compile(r"\b(lun|mar|mié|jue|vie|sáb|dom) \d{1,2} "
                         r"(ene|feb|mar|abr|may|jun|jul|ago|sept?|oct|nov|dic) \d{4}")


@dataclass
class Council:
    chat: Chat
    forum: FakeDiscourse
    tg: FakeTelegram
    topic: Topic

    @property
    def mm(self) -> FakeMattermost:
        return self.chat.mm

    async def ask(self, text: str) -> str:
        return str((await self.chat.ask("ana", "town-square", text, timeout=15))["message"])

    def telegram(self, start: str) -> list[SentMessage]:
        return [m for m in self.tg.messages if m.text.startswith(start)]

    def announced(self, needle: str) -> list[dict[str, Any]]:
        """The bot's posts in Mattermost's announce channel holding ``needle``."""
        channel = self.mm.channel("off-topic").id
        return [p for p in self.mm.posts_by(self.mm.bot) if p["channel_id"] == channel and needle in p["message"]]

    def in_topic(self, needle: str) -> list[str]:
        return [p.raw for p in self.forum.posts_by("coopbot") if p.topic_id == self.topic.id and needle in p.raw]

    async def mattermost_post(self, needle: str, timeout: float = 10.0) -> dict[str, Any]:
        channel = self.mm.channel("off-topic").id
        while not self.announced(needle):
            await self.mm.wait_for_post(user_id=self.mm.bot.id, channel_id=channel, timeout=timeout)
        return self.announced(needle)[-1]

    async def discourse_post(self, needle: str, timeout: float = 10.0) -> str:
        while not self.in_topic(needle):
            await self.forum.wait_for_post("coopbot", topic_id=self.topic.id, timeout=timeout)
        return self.in_topic(needle)[-1]

    async def telegram_message(self, start: str, timeout: float = 15.0) -> SentMessage:
        count = len(self.tg.messages)
        while not self.telegram(start):
            count += 1
            await self.tg.wait_for_messages(count, timeout=timeout)
        return self.telegram(start)[-1]


def config(folder: pathlib.Path, mm: FakeMattermost, forum: FakeDiscourse, tg: FakeTelegram, topic: Topic, *,
           telegram: Mapping[str, Any] | None = None, discourse: Mapping[str, Any] | None = None,
           sections: Mapping[str, Mapping[str, Any]] | None = None) -> pathlib.Path:
    return bot_config(folder, server=True, sections=sections, adapters={
        "mattermost": adapter_settings(mm),
        "discourse": {"enabled": True, "url": forum.url, "api_key": forum.api_key,
                      "api_username": forum.bot.username, "poll_interval": "0.2s", "digest_topic": topic.id,
                      **(discourse or {})},
        "telegram": {"enabled": True, "token": tg.token, "chat_id": str(DEFAULT_CHAT.id), "api_url": tg.url,
                     **(telegram or {})},
    })


@contextlib.asynccontextmanager
async def council(folder: pathlib.Path, *, spanish_forum: bool = False, **settings: Any) -> AsyncIterator[Council]:
    async with FakeMattermost() as mm, FakeDiscourse(settings=RELAXED, bot_staff=True) as forum, \
            FakeTelegram() as tg:
        topic = forum.create_topic("Council digest", username="coopbot")
        category = str(forum.general.id)  # the digest topic's: its language is the category's
        config(folder, mm, forum, tg, topic, discourse={"languages": {category: "es"}} if spanish_forum else None,
               **settings)
        chat = await Chat(mm, BotProcess(folder / "bot.yaml"), folder).start()
        await chat.bot.wait_for_log(r"coopbot ready")  # every adapter has started: Discourse knows its topic's category
        try:
            yield Council(chat, forum, tg, topic)
        finally:
            await chat.bot.stop()


def soon(days: int) -> str:
    return (datetime.now(timezone.utc) + timedelta(days=days)).strftime("%Y-%m-%d")


async def test_a_digest_reaches_telegram_mattermost_and_discourse_each_in_its_language(tmp_path: pathlib.Path) -> None:
    async with council(tmp_path) as c:
        await c.ask(f'!call schedule "Federation call" {soon(5)} 19:00 UTC with FACTTIC, CoTech')
        await c.ask("!agenda add #1 Inter-cooperative projects")
        await c.ask("!decide We share one hosting contract #hosting")
        answer = await c.ask("!digest now")
        assert answer == "Digest sent to mattermost, discourse, telegram."
        message = await c.telegram_message("📋 Council digest")
        posted = await c.mattermost_post("Resumen del consejo")
        raw = await c.discourse_post("📋 Council digest")
    assert "Calls in the next 14 days\n• Call #1: Federation call\n" in message.text
    assert "Buenos Aires (UTC−3) · " in message.text and "    1. Inter-cooperative projects" in message.text
    title = message.text.split("\n")[0]
    assert {"type": "bold", "offset": 0, "length": len(title.encode("utf-16-le")) // 2} in message.entities
    assert message.parse_mode == "HTML"
    assert "**Llamadas de los próximos 14 días**" in posted["message"] and SPANISH_DAY.search(posted["message"])
    assert '[date-range from=' in raw and 'timezones="America/Argentina/Buenos_Aires|Europe/London"' in raw
    assert "• 1. We share one hosting contract — ana #hosting" in raw
    assert [r.method for r in c.tg.requests][:2] == ["getMe", "getChat"]  # the token and the chat, checked at start
    for request in c.tg.requests:  # what the bot asked of Telegram, as the Bot API's description allows
        check_request(TELEGRAM, "post", f"/bot{c.tg.token}/{request.method}", request.params or None)


async def test_a_decision_is_posted_everywhere_as_it_happens(tmp_path: pathlib.Path) -> None:
    async with council(tmp_path, telegram={"language": "es"}, spanish_forum=True) as c:
        answer = await c.ask("!decide We share one hosting contract #hosting")
        assert answer.startswith("✅ Decision 1 recorded")
        message = await c.telegram_message("✅ Nueva decisión 1")
        posted = await c.mattermost_post("Nueva decisión 1")
        raw = await c.discourse_post("Nueva decisión 1")
    assert message.text.startswith("✅ Nueva decisión 1 (#hosting): We share one hosting contract — ana\nMensaje: ")
    assert posted["root_id"] == ""  # a post of its own in the announce channel, not in the command's thread
    assert "We share one hosting contract" in raw


async def test_a_spanish_digest_on_telegram_has_spanish_weekdays_and_months(tmp_path: pathlib.Path) -> None:
    async with council(tmp_path, telegram={"language": "es"}) as c:
        await c.ask(f'!call schedule "Federation call" {soon(3)} 19:00 UTC')
        await c.ask("!decidir Compartimos un contrato de alojamiento")
        assert await c.ask("!digest now") == "Digest sent to mattermost, discourse, telegram."
        message = await c.telegram_message("📋 Resumen del consejo")
    assert "Llamadas de los próximos 14 días" in message.text
    assert SPANISH_DAY.search(message.text), message.text


async def test_telegram_down_holds_up_nobody_and_gets_its_copy_once_when_back(tmp_path: pathlib.Path) -> None:
    async with council(tmp_path, sections={"digest": {"updates": []}}) as c:
        await c.ask("!decide We share one hosting contract")
        c.tg.down = True
        assert await c.ask("!digest now") == "Digest sent to mattermost, discourse, telegram."
        await c.mattermost_post("Resumen del consejo")
        await c.discourse_post("📋 Council digest")
        assert c.telegram("📋") == []
        await c.chat.bot.wait_for_log(r"send failed platform=telegram .*HTTP 502")
        c.tg.down = False
        await c.telegram_message("📋 Council digest", timeout=20)
        await c.chat.settled()
        assert len(c.telegram("📋")) == 1
        assert len(c.announced("Resumen del consejo")) == 1 and len(c.in_topic("📋 Council digest")) == 1


async def test_a_storm_of_429s_is_waited_out_and_the_digest_arrives_once(tmp_path: pathlib.Path) -> None:
    async with council(tmp_path, sections={"digest": {"updates": []}}) as c:
        await c.ask("!decide We share one hosting contract")
        c.tg.flood(retry_after=2, times=3)
        assert await c.ask("!digest now") == "Digest sent to mattermost, discourse, telegram."
        await c.telegram_message("📋 Council digest", timeout=30)
        await c.chat.settled()
    refused = [r for r in c.tg.requests if r.method == "sendMessage" and r.status == 429]
    assert len(refused) == 3
    assert c.tg.early_requests == []  # never asked again before the retry_after Telegram gave
    assert len(c.telegram("📋")) == 1


async def test_a_digest_over_ten_thousand_characters_is_split_as_telegram_counts(tmp_path: pathlib.Path) -> None:
    texts = [f"Decision {n:02d}: " + "we share the hosting contract and the on-call rota " * 3 for n in range(64)]
    async with council(tmp_path, sections={"digest": {"updates": []}}) as c:
        for text in texts:
            await c.ask(f"!decide {text}")
        assert await c.ask("!digest now") == "Digest sent to mattermost, discourse, telegram."
        first = await c.telegram_message("📋 Council digest")
        await c.tg.wait_for_messages(first.message_id + 2, timeout=20)  # the later parts follow it
        await c.chat.settled()
    parts = [m for m in c.tg.messages if m.message_id >= first.message_id]
    assert len(parts) == 3 and all(len(m.text.encode("utf-16-le")) // 2 <= 4096 for m in parts)
    whole = "\n".join(m.text for m in parts)
    assert len(whole) > 10_000
    found = [int(n) for n in re.findall(r"• \d+\. Decision (\d\d): (?:we share the hosting contract and the "
                                        r"on-call rota ){3}— ana\n", whole + "\n")]
    assert found == list(range(64))  # every decision, in order, none cut in two


async def test_a_restart_resends_nothing_of_a_digest_whose_parts_were_recorded(tmp_path: pathlib.Path) -> None:
    texts = [f"Decision {n:02d}: " + "we share the hosting contract and the on-call rota " * 3 for n in range(26)]
    async with council(tmp_path, sections={"digest": {"updates": []}}) as c:
        for text in texts:
            await c.ask(f"!decide {text}")
        await c.ask("!digest now")
        first = await c.telegram_message("📋 Council digest")
        await c.tg.wait_for_messages(first.message_id + 1)
        await c.mattermost_post("Resumen del consejo")
        await c.discourse_post("📋 Council digest")
        await c.chat.settled()
        assert await c.chat.bot.stop() == 0
        parts = [str(m.message_id) for m in c.tg.messages]
        with sqlite3.connect(tmp_path / "coopbot.db") as db:
            (posted,) = db.execute("SELECT posted_ids FROM outbox WHERE platform = 'telegram'").fetchone()
            # As if the process died after Telegram took the last part and it was recorded, before the mark.
            db.execute("UPDATE outbox SET sent_at = NULL WHERE platform = 'telegram'")
        assert len(parts) == 2 and json.loads(posted) == parts  # each part's message id, kept with the row
        await c.chat.start()
        await c.chat.settled()
        assert await c.ask("!digest now") == (
            "Nothing new since the last digest for mattermost, discourse, telegram, so nothing sent there.")
        await c.chat.settled()
        assert await c.chat.bot.stop() == 0  # the last sent marks are written at stop at the latest
        with sqlite3.connect(tmp_path / "coopbot.db") as db:
            assert db.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone() == (0,)
    assert [str(m.message_id) for m in c.tg.messages] == parts
    assert len(c.announced("Resumen del consejo")) == 1 and len(c.in_topic("📋 Council digest")) == 1


async def test_a_crash_after_telegram_took_a_message_before_its_mark_repeats_that_message_once(
        tmp_path: pathlib.Path) -> None:
    async with council(tmp_path) as c:
        await c.ask("!decide We share one hosting contract")
        await c.telegram_message("✅ New decision 1")
        await c.chat.settled()
        assert await c.chat.bot.stop() == 0
        with sqlite3.connect(tmp_path / "coopbot.db") as db:  # Telegram cannot be read back: nothing says it went
            db.execute("UPDATE outbox SET sent_at = NULL, posted_ids = NULL WHERE platform = 'telegram'")
        await c.chat.start()
        await c.tg.wait_for_messages(2)
        await c.chat.settled()
        assert await c.chat.bot.stop() == 0
        await c.chat.start()
        await c.chat.settled()
    assert [m.text.split(":")[0] for m in c.tg.messages] == ["✅ New decision 1"] * 2  # that one, once more


async def test_markup_telegram_refuses_is_logged_and_sent_again_as_plain_text(tmp_path: pathlib.Path) -> None:
    async with council(tmp_path, sections={"digest": {"updates": []}}) as c:
        await c.ask("!decide R&D <budget> doubled")
        c.tg.refuse_markup = True
        await c.ask("!digest now")
        message = await c.telegram_message("📋 Council digest")
        await c.chat.bot.wait_for_log(r"telegram refused a message's markup \(HTTP 400: POST /sendMessage: "
                                      r"Bad Request: can't parse entities")
    assert message.parse_mode is None and message.entities == []
    assert "• 1. R&D <budget> doubled — ana" in message.text


async def test_a_wrong_token_or_an_unknown_chat_ends_the_process_naming_the_key(tmp_path: pathlib.Path) -> None:
    async with FakeTelegram() as tg:
        for key, settings in (("token", {"token": "123456:not-the-token"}), ("chat_id", {"chat_id": "-1009999"})):
            path = bot_config(tmp_path, adapters={"telegram": {
                "enabled": True, "token": tg.token, "chat_id": str(DEFAULT_CHAT.id), "api_url": tg.url, **settings}})
            bot = await BotProcess(path).start()
            assert await bot.exited() == 1
            errors = [line for line in bot.lines if "refused it" in line]
            assert errors and f"adapters.telegram.{key}: Telegram refused it" in errors[-1], bot.log()
            assert "not-the-token" not in bot.log() and tg.token not in bot.log()
