"""The decision log, in-process on the console adapter: user stories with an injected clock."""
from __future__ import annotations

import pathlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone

import pytest

from bot.storage import DecisionFilter
from tests.auxil.inprocess import START, app_of, at, clocked_chat
from tests.auxil.recording import RecordingAdapter, ask

MESES = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
         "noviembre", "diciembre")
MESES_CORTOS = ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov", "dic")


@pytest.fixture
async def chat(tmp_path: pathlib.Path) -> AsyncIterator[RecordingAdapter]:
    async with clocked_chat(tmp_path) as adapter:
        yield adapter


def stored_count(chat: RecordingAdapter) -> int:
    with app_of(chat).store.unit() as unit:
        return len(unit.decisions.page(DecisionFilter(), limit=1000))


async def test_a_decision_in_a_calls_channel_belongs_to_the_call_and_is_found_by_tag_and_call(
        chat: RecordingAdapter) -> None:
    at(chat, START)
    await ask(chat, f'!call schedule "Council" {(START + timedelta(hours=1)):%Y-%m-%d %H:%M} UTC')
    at(chat, START + timedelta(hours=2))  # the call started an hour ago, in this channel
    assert await ask(chat, "!decide We share one hosting contract #hosting #Infra") == (
        "✅ Decision 1 recorded (call #1 · #hosting #infra): We share one hosting contract")
    at(chat, START + timedelta(hours=26))  # more than a day after the call began: no call
    assert await ask(chat, "!decide Next council in March #council") == (
        "✅ Decision 2 recorded (#council): Next council in March")
    by_call = await ask(chat, "!decisions #1")
    assert by_call.splitlines()[1:] == [f"1. We share one hosting contract — tester, {_day(START)} · call #1 · "
                                        "#hosting #infra"]
    by_tag = await ask(chat, "!decisions #council")
    assert [line.split(" — ")[0] for line in by_tag.splitlines()[1:]] == ["2. Next council in March"]
    assert [line.split(".")[0] for line in (await ask(chat, "!decisions")).splitlines()[1:]] == ["2", "1"]
    assert await ask(chat, "!decisions #hosting #council") == "No decisions match."


def _day(when: datetime) -> str:
    return f"{when.day} {when:%b %Y}"


async def test_a_decision_edited_twice_and_retracted_keeps_its_history(chat: RecordingAdapter) -> None:
    await ask(chat, "!decide #1 no such call")  # refused: nothing stored
    await ask(chat, "!decide Hosting moves to the federation")
    assert await ask(chat, "!decision edit 1 Hosting moves to the federation by March") == (
        "✏️ Decision 1 edited (version 2): Hosting moves to the federation by March")
    await ask(chat, "!decision edit 1 Hosting moves to the federation by April")
    assert "retracted; it stays in the log" in await ask(chat, "!decision retract 1")
    shown = (await ask(chat, "!decision 1")).splitlines()
    assert shown[:2] == ["Decision 1 (retracted):", "Hosting moves to the federation by April"]
    history = shown[shown.index("History:") + 1:]
    assert [line.split(", tester: ")[1] for line in history] == [
        "recorded: Hosting moves to the federation", "edited: Hosting moves to the federation by March",
        "edited: Hosting moves to the federation by April", "retracted"]
    assert [line.split(" ")[0] for line in history] == ["v1", "v2", "v3", "v4"]
    listed = await ask(chat, "!decisions")
    assert listed.splitlines()[1].startswith("1. (retracted) Hosting moves to the federation by April — tester")
    assert await ask(chat, "!decision edit 1 again") == "Decision 1 is retracted; record a new decision instead."
    assert await ask(chat, "!decision retract 1") == "Decision 1 is already retracted."
    with app_of(chat).store.unit() as unit:
        assert len(unit.decisions.history(1)) == 4


