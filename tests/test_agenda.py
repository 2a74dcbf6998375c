"""The agenda: bullet lists read from posts, and the commands, in-process in English and Spanish."""
from __future__ import annotations

import pathlib
from collections.abc import AsyncIterator

import pytest

from bot.app import App
from bot.storage import AgendaItem
from config.loader import load_config
from handlers.agenda import bullet_items
from tests.auxil.console import write_config
from tests.auxil.recording import RecordingAdapter, ask

# The seed thread's proposal, as the forum shows it (bullets indented by two spaces).
SEED_PROPOSAL = """I propose the following topics:

  • Inter-cooperative projects: In FACTTIC we're running some inter-cooperative projects for external clients.
  • ICA IT Network: we're working on the creation of the IT Network.
  • Clients and Projects: ¿what kind of clients do you have?

reading what I wrote I think it's a lot for one meeting :grimacing:"""

# Another seed post: a list typed as plain text, a dash straight before each item.
SEED_PLAIN_LIST = """We show them our office and share some topics about beeing a cooperative:
-New owner-workers entering at the cooperative
-Labour Culture dinamics (we are 27, so it's different to be 4, for example)
-Distribution and salary

So, maybe we could try something like this to be in contact… :wink:"""


def test_the_seed_threads_three_proposed_topics_are_three_items() -> None:
    assert bullet_items(SEED_PROPOSAL) == [
        "Inter-cooperative projects: In FACTTIC we're running some inter-cooperative projects for external clients.",
        "ICA IT Network: we're working on the creation of the IT Network.",
        "Clients and Projects: ¿what kind of clients do you have?",
    ]


def test_a_plain_text_list_with_dashes_is_read_too() -> None:
    assert bullet_items(SEED_PLAIN_LIST) == [
        "New owner-workers entering at the cooperative",
        "Labour Culture dinamics (we are 27, so it's different to be 4, for example)",
        "Distribution and salary",
    ]


@pytest.mark.parametrize(("post", "items"), [
    ("Temas:\n1. Presentaciones\n2) Encuesta de Sassafras\n3. Próximo encuentro", [
        "Presentaciones", "Encuesta de Sassafras", "Próximo encuentro"]),
    ("* Budget\n    * detail of the budget\n* Hiring\n\t- another detail", ["Budget", "Hiring"]),
    ("- [ ] Write the minutes\n- [x] Book the room", ["Write the minutes", "Book the room"]),
    ("No list here.\n*emphasis* is not a bullet\n-5 degrees is not one either\n-- a signature", []),
    ("- \n-\n* ", []),
])
def test_list_items_markers_sub_items_and_non_lists(post: str, items: list[str]) -> None:
    assert bullet_items(post) == items


# --- the commands, in-process --------------------------------------------------------------

@pytest.fixture
async def chat(tmp_path: pathlib.Path) -> AsyncIterator[RecordingAdapter]:
    adapter = RecordingAdapter()
    app = App(load_config(write_config(tmp_path)), adapters={"console": adapter})
    await app.start()
    adapter.app = app  # type: ignore[attr-defined]  # the tests read the store through it
    yield adapter
    await app.stop()


def items_of(chat: RecordingAdapter, call_id: int) -> list[AgendaItem]:
    app: App = chat.app  # type: ignore[attr-defined]
    with app.store.unit() as unit:
        return unit.agenda.for_call(call_id)


async def test_items_are_added_shown_and_removed_with_renumbering(chat: RecordingAdapter) -> None:
    assert await ask(chat, "!agenda") == "Which call? None is scheduled here; name one, e.g. #3 (see !call list)."
    await ask(chat, '!call schedule "Hello call" 29 Nov 2099 19:00 UTC')
    assert "The agenda of call #1 “Hello call”" in await ask(chat, "!agenda")
    for item in ("Introductions", "Survey @channel", "Next gathering"):
        await ask(chat, f"!agenda add {item}")
    assert await ask(chat, "!agenda remove 2") == (
        "Removed item 2 (“Survey @\u200bchannel”) from the agenda of call #1 “Hello call” (Sun 29 Nov 2099,"
        " 19:00 UTC (UTC+0)).")
    shown = await ask(chat, "!agenda")
    assert shown.splitlines()[1:] == ["1. Introductions", "2. Next gathering"]
    assert [(i.position, i.text, i.added_by) for i in items_of(chat, 1)] == [
        (1, "Introductions", "tester"), (2, "Next gathering", "tester")]
    assert "There is no item 3" in await ask(chat, "!agenda remove 3")


