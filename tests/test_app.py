"""The whole bot in-process: exactly-once handling, durable sends, job recovery."""
from __future__ import annotations

import asyncio
import gc
import logging
import pathlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone

import pytest

from bot.adapters.console import CHANNEL
from bot.app import App
from bot.commands import CommandSpec, Registry, discover
from bot.storage import Store
from config.loader import load_config
from config.model import Config
from tests.auxil.console import write_config
from tests.auxil.recording import RecordingAdapter


@pytest.fixture
def config(tmp_path: pathlib.Path) -> Config:
    return load_config(write_config(tmp_path))


@pytest.fixture
async def bot(config: Config) -> AsyncIterator[tuple[App, RecordingAdapter]]:
    adapter = RecordingAdapter()
    app = App(config, adapters={"console": adapter})
    await app.start()
    yield app, adapter
    await app.stop()


async def test_a_message_delivered_twice_is_answered_once(bot: tuple[App, RecordingAdapter]) -> None:
    _, chat = bot
    await chat.say("!coops", message_id="same")
    await chat.say("!coops", message_id="same")
    assert "FACTTIC" in await chat.next_text()
    assert chat.sent.empty()


async def test_a_reply_that_could_not_be_sent_goes_out_once_the_platform_is_back(config: Config) -> None:
    chat = RecordingAdapter(fail_sends=1)
    app = App(config, adapters={"console": chat})
    await app.start()
    try:
        await chat.say("!tz")
        await app.delivery.idle()  # the first attempt, in the background, has failed
        assert chat.sent.empty()
        assert await app.delivery.retry_due() == 0  # not due yet: it backs off first
        with app.store.unit() as unit:
            [item] = unit.outbox.due("console", datetime.now(timezone.utc) + timedelta(minutes=10), 10)
        assert item.attempts == 1 and "server away" in (item.last_error or "")
        app.delivery.clock = lambda: datetime.now(timezone.utc) + timedelta(minutes=10)
        assert await app.delivery.retry_due() == 1
        assert "time zone" in await chat.next_text()
        assert await app.delivery.retry_due() == 0
    finally:
        await app.stop()


async def test_a_stored_zone_that_no_longer_resolves_falls_back_to_the_default(
        bot: tuple[App, RecordingAdapter]) -> None:
    app, chat = bot
    with app.store.unit() as unit:
        unit.users.set_zone("console", "tester", "Not/AZone", datetime.now(timezone.utc))
    await chat.say("!tz")
    assert "Your time zone is UTC" in await chat.next_text()


def _boom(ctx: object) -> list[object]:
    raise RuntimeError("secret internal detail")


async def test_an_unexpected_failure_gets_an_incident_id_and_no_internals(
        config: Config, caplog: pytest.LogCaptureFixture) -> None:
    registry = Registry([*discover().specs, CommandSpec(key="boom", names={"en": ("boom",), "es": ("bum",)},
                                                        func=_boom)], discover().jobs.values())
    chat = RecordingAdapter()
    app = App(config, adapters={"console": chat}, registry=registry)
    await app.start()
    try:
        with caplog.at_level(logging.ERROR):
            await chat.say("!boom")
        text = await chat.next_text()
        assert "incident" in text and "secret internal detail" not in text
        incident = text.split("incident ")[1][:8]
        assert any(incident in r.getMessage() and r.exc_info for r in caplog.records)
        await chat.say("!coops")  # the bot goes on
        assert "FACTTIC" in await chat.next_text()
    finally:
        await app.stop()


def _add_call_with_reminder(store: Store, due_in: timedelta) -> int:
    now = datetime.now(timezone.utc)
    with store.unit() as unit:
        call = unit.calls.add(title="Council", starts_at=now + due_in + timedelta(minutes=15), duration_minutes=60,
                              coops=(), created_by="ana", platform="console", channel_id=CHANNEL, now=now)
        [reminder] = unit.reminders.replace_for_call(call.id, [(15, now + due_in)])
    return reminder.id


async def test_a_reminder_without_a_job_is_recovered_on_start(config: Config) -> None:
    store = Store(config.storage.url)
    store.migrate()
    _add_call_with_reminder(store, due_in=timedelta(minutes=-5))   # late, within the 1 h grace
    _add_call_with_reminder(store, due_in=timedelta(hours=-3))     # too late: skipped
    store.close()
    chat = RecordingAdapter()
    app = App(config, adapters={"console": chat})
    await app.start()
    try:
        assert "⏰ Reminder: call #1" in await chat.next_text()
        with pytest.raises(asyncio.TimeoutError):
            await chat.next_text(timeout=0.5)
    finally:
        await app.stop()


@pytest.mark.parametrize("lang", ["en", "es"])
async def test_every_example_in_help_works_as_written(config: Config, lang: str) -> None:
    chat = RecordingAdapter()
    app = App(config, adapters={"console": chat})
    await app.start()
    try:
        for line in range(3):  # calls #1–#3, which the examples show, move and cancel
            await chat.say('!call schedule "Seed" 29 Nov 2099 19:00 UTC')
            await chat.next_text()
            await chat.next_text()
            if line == 0:  # line 2 of the conversation: the list "agenda from 2" takes
                await chat.say("- Introductions")
                await chat.next_text()
        for spec in app.registry.specs:
            example = spec.example(app.services.catalogue, lang)
            await chat.say("!" + example)
            text = await chat.next_text()
            assert not any(word in text for word in ("Usage:", "Uso:", "incident", "incidente")), (example, text)
            while not chat.sent.empty():
                chat.sent.get_nowait()
    finally:
        await app.stop()


async def test_old_message_ids_and_sent_replies_are_pruned_but_recent_ones_kept(
        bot: tuple[App, RecordingAdapter]) -> None:
    app, chat = bot
    await chat.say("!coops", message_id="recent")
    await chat.next_text()
    app.delivery.flush_sent()
    assert app.prune() == (0, 0)
    app.clock = lambda: datetime.now(timezone.utc) + timedelta(days=31)
    assert app.prune() == (1, 1)


async def test_what_start_up_made_is_out_of_the_collectors_sight(config: Config) -> None:
    gc.unfreeze()  # earlier tests' apps froze theirs
    app = App(config, adapters={"console": RecordingAdapter()})
    await app.start()
    try:  # a full collection no longer walks them: no stall in some later command's reply
        assert gc.get_freeze_count() > 10_000
    finally:
        await app.stop()
