"""Consent proposals through the real bot process on the console: deadlines and reminders on the
wall clock, across a real restart. Deadlines are a few seconds ahead, written with seconds."""
from __future__ import annotations

import pathlib

from tests.auxil.console import ConsoleBot, write_config
from tests.auxil.deadlines import seconds_ahead, sleep_past, utc


def test_a_deadline_passed_while_the_bot_was_stopped_closes_the_proposal_once_on_start(
        tmp_path: pathlib.Path) -> None:
    config = write_config(tmp_path, settings={"remind_before": "0"})
    deadline = seconds_ahead(5)
    with ConsoleBot(config) as first:
        first.ask(f'!propose "We adopt the shared hosting plan" until {utc(deadline)}', r"Take a position[^\n]*\n")
        first.ask("!agree 1", r"👍 Proposal 1[^\n]*\n")
        first.kill()  # down before the deadline
    sleep_past(deadline)  # the deadline passes while no bot runs: nothing to wait on but the clock
    with ConsoleBot(config) as second:
        closed = second.expect(r"Recorded as decision \d+\.\n", timeout=15)
        assert "🗳️ Proposal 1 closed: ✅ consented\nWe adopt the shared hosting plan\n" in closed
        assert "- you: agrees" in closed
        listed = second.ask("!decisions #proposal", r"1\. [^\n]*\n")
        assert "1. Proposal 1, ✅ consented: We adopt the shared hosting plan" in listed
        assert "is closed: ✅ consented" in second.ask("!object 1 too late", r"change\.\n")
    with ConsoleBot(config) as third:  # closed once: nothing is announced or recorded again
        third.send("!decisions #proposal")
        rest = third.expect(r"1\. [^\n]*\n")
        assert "closed" not in rest
        assert "2." not in third.silent_for(0.5)


def test_the_reminder_and_the_deadline_come_on_time_while_the_bot_runs(tmp_path: pathlib.Path) -> None:
    config = write_config(tmp_path, settings={"remind_before": "3s"})
    deadline = seconds_ahead(6)
    with ConsoleBot(config) as bot:
        bot.ask(f'!propose "Monthly calls on Thursdays" until {utc(deadline)} quorum 2', r"Take a position[^\n]*\n")
        bot.ask("!abstain 1", r"🤐 Proposal 1[^\n]*\n")
        reminder = bot.expect(r"⏰[^\n]*\n.*?Take a position[^\n]*\n", timeout=15)
        assert "⏰ Proposal 1 closes in 1 minute: Monthly calls on Thursdays" in reminder
        assert "Positions so far: 1 (quorum 2)." in reminder
        closed = bot.expect(r"Recorded as decision \d+\.\n", timeout=15)
        assert "🗳️ Proposal 1 closed: ⏳ no quorum (1 of 2 positions)" in closed
        assert "⏰" not in bot.silent_for(0.5)


def test_a_facttic_member_proposes_in_spanish_and_bad_input_stores_nothing(tmp_path: pathlib.Path) -> None:
    with ConsoleBot(write_config(tmp_path)) as bot:
        past = bot.ask('!proponer "Sumarnos a la federación" hasta el 1 de enero de 2020', r"Ejemplo: [^\n]*\n")
        assert "ya pasó" in past and "Uso: !proponer" in past
        assert "no sirve como quórum" in bot.ask('!proponer "X" quorum 0', r"Ejemplo: [^\n]*\n")
        opened = bot.ask('!proponer "Sumarnos a la federación" hasta el 2099-01-05 18:00 UTC',
                         r"Tomá posición[^\n]*\n")
        # number 1: the refused ones stored nothing
        assert opened.lstrip().startswith("🗳️ Propuesta 1 de you: Sumarnos a la federación\nPlazo:\n")
        assert "lun 5 ene 2099" in opened
        assert "Falta el motivo" in bot.ask("!objeto 1", r"Ejemplo: [^\n]*\n")
        assert "Propuesta 1: you bloquea: No es el momento" in bot.ask(
            "!bloqueo 1 No es el momento", r"⛔[^\n]*\n")
        closed = bot.ask("!propuesta cerrar 1", r"Registrada como decisión \d+\.\n")
        assert "🗳️ Propuesta 1 cerrada: ⛔ bloqueada" in closed and "- you: bloquea: No es el momento" in closed
