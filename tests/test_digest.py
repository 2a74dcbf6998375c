"""The council digest and decision updates, in-process: the console and a second destination.

The second destination is a recording adapter posing as Telegram (its own
channel, Telegram's HTML), so what each destination gets, in its language, and
what the answer says can be read without a network; the real Telegram adapter
against the fake Bot API is in test_telegram_e2e.
"""
from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.messages import Incoming, Outgoing, Place, Reply
from bot.rendering import render
from tests.auxil.inprocess import START, app_of, at, clocked_chat
from tests.auxil.recording import RecordingAdapter, ask

DAY = timedelta(days=1)


class Council(RecordingAdapter):
    """A destination of its own: a Telegram-like chat, whose announcement place is its main channel;
    a command written in another of its channels (``say_in``) is answered there."""

    platform = "telegram"

    def render(self, reply: Reply) -> str:
        return render(reply, "telegram")

    def reply_place(self, incoming: Incoming) -> Place:
        return incoming.place

    async def say_in(self, channel: str, text: str) -> None:
        incoming = self.incoming(text)
        assert self._on_message is not None
        await self._on_message(dataclasses.replace(incoming, place=Place(self.platform, channel)))


def drained(adapter: RecordingAdapter) -> list[Outgoing]:
    found = []
    while not adapter.sent.empty():
        found.append(adapter.sent.get_nowait())
    return found


@pytest.fixture
def council() -> Council:
    return Council()


@pytest.fixture
async def chat(tmp_path: pathlib.Path, council: Council) -> AsyncIterator[RecordingAdapter]:
    async with clocked_chat(tmp_path, others={"telegram": council}) as adapter:
        yield adapter


def day(offset: timedelta) -> str:
    return (START + offset).strftime("%Y-%m-%d")


async def settle(chat: RecordingAdapter) -> None:
    await app_of(chat).delivery.idle(5)


async def test_a_digest_goes_to_each_destination_with_calls_agenda_decisions_and_proposals(
        chat: RecordingAdapter, council: Council) -> None:
    await ask(chat, f'!call schedule "Federation call" {day(5 * DAY)} 19:00 UTC with FACTTIC, CoTech')
    await ask(chat, "!agenda add #1 Inter-cooperative projects")
    await ask(chat, "!decide We share one hosting contract #hosting")
    await ask(chat, '!propose "Monthly calls on Thursdays" quorum 2')
    await settle(chat)
    drained(council)
    answer = await ask(chat, "!digest now")
    assert "Digest sent to console, telegram." in answer
    await settle(chat)
    (posted,) = drained(council)
    text = posted.text
    assert text.startswith("<b>📋 Council digest, ")
    assert "<b>Calls in the next 14 days</b>\n• Call #1: Federation call\n" in text
    assert "16:00 Buenos Aires (UTC−3) · 19:00 London (UTC+0)\n" in text  # the call's coops, in their zones
    assert "Berlin" not in text.split("<b>Decisions")[0]  # only the call's coops
    assert "    1. Inter-cooperative projects" in text
    assert "<b>Decisions (1)</b>\n• 1. We share one hosting contract — tester #hosting" in text
    assert "• Opened: 1. Monthly calls on Thursdays — tester" in text
    assert "<b>Open proposals</b>\n• 1. Monthly calls on Thursdays — until:" in text
    assert "console" in answer and "Federation call" in answer  # the console is a destination too


async def test_nothing_new_since_the_last_digest_sends_nothing_and_says_so(
        chat: RecordingAdapter, council: Council) -> None:
    await ask(chat, "!decide We share one hosting contract")
    await ask(chat, "!digest now")
    await settle(chat)
    drained(council)
    at(chat, START + DAY)
    answer = await ask(chat, "!digest now")
    assert answer == "Nothing new since the last digest for console, telegram, so nothing sent there."
    await settle(chat)
    assert drained(council) == []
    await ask(chat, "!decide Thursdays it is")
    await settle(chat)
    assert [item.text for item in drained(council)] == ["✅ New decision 2: Thursdays it is — tester"]
    at(chat, START + 2 * DAY)
    assert "Digest sent to console, telegram." in await ask(chat, "!digest now")
    await settle(chat)
    (posted,) = drained(council)
    assert "Thursdays it is" in posted.text and "hosting contract" not in posted.text  # only what is new


async def test_a_first_digest_with_nothing_at_all_sends_nothing(chat: RecordingAdapter, council: Council) -> None:
    answer = await ask(chat, "!digest now")
    assert answer == "Nothing new since the last digest for console, telegram, so nothing sent there."
    await settle(chat)
    assert drained(council) == []


async def test_a_preview_shows_the_digest_here_only_and_moves_nothing(chat: RecordingAdapter, council: Council) -> None:
    await ask(chat, "!decide We share one hosting contract")
    await settle(chat)
    drained(council)
    preview = await ask(chat, "!digest preview")
    assert "Council digest" in preview and "We share one hosting contract" in preview
    await settle(chat)
    assert drained(council) == []
    assert "Digest sent to console, telegram." in await ask(chat, "!digest now")  # the preview moved nothing
    assert (await ask(chat, "!digest preview")).startswith("(Nothing new since the last digest")