async def test_an_explicit_call_number_wins_over_the_next_call(chat: RecordingAdapter) -> None:
    await ask(chat, '!call schedule "Sooner" 28 Nov 2099 19:00 UTC')
    await ask(chat, '!call schedule "Later" 29 Nov 2099 19:00 UTC')
    assert "call #1 “Sooner”" in await ask(chat, "!agenda add Budget")
    assert "call #2 “Later”" in await ask(chat, "!agenda add #2 Hiring")
    assert "1. Hiring" in await ask(chat, "!agenda 2")
    assert "There is no scheduled call “9”" in await ask(chat, "!agenda add #9 Nothing")
    assert [i.text for i in items_of(chat, 1)] == ["Budget"]


async def test_agenda_from_a_post_takes_its_list_and_says_where_from(chat: RecordingAdapter) -> None:
    await ask(chat, '!call schedule "Hello call" 29 Nov 2099 19:00 UTC')  # post 1
    await ask(chat, SEED_PROPOSAL)  # post 2 (not a command: answered "unknown command")
    answer = await ask(chat, "!agenda from 2")
    assert answer.splitlines()[0].startswith("Added to the agenda of call #1 “Hello call”")
    assert answer.splitlines()[0].endswith("from post 2 by tester:")
    assert answer.splitlines()[1].startswith("1. Inter-cooperative projects")
    assert [(i.position, i.source) for i in items_of(chat, 1)] == [(1, "post 2"), (2, "post 2"), (3, "post 2")]
    assert "Post 1 has no bullet list" in await ask(chat, "!agenda from 1")
    assert "There is no post 99" in await ask(chat, "!agenda from 99")
    assert "Usage:" in await ask(chat, "!agenda from")
    assert len(items_of(chat, 1)) == 3  # the failures added nothing


async def test_the_agenda_in_spanish(chat: RecordingAdapter) -> None:
    await ask(chat, '!llamada agendar "Saludo" 29/11/2099 a las 16 hora de Argentina')
    assert "La agenda de la llamada #1 «Saludo»" in await ask(chat, "!idioma es") + await ask(chat, "!agenda")
    assert "como tema 1: Presentaciones" in await ask(chat, "!agenda agregar Presentaciones")
    await ask(chat, "Temas:\n- Encuesta\n- Próximo encuentro")
    answer = await ask(chat, f"!agenda desde {chat_line(chat)}")
    assert answer.splitlines()[1:] == ["2. Encuesta", "3. Próximo encuentro"]
    assert "Quité el tema 1 («Presentaciones»)" in await ask(chat, "!agenda quitar 1")
    assert "¿Qué tema?" in await ask(chat, "!agenda quitar uno")


def chat_line(chat: RecordingAdapter) -> int:
    """The number of the last line said (the console numbers lines as a forum numbers posts)."""
    return max(chat._lines)


async def test_show_and_reminders_carry_the_agenda(chat: RecordingAdapter) -> None:
    app: App = chat.app  # type: ignore[attr-defined]
    await ask(chat, '!call schedule "Hello call" 29 Nov 2099 19:00 UTC')
    await ask(chat, "!agenda add Introductions")
    assert (await ask(chat, "!call show 1")).splitlines()[-2:] == ["Agenda:", "1. Introductions"]
    with app.store.unit() as unit:
        reminder = unit.reminders.for_call(1)[0]
    (posted,) = await app.run_job("reminder", {"reminder_id": reminder.id})
    assert posted.text.startswith("⏰ Reminder: call #1 “Hello call”")
    assert posted.text.splitlines()[-2:] == ["Agenda:", "1. Introductions"]


async def test_an_item_too_long_or_missing_is_refused(chat: RecordingAdapter) -> None:
    await ask(chat, '!call schedule "Hello call" 29 Nov 2099 19:00 UTC')
    assert "at most 300 characters" in await ask(chat, "!agenda add " + "x" * 301)
    assert "What should go on the agenda?" in await ask(chat, "!agenda add")
    assert items_of(chat, 1) == []


async def test_odd_post_numbers_get_an_answer_and_leave_the_bot_reading(chat: RecordingAdapter) -> None:
    await ask(chat, '!call schedule "Hello call" 29 Nov 2099 19:00 UTC')  # post 1
    await ask(chat, "- Budget")  # post 2
    assert "There is no post 999999999999…" in await ask(chat, "!agenda from " + "9" * 5000)
    assert "There is no post ²" in await ask(chat, "!agenda from ²")
    answer = await ask(chat, "!agenda from 0002\t#1")  # a tab between the arguments, as the dispatcher splits
    assert "from post 2 by tester:" in answer and "1. Budget" in answer
    assert [i.source for i in items_of(chat, 1)] == ["post 2"]


async def test_an_item_is_one_line(chat: RecordingAdapter) -> None:
    await ask(chat, '!call schedule "Hello call" 29 Nov 2099 19:00 UTC')
    await ask(chat, "!agenda add Budget\n2. Fake second item")
    assert [i.text for i in items_of(chat, 1)] == ["Budget 2. Fake second item"]
