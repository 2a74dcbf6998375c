"""Consent proposals end to end: the real bot process against the fake Mattermost on loopback.

Each story has its own fake and bot, so proposal and decision numbers start at 1.
Deadlines are seconds ahead on the wall clock; the test waits on the fake's posts.
"""
from __future__ import annotations

import pathlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.auxil.deadlines import seconds_ahead, utc, wait_past
from tests.auxil.mattermost_chat import Chat, start_chat
from tests.fakes.mattermost import FakeMattermost

pytestmark = pytest.mark.asyncio(loop_scope="function")


@pytest_asyncio.fixture
async def chat(tmp_path: pathlib.Path) -> AsyncIterator[Chat]:
    async with FakeMattermost() as mm:
        mm.add_user("carla", "Europe/Berlin")
        running = await start_chat(tmp_path, mm, sections={"proposals": {"remind_before": "4s"}})
        yield running
        await running.bot.stop()


async def in_thread(chat: Chat, root: dict[str, Any], after: dict[str, Any], timeout: float = 15.0
                    ) -> dict[str, Any]:
    """The bot's next post in ``root``'s thread after ``after``."""
    return await chat.mm.wait_for_post(user_id=chat.bot_id, root_id=root["id"], after=after["id"], timeout=timeout)


async def test_a_proposal_from_opening_to_consent_with_the_reminder_naming_only_the_silent(chat: Chat) -> None:
    mm = chat.mm
    trigger = await mm.user_posts(
        "ana", "town-square", f'!propose "We adopt the shared hosting plan" until {utc(seconds_ahead(9))} '
                              "quorum 2 "
                              "with @ben @carla")
    opened = await in_thread(chat, trigger, trigger, timeout=10)
    assert opened["message"].startswith("🗳️ Proposal 1 by ana: We adopt the shared hosting plan\nDeadline:\n| |")
    assert "**Buenos Aires**" in opened["message"] and "Asked: @ben @carla" in opened["message"]

    objected = (await chat.ask("ben", "town-square", "!object 1 It costs more than we have"))["message"]
    assert objected == "✋ Proposal 1: ben objects: It costs more than we have"
    agreed = (await chat.ask("ben", "town-square", "!agree 1"))["message"]
    assert agreed == "👍 Proposal 1: ben agrees (before: objects: It costs more than we have)"

    reminder = await in_thread(chat, trigger, opened)  # in the proposal's thread, 4 s before its deadline
    assert reminder["message"].startswith("⏰ Proposal 1 closes in 1 minute: We adopt the shared hosting plan")
    assert "Not answered yet: @carla\n" in reminder["message"] and "@ben" not in reminder["message"]
    assert mm.store.mentioned_user_ids(mm.store.posts[reminder["id"]]) == [mm.store.user_by_name("carla").id]

    await chat.ask("ana", "town-square", "!agree 1")
    closed = await in_thread(chat, trigger, reminder)
    assert closed["message"].startswith("🗳️ Proposal 1 closed: ✅ consented\nWe adopt the shared hosting plan\n")
    assert "- ben: agrees (before: objects: It costs more than we have)" in closed["message"]
    assert closed["message"].endswith("Recorded as decision 1.")
    shown = (await chat.ask("carla", "town-square", "!decision 1"))["message"]
    assert f"Post: {mm.url}/{mm.team.name}/pl/{trigger['id']}" in shown and "Tags: #proposal" in shown
    refused = (await chat.ask("carla", "town-square", "!block 1 Too late?"))["message"]
    assert refused == "Proposal 1 is closed: ✅ consented. Positions can no longer change."


async def test_a_block_in_a_spanish_channel_and_its_reason_in_the_outcome(chat: Chat) -> None:
    trigger = await chat.mm.user_posts("ana", "off-topic", '!proponer "Dejamos la cooperativa de hosting" '
                                                           "hasta 2099-01-05 18:00 UTC con @ben")
    opened = await in_thread(chat, trigger, trigger, timeout=10)
    assert opened["message"].startswith("🗳️ Propuesta 1 de ana: Dejamos la cooperativa de hosting\nPlazo:\n")
    assert "lun 5 ene 2099" in opened["message"]
    blocked = (await chat.ask("ben", "off-topic", "!bloqueo 1 Va contra nuestro principio"))["message"]
    assert blocked == "⛔ Propuesta 1: ben bloquea: Va contra nuestro principio"
    refused = (await chat.ask("ben", "off-topic", "!propuesta cerrar 1"))["message"]
    assert refused == "Solo ana, que hizo la propuesta 1, puede cerrarla antes del plazo."
    closing = await chat.mm.user_posts("ana", "off-topic", "!propuesta cerrar 1")
    here = await in_thread(chat, closing, closing, timeout=10)
    there = await in_thread(chat, trigger, opened, timeout=10)  # announced where the proposal was made too
    for post in (here, there):
        assert post["message"].startswith("🗳️ Propuesta 1 cerrada: ⛔ bloqueada\n")
        assert "- ben: bloquea: Va contra nuestro principio" in post["message"]
    listed = (await chat.ask("ana", "off-topic", "!decisiones #proposal"))["message"]
    assert "1. Propuesta 1, ⛔ bloqueada: Dejamos la cooperativa de hosting — Posiciones: ben bloquea: Va contra" \
        in listed


async def test_a_deadline_passed_while_the_bot_was_stopped_closes_once_on_start(chat: Chat) -> None:
    deadline = seconds_ahead(4)
    trigger = await chat.mm.user_posts("ana", "town-square",
                                       f'!propose "Monthly calls on Thursdays" until {utc(deadline)} quorum 2')
    opened = await in_thread(chat, trigger, trigger, timeout=10)
    await chat.ask("ben", "town-square", "!agree 1")
    await chat.bot.stop()
    await wait_past(deadline)  # the deadline passes while no bot runs: nothing to wait on but the clock
    await chat.start()
    closed = await in_thread(chat, trigger, opened)
    assert closed["message"].startswith("🗳️ Proposal 1 closed: ⏳ no quorum (1 of 2 positions)")
    await chat.bot.stop()
    await chat.start()
    await chat.settled()
    assert [p for p in chat.replies_to(trigger["id"]) if "closed" in p["message"]] == [closed]
