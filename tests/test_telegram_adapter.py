"""The Telegram adapter against the fake Bot API, in-process: its limits, parts and refusals.

The adapter is the real one and talks HTTP to the fake on loopback; the fake's
flood control is given a one-second window so the limiter can be seen at work.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from bot.adapters.telegram import ChatLimiter, TelegramAdapter
from bot.errors import AdapterError, RateLimited, RejectedError, SettingRefused
from bot.messages import Incoming, Outgoing
from tests.fakes.telegram import DEFAULT_CHAT, FakeTelegram

CHAT = str(DEFAULT_CHAT.id)


async def nothing(_: Incoming) -> None:
    return None


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(per_minute=3, window=1.0) as fake:
        yield fake


async def started(tg: FakeTelegram, **kwargs: object) -> TelegramAdapter:
    adapter = TelegramAdapter(token=tg.token, chat_id=CHAT, api_url=tg.url, **kwargs)  # type: ignore[arg-type]
    await adapter.start(nothing)
    return adapter


async def test_the_limiter_keeps_under_the_chats_flood_limit_with_no_429(tg: FakeTelegram) -> None:
    adapter = await started(tg, limiter=ChatLimiter(per_window=3, window=1.0))
    try:
        began = time.monotonic()
        for n in range(7):
            await adapter.send(Outgoing(platform="telegram", channel_id=CHAT, text=f"message {n}"))
        took = time.monotonic() - began
    finally:
        await adapter.stop()
    assert [m.text for m in tg.messages] == [f"message {n}" for n in range(7)]
    assert all(r.status == 200 for r in tg.requests)  # the fake never had to refuse one
    assert took >= 2.0  # seven messages at three a second: two waits for the window


async def test_a_reply_in_three_parts_reports_each_part_as_it_is_accepted(tg: FakeTelegram) -> None:
    adapter = await started(tg)
    reported: list[tuple[str, ...]] = []
    text = "\n".join(f"<b>line {n}</b> " + "x" * 1990 for n in range(5))  # about 10,000 visible characters
    try:
        ids = await adapter.send(Outgoing(platform="telegram", channel_id=CHAT, text=text, on_posted=reported.append))
    finally:
        await adapter.stop()
    assert ids == tuple(str(m.message_id) for m in tg.messages) and len(ids) == 3
    assert reported == [ids[:1], ids[:2], ids]
    assert all(m.entities and m.entities[0]["type"] == "bold" for m in tg.messages)


async def test_a_retry_goes_on_after_the_parts_already_posted(tg: FakeTelegram) -> None:
    adapter = await started(tg)
    text = "\n".join("y" * 4000 for _ in range(3))
    try:
        ids = await adapter.send(Outgoing(platform="telegram", channel_id=CHAT, text=text, posted=("41", "42")))
    finally:
        await adapter.stop()
    assert len(tg.messages) == 1 and ids == ("41", "42", str(tg.messages[0].message_id))


async def test_a_429_holds_the_chat_for_its_retry_after(tg: FakeTelegram) -> None:
    adapter = await started(tg)
    tg.flood(retry_after=2)
    try:
        with pytest.raises(RateLimited) as refused:
            await adapter.send(Outgoing(platform="telegram", channel_id=CHAT, text="first"))
        assert refused.value.retry_after == 2
        began = time.monotonic()
        await adapter.send(Outgoing(platform="telegram", channel_id=CHAT, text="second"))  # waits it out first
        assert time.monotonic() - began >= 1.9
    finally:
        await adapter.stop()
    assert [m.text for m in tg.messages] == ["second"]
    assert tg.early_requests == []


async def test_a_long_hold_is_handed_back_to_the_outbox_not_waited_in_the_sender(tg: FakeTelegram) -> None:
    adapter = await started(tg)
    tg.flood(retry_after=30)
    try:
        with pytest.raises(RateLimited):
            await adapter.send(Outgoing(platform="telegram", channel_id=CHAT, text="first"))
        with pytest.raises(RateLimited) as held:  # longer than INLINE_WAIT: the outbox retries it later
            await adapter.send(Outgoing(platform="telegram", channel_id=CHAT, text="second"))
    finally:
        await adapter.stop()
    assert 29 <= held.value.retry_after <= 30
    assert len([r for r in tg.requests if r.method == "sendMessage"]) == 1 and tg.early_requests == []


async def test_nothing_is_sent_before_the_token_and_chat_are_checked(tg: FakeTelegram) -> None:
    tg.down = True
    adapter = await started(tg)  # the first check failed: start returns, checking goes on in the background
    back = asyncio.Event()
    adapter.on_reconnect = back.set
    try:
        with pytest.raises(AdapterError, match="not checked yet"):
            await adapter.send(Outgoing(platform="telegram", channel_id=CHAT, text="early"))
        tg.down = False
        await asyncio.wait_for(back.wait(), 10)  # checked: the outbox is told to retry at once
        await adapter.send(Outgoing(platform="telegram", channel_id=CHAT, text="now"))
    finally:
        await adapter.stop()
    assert [m.text for m in tg.messages] == ["now"]


async def test_an_unknown_chat_is_refused_at_start_naming_the_key(tg: FakeTelegram) -> None:
    adapter = TelegramAdapter(token=tg.token, chat_id="@nosuchchannel", api_url=tg.url)
    try:
        with pytest.raises(SettingRefused, match=r"adapters\.telegram\.chat_id: Telegram refused it \(HTTP 400"):
            await adapter.start(nothing)
    finally:
        await adapter.stop()


async def test_a_bot_removed_from_its_chat_waits_as_for_an_outage_and_says_why(tg: FakeTelegram) -> None:
    adapter = await started(tg)
    tg.removed.add(DEFAULT_CHAT.id)
    try:
        with pytest.raises(AdapterError) as refused:
            await adapter.send(Outgoing(platform="telegram", channel_id=CHAT, text="digest"))
        assert not isinstance(refused.value, RejectedError)  # retried with backoff, never parked
        assert adapter.health() == ("adapters.telegram.chat_id: HTTP 403: POST /sendMessage: "
                                    "Forbidden: bot is not a member of the channel chat")
        tg.removed.clear()  # an admin adds the bot again
        await adapter.send(Outgoing(platform="telegram", channel_id=CHAT, text="digest"))
        assert adapter.health() is None
    finally:
        await adapter.stop()
    assert [m.text for m in tg.messages] == ["digest"]


async def test_a_text_telegram_would_show_empty_is_not_sent(tg: FakeTelegram) -> None:
    adapter = await started(tg)
    try:
        assert await adapter.send(Outgoing(platform="telegram", channel_id=CHAT, text="<b></b>\n \u202c\r")) == ()
    finally:
        await adapter.stop()
    assert tg.requests[2:] == []  # after getMe and getChat, nothing: Telegram would refuse it as empty
