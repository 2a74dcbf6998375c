"""The real bot process against a FakeDiscourse, for end-to-end tests and the benchmark.

    async with FakeDiscourse() as forum, DiscourseBot(discourse_config(tmp_path, forum)) as bot:
        await forum.user_posts("alice", topic.id, "@coopbot time 7pm GMT")
        reply = await forum.wait_for_post("coopbot")

``DiscourseBot`` runs ``python -m bot.cli run -c FILE`` with its HTTP server on
port 0, reads the bound address and "coopbot ready" from stderr, and stops
the process with SIGTERM. ``RequestSignal`` lets a test wait for the fake to
have answered N requests, instead of sleeping.
"""
from __future__ import annotations

import asyncio
import pathlib
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import yaml

from tests.auxil.process import LISTENING, ROOT, BotProcess
from tests.fakes.discourse import FakeDiscourse, RecordedRequest

WEBHOOK_SECRET = "coop-webhook-secret-0123"
NOTIFICATIONS = "GET /notifications.json"


def discourse_config(folder: pathlib.Path, forum: FakeDiscourse, *, poll_interval: str = "0.2s",
                     webhook: bool = False, name: str = "bot.yaml",
                     sections: Mapping[str, Mapping[str, Any]] | None = None, **discourse: Any) -> pathlib.Path:
    """The shipped example with the console off, the server on port 0 and Discourse pointed at ``forum``;
    ``sections`` update the example's other sections ({"proposals": {"remind_before": "4s"}})."""
    config = yaml.safe_load((ROOT / "bot.yaml.example").read_text())
    for section, values in (sections or {}).items():
        config[section] = {**(config.get(section) or {}), **values}
    config["storage"]["url"] = f"sqlite:///{folder / 'coopbot.db'}"
    config["server"].update(enabled=True, port=0)
    config["adapters"] = {
        "console": {"enabled": False},
        "discourse": {
            "enabled": True, "url": forum.url, "api_key": forum.api_key, "api_username": forum.bot.username,
            "poll_interval": poll_interval, **({"webhook_secret": WEBHOOK_SECRET} if webhook else {}), **discourse,
        },
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    return path


class DiscourseBot:
    """``coopbot run`` as a subprocess (a ``BotProcess``); ``log`` waits for a line on its stderr."""

    def __init__(self, config: pathlib.Path) -> None:
        self.config = config
        self.process = BotProcess(config)
        self.url = ""

    @property
    def proc(self) -> asyncio.subprocess.Process | None:
        return self.process.proc

    @property
    def lines(self) -> list[str]:
        return self.process.lines

    @property
    def webhook_url(self) -> str:
        return self.url + "/discourse/webhook"

    async def __aenter__(self) -> DiscourseBot:
        await self.process.start()
        found = await self.log(LISTENING)
        self.url = found.group(1)
        await self.log("coopbot ready")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        await self.process.stop(timeout=10)

    async def log(self, pattern: str | re.Pattern[str], *, after: int = 0, timeout: float = 10.0) -> re.Match[str]:
        """The first stderr line from index ``after`` on matching ``pattern``, waiting for it."""
        return await self.process.search_log(pattern, after=after, timeout=timeout)

    def stderr(self) -> str:
        return self.process.log()


class RequestSignal(list[RecordedRequest]):
    """The fake's request log, waking waiters on every request (install before the fake starts)."""

    def __init__(self, items: Iterable[RecordedRequest] = ()) -> None:
        super().__init__(items)
        self._changed = asyncio.Event()

    @classmethod
    def install(cls, forum: FakeDiscourse) -> RequestSignal:
        log = cls(forum.request_log)
        forum.rest.request_log = forum.request_log = log
        return log

    def append(self, item: RecordedRequest) -> None:
        super().append(item)
        self._changed.set()

    async def wait_for(self, condition: Callable[[list[RecordedRequest]], bool], timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while not condition(self):
                self._changed.clear()
                await self._changed.wait()

    def routes(self, start: int = 0) -> list[str]:
        return [r.route for r in self[start:]]
