"""Consent proposals in-process on the console adapter: user stories with an injected clock.

The bot's clock is the test's; APScheduler keeps the wall clock, so a story that
reaches a deadline or a reminder moves the clock there and runs the job, as the
scheduler would (``run_job``). The real deadline jobs, across a real restart,
are in test_console_e2e.
"""
from __future__ import annotations

import pathlib
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.storage import DecisionFilter, Outcome, Stance
from handlers.proposals import outcome_of
from tests.auxil.inprocess import START, app_of, at, clocked_chat
from tests.auxil.recording import RecordingAdapter, ask

DAY = timedelta(days=1)


@pytest.fixture
async def chat(tmp_path: pathlib.Path) -> AsyncIterator[RecordingAdapter]:
    async with clocked_chat(tmp_path) as adapter:
        yield adapter


async def deadline(chat: RecordingAdapter, proposal_id: int, when: timedelta = 7 * DAY) -> str:
    """Move the clock to the deadline and run its job; what the bot posted."""
    at(chat, START + when)
    posted = await app_of(chat).run_job("proposal.deadline", {"proposal_id": proposal_id})
    return "\n".join(item.text for item in posted)


async def remind(chat: RecordingAdapter, proposal_id: int, when: timedelta) -> str:
    at(chat, START + when)
    posted = await app_of(chat).run_job("proposal.reminder", {"proposal_id": proposal_id})
    return "\n".join(item.text for item in posted)


def decisions_tagged(chat: RecordingAdapter, tag: str) -> list[str]:
    with app_of(chat).store.unit() as unit:
        return [d.text for d in unit.decisions.page(DecisionFilter(tags=(tag,)), limit=100)]


def proposal_count(chat: RecordingAdapter) -> int:
    with app_of(chat).store.unit() as unit:
        return len(unit.proposals.still_open())


# --- the rules ------------------------------------------------------------------------------

@pytest.mark.parametrize(("stances", "quorum", "outcome"), [
    ([Stance.AGREE, Stance.OBJECT, Stance.BLOCK], 1, Outcome.BLOCKED),
    ([Stance.AGREE, Stance.OBJECT], 1, Outcome.OBJECTIONS),
    ([Stance.OBJECT], 5, Outcome.OBJECTIONS),  # objections are named before the quorum
    ([Stance.AGREE, Stance.ABSTAIN], 3, Outcome.NO_QUORUM),
    ([Stance.AGREE, Stance.ABSTAIN], 2, Outcome.CONSENTED),  # an abstention counts towards the quorum
    ([Stance.ABSTAIN], 1, Outcome.CONSENTED),
    ([], 1, Outcome.NO_QUORUM),
])
def test_the_outcome_rules_in_their_order(stances: list[Stance], quorum: int, outcome: Outcome) -> None:
    assert outcome_of(stances, quorum) is outcome


# --- stories ----------------------------------------------------------------------------------

async def test_a_proposal_from_opening_to_consent_with_an_objection_withdrawn(chat: RecordingAdapter) -> None:
    opened = await ask(chat, '!propose "We adopt the shared hosting plan" quorum 2 with @bo @carla')
    assert opened.startswith("🗳️ Proposal 1 by tester: We adopt the shared hosting plan\nDeadline:\n")
    for city in ("Buenos Aires", "London", "Berlin", "Ann Arbor"):
        assert city in opened
    assert "Quorum: 2 · Asked: @bo @carla" in opened
    assert "Take a position: !agree 1 · !abstain 1 · !object 1 <reason> · !block 1 <reason>" in opened

    at(chat, START + DAY)
    assert await ask(chat, "!object 1 It costs more than we have this year", sender="bo") == (
        "✋ Proposal 1: bo objects: It costs more than we have this year")
    at(chat, START + 2 * DAY)
    assert await ask(chat, "!agree 1 the budget was found", sender="bo") == (
        "👍 Proposal 1: bo agrees: the budget was found (before: objects: It costs more than we have this year)")
    assert await ask(chat, "!abstain 1", sender="carla") == "🤐 Proposal 1: carla abstains"

    shown = await ask(chat, "!proposal 1")
    assert "Positions (2):\n- bo: agrees: the budget was found (before: objects: It costs more" in shown
    assert "- carla: abstains" in shown and "Not answered" not in shown

    announced = await deadline(chat, 1)
    assert announced.startswith("🗳️ Proposal 1 closed: ✅ consented\nWe adopt the shared hosting plan\nPositions (2):")
    [recorded] = decisions_tagged(chat, "proposal")
    assert recorded == ("Proposal 1, ✅ consented: We adopt the shared hosting plan — "
                        "Positions: bo agrees: the budget was found; carla abstains")
    assert re.search(r"Recorded as decision 1\.$", announced)
    assert "Closed: ✅ consented (decision 1)" in await ask(chat, "!proposal 1")
    assert await ask(chat, "!object 1 too late", sender="carla") == (
        "Proposal 1 is closed: ✅ consented. Positions can no longer change.")
    assert await deadline(chat, 1, 8 * DAY) == ""  # the job again (a restart's rescan): nothing twice
    assert len(decisions_tagged(chat, "proposal")) == 1


