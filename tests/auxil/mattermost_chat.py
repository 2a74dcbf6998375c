"""The fake Mattermost and the real bot process connected to it, for end-to-end tests.

The bot runs as ``coopbot run -c FILE`` (console off, HTTP server on port 0);
the fake runs in the test's event loop.
"""
from __future__ import annotations

import pathlib
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tests.auxil.process import BotProcess, bot_config
from tests.fakes.mattermost import FakeMattermost

SLASH_TOKEN = "slash-token-for-tests"


def adapter_settings(mm: FakeMattermost, **overrides: Any) -> dict[str, Any]:
    return {"enabled": True, "url": mm.url, "token": mm.bot_token, "team": mm.team.name,
            "announce_channel": "off-topic", "slash_token": SLASH_TOKEN, "languages": {"off-topic": "es"},
            "reconnect_max_delay": "1s", **overrides}


@dataclass
class Chat:
    """A fake Mattermost and the bot process connected to it."""

    mm: FakeMattermost
    bot: BotProcess
    folder: pathlib.Path
    url: str = ""  # the bot's HTTP server

    @property
    def bot_id(self) -> str:
        return self.mm.bot.id

    async def start(self) -> Chat:
        self.bot = BotProcess(self.folder / "bot.yaml")
        await self.bot.start()
        self.url = await self.bot.server_url()
        await self.bot.wait_for_log(r"mattermost: caught up")
        return self

    async def ask(self, user: str, channel: str, text: str, timeout: float = 10.0) -> dict[str, Any]:
        """``user`` writes ``text``; the bot's reply to it (its next post in that post's thread)."""
        trigger = await self.mm.user_posts(user, channel, text)
        return await self.mm.wait_for_post(user_id=self.bot_id, after=trigger["id"], root_id=trigger["id"],
                                           timeout=timeout)

    def replies_to(self, post_id: str) -> list[dict[str, Any]]:
        return [p for p in self.mm.posts_by(self.mm.bot) if p["root_id"] == post_id]

    async def all_answered(self, post_ids: Iterable[str], timeout: float = 20.0) -> None:
        """Wait until every post in ``post_ids`` has a reply in its thread."""
        wanted = set(post_ids)
        deadline = time.monotonic() + timeout
        while wanted - {p["root_id"] for p in self.mm.posts_by(self.mm.bot)}:
            left = deadline - time.monotonic()
            if left <= 0:
                missing = wanted - {p["root_id"] for p in self.mm.posts_by(self.mm.bot)}
                raise AssertionError(f"{len(missing)} of {len(wanted)} unanswered:\n{self.bot.log()}")
            try:
                await self.mm.wait_for_post(user_id=self.bot_id, timeout=left)
            except TimeoutError:
                continue

    async def settled(self) -> None:
        """Everything written before now has been handled: a last command is answered."""
        sentinel = await self.mm.user_posts("ben", "town-square", "!help tz")
        await self.all_answered([sentinel["id"]])

    def url_for_slash(self) -> str:
        return self.url + "/mattermost/command"


async def start_chat(tmp_path: pathlib.Path, mm: FakeMattermost,
                     sections: Mapping[str, Mapping[str, Any]] | None = None) -> Chat:
    """The bot on ``mm``; ``sections`` update the example's top-level sections ({"proposals": {…}})."""
    bot_config(tmp_path, adapters={"mattermost": adapter_settings(mm)}, server=True, sections=sections)
    return await Chat(mm, BotProcess(tmp_path / "bot.yaml"), tmp_path).start()