async def test_a_spanish_destination_reads_spanish_words_and_names_of_days_and_months(
        tmp_path: pathlib.Path, council: Council) -> None:
    async with clocked_chat(tmp_path, others={"telegram": council}, language="es") as chat:
        await ask(chat, '!llamada agendar "Llamada de la federación" 2099-12-03 19:00 UTC')
        at(chat, START.replace(year=2099, month=11, day=25))
        await ask(chat, "!decidir Compartimos un contrato de alojamiento")
        await ask(chat, "!resumen ahora")
        await settle(chat)
        (posted,) = [item for item in drained(council) if "Resumen" in item.text]
    assert posted.text.startswith("<b>📋 Resumen del consejo, 18 nov 2099 – 25 nov 2099</b>")
    assert "<b>Llamadas de los próximos 14 días</b>\n• Llamada #1: Llamada de la federación" in posted.text
    assert "jue 3 dic 2099 16:00 Buenos Aires (UTC−3)" in posted.text
    assert "<b>Decisiones (1)</b>" in posted.text


async def test_user_text_is_escaped_for_telegram_and_mass_mentions_are_defused(
        chat: RecordingAdapter, council: Council) -> None:
    await ask(chat, "!decide Budget <b>doubled</b> & @channel told")
    await ask(chat, "!digest now")
    await settle(chat)
    texts = [item.text for item in drained(council)]
    assert texts and all("<b>doubled</b>" not in text for text in texts)
    assert "Budget &lt;b&gt;doubled&lt;/b&gt; &amp; @\u200bchannel told" in texts[-1]


# --- decision updates ---------------------------------------------------------------------------

async def test_a_new_decision_is_posted_at_the_other_destinations_not_where_it_was_made(
        chat: RecordingAdapter, council: Council) -> None:
    answer = await ask(chat, "!decide We share one hosting contract #hosting")
    assert answer.startswith("✅ Decision 1 recorded")
    assert "New decision" not in answer  # the console has the answer; no second copy there
    await settle(chat)
    (update,) = drained(council)
    assert update.text == "✅ New decision 1 (#hosting): We share one hosting contract — tester"


async def test_a_proposal_opened_and_its_outcome_are_posted_as_they_happen(
        chat: RecordingAdapter, council: Council) -> None:
    await ask(chat, '!propose "Monthly calls on Thursdays"')
    await settle(chat)
    (opened,) = drained(council)
    assert opened.text.startswith("🗳️ New proposal 1 by tester: Monthly calls on Thursdays\nDeadline:\n")
    await ask(chat, "!agree 1")
    at(chat, START + 7 * DAY)
    await app_of(chat).run_job("proposal.deadline", {"proposal_id": 1})
    await settle(chat)
    (closed,) = drained(council)
    assert closed.text == "🗳️ Proposal 1 closed: ✅ consented — Monthly calls on Thursdays"
    at(chat, START + 8 * DAY)
    assert "Digest sent" in await ask(chat, "!digest now")
    await settle(chat)
    (digest,) = drained(council)
    assert "• Closed: 1. Monthly calls on Thursdays — ✅ consented" in digest.text
    assert "<b>Decisions" not in digest.text  # the outcome's decision is the proposal's line, not a second one


async def test_a_proposal_closed_from_another_channel_is_announced_once_where_it_lives(
        chat: RecordingAdapter, council: Council) -> None:
    await council.say('!propose "Monthly calls on Thursdays"')  # in the council's own channel
    await settle(chat)
    assert [item.text.split(":")[0] for item in drained(chat)] == ["🗳️ New proposal 1 by tester"]
    drained(council)
    await council.say_in("side", "!proposal close 1")
    await settle(chat)
    where = [(item.channel_id, item.text.split("\n")[0]) for item in drained(council)]
    main = council.announce_place()
    assert main is not None
    assert where == [("side", "🗳️ Proposal 1 closed: ⏳ no quorum (0 of 1 positions)"),
                     (main.channel_id, "🗳️ Proposal 1 closed: ⏳ no quorum (0 of 1 positions)")]  # no update too
    assert [item.text for item in drained(chat)] == [
        "🗳️ Proposal 1 closed: ⏳ no quorum (0 of 1 positions) — Monthly calls on Thursdays"]


async def test_a_call_alone_is_not_news(chat: RecordingAdapter, council: Council) -> None:
    await ask(chat, f'!call schedule "Federation call" {day(5 * DAY)} 19:00 UTC')
    answer = await ask(chat, "!digest now")
    assert answer == "Nothing new since the last digest for console, telegram, so nothing sent there."


async def test_updates_go_only_where_digest_updates_lists(tmp_path: pathlib.Path, council: Council) -> None:
    async with clocked_chat(tmp_path, others={"telegram": council}, digest="{updates: [console]}") as chat:
        await ask(chat, "!decide We share one hosting contract")
        await settle(chat)
        assert drained(council) == []
