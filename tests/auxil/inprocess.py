"""The whole bot in-process on a ``RecordingAdapter``, its clock set by the test.

    async with clocked_chat(tmp_path) as chat:
        at(chat, START + timedelta(days=7))
        await ask(chat, "!decisions")

APScheduler keeps the wall clock, so a test that moves the bot's clock past a
job's time runs the job itself: ``await app_of(chat).run_job(kind, payload)``.
"""
from __future__ import annotations

import contextlib
import pathlib
from collections.abc import AsyncIterator, Mapping
from datetime import datetime, timezone
from types import MappingProxyType

from bot.adapters.base import Adapter
from bot.app import App
from config.loader import load_config
from tests.auxil.console import write_config
from tests.auxil.recording import RecordingAdapter

START = datetime.now(timezone.utc).replace(microsecond=0)


class Clock:
    """The bot's clock, set by the test: ``clock.now = …``."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@contextlib.asynccontextmanager
async def clocked_chat(folder: pathlib.Path, *, others: Mapping[str, Adapter] = MappingProxyType({}),
                       start: datetime = START, **settings: str) -> AsyncIterator[RecordingAdapter]:
    """A started app on the example configuration in ``folder``, ``settings`` replacing its values;
    ``others``: more adapters beside the console, by name; ``start``: its clock when it starts."""
    adapter = RecordingAdapter()
    clock = Clock()
    clock.now = start
    app = App(load_config(write_config(folder, settings=settings)), adapters={"console": adapter, **others},
              clock=clock)
    adapter.clock = clock  # type: ignore[attr-defined]
    await app.start()
    adapter.app = app  # type: ignore[attr-defined]  # the tests read the store and move the clock through it
    try:
        yield adapter
    finally:
        await app.stop()


def app_of(chat: RecordingAdapter) -> App:
    app: App = chat.app  # type: ignore[attr-defined]
    return app


def at(chat: RecordingAdapter, when: datetime) -> None:
    chat.clock.now = when  # type: ignore[attr-defined]