async def test_a_position_after_the_deadline_waits_for_the_outcome_and_is_not_counted(
        chat: RecordingAdapter) -> None:
    await ask(chat, '!propose "One shared calendar"')
    at(chat, START + 7 * DAY)  # due, but its job has not run yet (the bot is starting, say)
    assert await ask(chat, "!block 1 Too late", sender="bo") == (
        "The deadline of proposal 1 has passed: its outcome is being recorded. See it with !proposal 1 in a moment.")
    assert (await deadline(chat, 1)).startswith("🗳️ Proposal 1 closed: ⏳ no quorum (0 of 1 positions)")


async def test_a_block_and_its_reason_are_in_the_recorded_outcome(chat: RecordingAdapter) -> None:
    await ask(chat, '!propose "We leave the hosting co-op" until 2099-01-05 12:00 UTC')
    await ask(chat, "!agree 1", sender="ana")
    assert await ask(chat, "!block 1 It breaks our self-hosting principle", sender="bo") == (
        "⛔ Proposal 1: bo blocks: It breaks our self-hosting principle")
    refused = await ask(chat, "!proposal close 1", sender="bo")
    assert refused == "Only tester, who made proposal 1, can close it before its deadline."
    closed = await ask(chat, "!proposal close 1")
    assert closed.startswith("🗳️ Proposal 1 closed: ⛔ blocked\nWe leave the hosting co-op\n")
    assert "- bo: blocks: It breaks our self-hosting principle" in closed
    [recorded] = decisions_tagged(chat, "proposal")
    assert "⛔ blocked" in recorded and "bo blocks: It breaks our self-hosting principle" in recorded
    with app_of(chat).store.unit() as unit:
        decision = unit.decisions.get(1)
        proposal = unit.proposals.get(1)
    assert decision is not None and proposal is not None
    assert proposal.decision_id == decision.id and proposal.closed_by == "tester"
    assert decision.created_by == "tester" and decision.tags == ("proposal",)
    assert await deadline(chat, 1) == ""  # closed by its author: the deadline finds nothing to do


async def test_too_few_positions_for_the_quorum_is_no_quorum(chat: RecordingAdapter) -> None:
    await ask(chat, '!propose "Monthly calls on Thursdays" quorum 3')
    await ask(chat, "!agree 1", sender="ana")
    await ask(chat, "!abstain 1", sender="bo")
    await ask(chat, "!agree 1", sender="ana")  # a new position, not a third member
    announced = await deadline(chat, 1)
    assert announced.startswith("🗳️ Proposal 1 closed: ⏳ no quorum (2 of 3 positions)")


async def test_a_standing_objection_means_not_consented(chat: RecordingAdapter) -> None:
    await ask(chat, '!propose "One shared calendar"')
    await ask(chat, "!agree 1", sender="ana")
    await ask(chat, "!object 1 Not before the migration", sender="bo")
    assert "✋ not consented: objections stand" in await deadline(chat, 1)


async def test_the_reminder_names_only_the_members_asked_who_have_not_answered(chat: RecordingAdapter) -> None:
    await ask(chat, '!propose "We adopt the shared hosting plan" with @bo @Carla @dan')
    await ask(chat, "!agree 1", sender="bo")
    await ask(chat, "!abstain 1", sender="carla")  # usernames match ignoring case
    reminder = await remind(chat, 1, 6 * DAY)
    assert reminder.startswith("⏰ Proposal 1 closes in 1 day: We adopt the shared hosting plan\n")
    assert "Not answered yet: @dan\n" in reminder
    assert "@bo" not in reminder and "@Carla" not in reminder
    assert await remind(chat, 1, 6 * DAY) == ""  # once


async def test_no_reminder_when_everyone_asked_has_answered(chat: RecordingAdapter) -> None:
    await ask(chat, '!propose "We adopt the shared hosting plan" with @bo')
    await ask(chat, "!object 1 Too soon", sender="bo")
    assert await remind(chat, 1, 6 * DAY) == ""


async def test_without_members_asked_the_reminder_counts_positions_and_names_no_one(
        chat: RecordingAdapter) -> None:
    await ask(chat, '!propose "We adopt the shared hosting plan" quorum 4')
    await ask(chat, "!agree 1", sender="bo")
    reminder = await remind(chat, 1, 6 * DAY)
    assert "Positions so far: 1 (quorum 4)." in reminder and "@" not in reminder