async def test_ten_at_a_time_newest_first_then_more(chat: RecordingAdapter) -> None:
    for n in range(1, 24):
        await ask(chat, f"!decide Decision number {n} #batch")
    first = (await ask(chat, "!decisions #batch")).splitlines()
    assert [line.split(".")[0] for line in first[1:11]] == [str(n) for n in range(23, 13, -1)]
    assert first[11] == "More: !decisions more"
    second = (await ask(chat, "!decisions more")).splitlines()
    assert [line.split(".")[0] for line in second[1:11]] == [str(n) for n in range(13, 3, -1)]
    third = (await ask(chat, "!decisions more")).splitlines()
    assert [line.split(".")[0] for line in third[1:]] == ["3", "2", "1"]
    assert await ask(chat, "!decisions more") == "That was all: there are no more decisions for that listing."


async def test_more_without_a_listing_says_how_to_start_one(chat: RecordingAdapter) -> None:
    assert await ask(chat, "!decisions more") == (
        "There is no listing to continue here; start one with !decisions.")


@pytest.mark.parametrize(("line", "error"), [
    ("!decide", "The text is missing"),
    ("!decide #7 We adopt it", "There is no call #7"),
    ("!decide We adopt it #2027plan", "“#2027plan” is not a tag"),
    ("!decide " + "x" * 4001, "at most 4000 characters"),
    ("!decision 3", "There is no decision 3"),
    ("!decision edit 3 new words", "There is no decision 3"),
    ("!decision retract three", "“three” is not a decision number"),
    ("!decisions since the dawn of time", "I could not read “the dawn of time” as a date"),
    ("!decisions #9", "There is no call #9"),
])
async def test_bad_input_gets_the_usage_with_an_example_and_stores_nothing(
        chat: RecordingAdapter, line: str, error: str) -> None:
    answer = await ask(chat, line)
    assert error in answer
    usage, example = answer.splitlines()[-2:]
    assert usage.startswith("Usage: !decide") or usage.startswith("Usage: !decision")
    assert example.startswith("Example: !decis") or example.startswith("Example: !decide")
    assert stored_count(chat) == 0


async def test_a_mass_mention_in_a_decision_is_never_echoed_live(chat: RecordingAdapter) -> None:
    recorded = await ask(chat, "!decide @channel @all and @here: we adopt it")
    shown = await ask(chat, "!decision 1")
    listed = await ask(chat, "!decisions")
    for answer in (recorded, shown, listed):
        assert "@channel" not in answer and "@all" not in answer and "@here" not in answer
        assert "@\u200bchannel" in answer
    with app_of(chat).store.unit() as unit:
        decision = unit.decisions.get(1)
    assert decision is not None and decision.text == "@channel @all and @here: we adopt it"  # stored as written


async def test_spanish_throughout_with_spanish_month_names(chat: RecordingAdapter) -> None:
    day = START.astimezone(timezone.utc)
    await ask(chat, "!idioma es")
    assert await ask(chat, "!decidir Compartimos el hosting #infra") == (
        "✅ Decisión 1 registrada (#infra): Compartimos el hosting")
    since = f"{day.day} de {MESES[day.month - 1]}"
    listed = (await ask(chat, f"!decisiones desde {since} #infra")).splitlines()
    assert listed == ["Decisiones, de la más nueva a la más vieja:",
                      f"1. Compartimos el hosting — tester, {day.day} {MESES_CORTOS[day.month - 1]} {day.year} · #infra"]
    assert "Decisión 1 editada (versión 2)" in await ask(chat, "!decisión editar 1 Compartimos el hosting desde marzo")
    assert "Decisión 1 retirada" in await ask(chat, "!decision retirar 1")
    shown = await ask(chat, "!decisión 1")
    assert shown.startswith("Decisión 1 (retirada):") and "Historial:" in shown and "registrada: " in shown
    assert "No esperaba «ya»" in await ask(chat, "!decisiones más ya")
    assert "Eso era todo" in await ask(chat, "!decisiones más")
    refused = await ask(chat, "!decidir Otra cosa #2x")
    assert "«#2x» no es una etiqueta" in refused and "Uso: !decidir [#<llamada>] <texto> [#etiqueta …]" in refused