async def test_the_reminder_is_planned_remind_before_the_deadline_or_not_at_all(tmp_path: pathlib.Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    async with clocked_chat(tmp_path / "a", remind_before="2h") as chat:
        await ask(chat, '!propose "A" until 2099-01-05 12:00 UTC')
        await ask(chat, '!propose "B" until 2099-01-05 12:00 UTC')
        with app_of(chat).store.unit() as unit:
            reminders = [p.remind_at for p in unit.proposals.still_open()]
        assert {r.isoformat() if r else None for r in reminders} == {"2099-01-05T10:00:00+00:00"}
    async with clocked_chat(tmp_path / "b", remind_before="0") as chat:
        await ask(chat, '!propose "C"')
        with app_of(chat).store.unit() as unit:
            assert [p.remind_at for p in unit.proposals.still_open()] == [None]
        jobs = {job for job, _ in app_of(chat).scheduler.jobs()}
        assert "proposal-deadline:1" in jobs and "proposal-reminder:1" not in jobs


@pytest.mark.parametrize(("line", "complaint"), [
    ('!propose "X" until 1 Jan 2020', "“1 Jan 2020” has already passed: a deadline must be ahead."),
    ('!propose "X" until yesterday', "has already passed"),
    ('!propose "X" until whenever', "I could not read “whenever” as a deadline"),
    ('!propose "X" quorum 0', "“0” is not a quorum: give a whole number, 1 or more."),
    ('!propose "X" quorum many', "“many” is not a quorum"),
    ('!propose "X" with @all', "“@\u200ball” is not a member"),
    ('!propose "X" with', "With whom?"),
    ("!propose We adopt it", "Write the proposal in quotes"),
    ('!propose "We adopt it', "Write the proposal in quotes"),
    ('!propose ""', "What do you propose?"),
    ("!propose", "What do you propose?"),
    ("!agree 7", "There is no proposal 7."),
    ("!agree one", "“one” is not a proposal number"),
    ("!object 1", "The reason is missing: an objection or a block needs its reason."),
    ("!block 1", "The reason is missing"),
    ("!proposal close 9", "There is no proposal 9."),
])
async def test_bad_input_gets_the_usage_with_an_example_and_stores_nothing(
        chat: RecordingAdapter, line: str, complaint: str) -> None:
    if not line.startswith("!propose"):
        await ask(chat, '!propose "Seed"')
    before = proposal_count(chat)
    with app_of(chat).store.unit() as unit:
        positions_before = unit.proposals.positions(1)
    answer = await ask(chat, line)
    assert complaint in answer
    assert "Usage: !" in answer and "Example: !" in answer
    assert proposal_count(chat) == before
    with app_of(chat).store.unit() as unit:
        assert unit.proposals.positions(1) == positions_before


async def test_mass_mentions_in_a_proposal_or_a_reason_are_not_echoed(chat: RecordingAdapter) -> None:
    opened = await ask(chat, '!propose "@channel we adopt it"')
    assert "@channel" not in opened and "@\u200bchannel we adopt it" in opened
    objected = await ask(chat, "!object 1 @here this is rushed", sender="bo")
    assert "@here" not in objected
    assert "@here" not in await deadline(chat, 1)


async def test_a_facttic_member_proposes_and_decides_in_spanish(chat: RecordingAdapter) -> None:
    opened = await ask(chat, '!proponer "Adoptamos el plan de hosting compartido" hasta 2099-01-05 18:00 UTC '
                             "quórum 2 con @beto y @carla")
    assert opened.startswith("🗳️ Propuesta 1 de tester: Adoptamos el plan de hosting compartido\nPlazo:\n")
    assert "lun 5 ene 2099" in opened  # Spanish weekday and month names in every coop's zone
    assert "Quórum: 2 · Consultados: @beto @carla" in opened
    assert "Tomá posición: !deacuerdo 1 · !abstengo 1 · !objeto 1 <motivo> · !bloqueo 1 <motivo>" in opened
    assert await ask(chat, "!objeto 1 Es caro", sender="beto") == "✋ Propuesta 1: beto objeta: Es caro"
    assert await ask(chat, "!deacuerdo 1", sender="beto") == (
        "👍 Propuesta 1: beto está de acuerdo (antes: objeta: Es caro)")
    assert "Falta el motivo" in await ask(chat, "!bloqueo 1", sender="carla")
    shown = await ask(chat, "!propuesta 1")
    assert "Posiciones (1):" in shown and "Todavía sin responder: carla" in shown
    await ask(chat, "!abstengo 1", sender="carla")
    closed = await ask(chat, "!propuesta cerrar 1")
    assert closed.startswith("🗳️ Propuesta 1 cerrada: ✅ consentida\n")
    assert closed.endswith("Registrada como decisión 1.")
    assert decisions_tagged(chat, "proposal") == [
        "Propuesta 1, ✅ consentida: Adoptamos el plan de hosting compartido — "
        "Posiciones: beto está de acuerdo; carla se abstiene"]
    assert await ask(chat, "!deacuerdo 1", sender="carla") == (
        "La propuesta 1 está cerrada: ✅ consentida. Las posiciones ya no pueden cambiar.")
