"""End to end: the real bot process on the console adapter with a real SQLite file."""
from __future__ import annotations

import pathlib
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from tests.auxil.console import ConsoleBot, write_config
from tests.auxil.deadlines import sleep_past


@pytest.fixture
def bot(tmp_path: pathlib.Path) -> Iterator[ConsoleBot]:
    with ConsoleBot(write_config(tmp_path)) as running:
        yield running


def test_cotech_call_time_is_shown_in_every_coops_zone(bot: ConsoleBot) -> None:
    out = bot.ask("!time 7pm GMT on 29 Nov 2018", r"Berlin[^\n]*\n")
    assert "16:00" in out and "Buenos Aires" in out and "UTC−3" in out
    assert "19:00" in out and "London" in out
    assert "20:00" in out and "UTC+1" in out


def test_help_is_generated_and_explains_one_command(bot: ConsoleBot) -> None:
    listing = bot.ask("!help", r"help <command>[^\n]*\n")
    for name in ("!time", "!tz set", "!coops", "!call schedule", "!call cancel"):
        assert name in listing
    detail = bot.ask("!help call schedule", r"Example: [^\n]*\n")
    assert '!call schedule "<title>"' in detail


def test_a_wrong_command_gets_an_error_and_the_bot_keeps_going(bot: ConsoleBot) -> None:
    assert "Did you mean !time?" in bot.ask("!tiem 7pm", r"Try !help\.")
    out = bot.ask("!call schedule tomorrow", r"Example: [^\n]*\n")
    assert "Usage: !call schedule" in out
    assert "Now:" in bot.ask("!time", r"Berlin[^\n]*\n")


def test_spanish_speaker_gets_spanish_answers(bot: ConsoleBot) -> None:
    out = bot.ask("!hora jueves 29 de noviembre de 2018 a las 19 GMT", r"Berlín|Berlin[^\n]*\n")
    assert "jue" in out and "16:00" in out
    assert "¿Quisiste decir" in bot.ask("!llamda lista", r"Probá !ayuda\.")


def test_member_sets_their_zone_and_times_are_read_in_it(bot: ConsoleBot) -> None:
    assert "Buenos Aires" in bot.ask("!tz set Buenos Aires", r"Saved[^\n]*\n")
    assert "as you set it" in bot.ask("!tz", r"Change it[^\n]*\n")
    out = bot.ask("!time 16:00 on 29 Nov 2018", r"Berlin[^\n]*\n")
    assert "19:00" in out  # 16:00 in Buenos Aires is 19:00 in London


def test_a_call_is_scheduled_listed_moved_and_cancelled(bot: ConsoleBot) -> None:
    out = bot.ask('!call schedule "CoTech × FACTTIC hello" 7pm GMT on 29 Nov 2030 for 1h with CoTech, FACTTIC',
                  r"📅 Call #1.*?\n\n")
    assert "Reminders: 1 day, 15 minutes before" in out
    assert "16:00" in out and "19:00" in out
    assert "#1 CoTech × FACTTIC hello" in bot.ask("!call list", r"#1 [^\n]*\n")
    moved = bot.ask("!call move 1 20:00 GMT on 29 Nov 2030", r"moved to:.*?\n\n")
    assert "17:00" in moved
    assert "is cancelled" in bot.ask("!call cancel 1", r"cancelled[^\n]*\n")
    assert "No calls are scheduled." in bot.ask("!call list", r"scheduled\.\n")


def test_scheduling_in_the_past_is_refused(bot: ConsoleBot) -> None:
    out = bot.ask('!call schedule "Too late" 7pm GMT on 29 Nov 2018', r"Example: [^\n]*\n")
    assert "already passed" in out


def _utc_phrase(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC")


def test_a_reminder_due_while_the_bot_was_down_fires_once_after_restart(tmp_path: pathlib.Path) -> None:
    config = write_config(tmp_path, offsets=("1m",))
    starts = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=64)
    with ConsoleBot(config) as first:
        first.ask(f'!call schedule "Council" {_utc_phrase(starts)}', r"📅 Call #1[^\n]*\n")
        first.kill()  # down before the reminder is due (in ~4 s)
    due = starts - timedelta(minutes=1)
    sleep_past(due)  # wall-clock time must pass while no bot runs: nothing to wait on but the clock
    with ConsoleBot(config) as second:
        assert "⏰ Reminder: call #1 “Council”" in second.expect(r"⏰[^\n]*\n", timeout=15)
        second.send("!call list")
        rest = second.expect(r"#1 Council[^\n]*\n")
        assert "⏰" not in rest
    with ConsoleBot(config) as third:
        third.send("!coops")
        assert "⏰" not in third.expect(r"IT-Kollektiv[^\n]*\n")


def test_a_weekday_that_contradicts_the_date_is_named_not_guessed(bot: ConsoleBot) -> None:
    out = bot.ask("!time Friday 29 Nov 2018 7pm GMT", r"Example: [^\n]*\n")
    assert "does not fall on that date" in out
    out = bot.ask('!call schedule "X" 7pm GMT on 29 Nov 2030 for forever', r"Example: [^\n]*\n")
    assert "length of time" in out


def test_clock_changes_are_reported_with_both_readings(bot: ConsoleBot) -> None:
    twice = bot.ask("!time 01:30 on 25 Oct 2026 London", r"happens twice.*?Reading 2:.*?Ann Arbor[^\n]*\n")
    assert "01:30  UTC+1" in twice and "01:30  UTC+0" in twice  # London's two readings
    gap = bot.ask("!time 01:30 on 29 Mar 2026 London", r"does not exist.*?Reading 2:.*?Ann Arbor[^\n]*\n")
    assert "00:30  UTC+0" in gap and "02:30  UTC+1" in gap  # 01:30 read with the offset before and after


def test_a_facttic_member_works_entirely_in_spanish(bot: ConsoleBot) -> None:
    assert "hora de Argentina" not in bot.ask("!zona fijar hora de Argentina", r"Listo[^\n]*\n")
    assert "según" not in bot.ask("!zona", r"Cambiala[^\n]*\n")
    out = bot.ask('!llamada agendar "Saludo a CoTech" 29/11/2030 a las 16 por 1 hora con CoTech, FACTTIC',
                  r"📅 Llamada #1.*?\n\n")
    assert "Recordatorios: 1 día, 15 minutos antes." in out
    assert "vie 29 nov 2030" in out and "19:00" in out and "16:00" in out
    assert "#1 Saludo a CoTech" in bot.ask("!llamada lista", r"#1 [^\n]*\n")
    assert "pasó a" in bot.ask("!llamada mover 1 30/11/2030 a las 7 de la tarde", r"pasó a:.*?\n\n")
    assert "cancelada" in bot.ask("!llamada cancelar 1", r"cancelada[^\n]*\n")
    usage = bot.ask("!llamada agendar mañana", r"Ejemplo: [^\n]*\n")
    assert "Uso: !llamada agendar" in usage
    assert "!zona fijar" in bot.ask("!ayuda", r"Escribí !ayuda[^\n]*\n")


def test_a_time_is_converted_to_the_zone_asked_for_first(bot: ConsoleBot) -> None:
    out = bot.ask("!time 7pm GMT on 29 Nov 2018 in Pacific/Auckland", r"GMT  [^\n]*\n")
    first_row = out.split("is:\n", 1)[1].splitlines()[0]
    assert "Auckland" in first_row and "Fri 30 Nov 2018  08:00  UTC+13" in first_row
    assert "16:00  UTC−3" in out and "Buenos Aires" in out  # then every coop's zone, as always
    es = bot.ask("!hora 12:00 Asia/Kathmandu el 1/12/2026 en UTC", r"es:\n(?:  [^\n]*\n){6}")
    rows = es.split("es:\n", 1)[1].splitlines()
    assert re.fullmatch(r"  UTC +mar 1 dic 2026  06:15  UTC\+0", rows[0])
    assert "12:00  UTC+5:45" in rows[-1] and "Kathmandu" in rows[-1]
    unknown = bot.ask("!time 7pm GMT in Aukland", r"Example: [^\n]*\n")
    assert "Did you mean Auckland" in unknown and "Usage: !time" in unknown


def test_a_decision_is_recorded_for_a_call_found_by_tag_and_call_and_kept_across_a_restart(
        tmp_path: pathlib.Path) -> None:
    config = write_config(tmp_path)
    with ConsoleBot(config) as bot:
        bot.ask('!call schedule "Council" 7pm GMT on 29 Nov 2030', r"📅 Call #1.*?\n\n")
        assert "✅ Decision 1 recorded (call #1 · #hosting): We share hosting" in bot.ask(
            "!decide #1 We share hosting #hosting", r"✅ Decision 1[^\n]*\n")
        bot.ask("!decision edit 1 We share hosting from March", r"edited[^\n]*\n")
    with ConsoleBot(config) as bot:  # the log lives in the database, not in the process
        assert "1. We share hosting from March — " in bot.ask("!decisions #hosting", r"1\. [^\n]*\n")
        assert "1. We share hosting from March" in bot.ask("!decisions #1", r"1\. [^\n]*\n")
        shown = bot.ask("!decision 1", r"v2 [^\n]*\n")
        assert "v1 " in shown and "recorded: We share hosting" in shown


def test_a_facttic_member_records_and_finds_decisions_in_spanish(bot: ConsoleBot) -> None:
    assert "Decisión 1 registrada (#presupuesto)" in bot.ask(
        "!decidir Aprobamos el presupuesto 2027 #presupuesto", r"✅ Decisión 1[^\n]*\n")
    listed = bot.ask("!decisiones desde el 1 de enero #presupuesto", r"1\. [^\n]*\n")
    assert "1. Aprobamos el presupuesto 2027 — " in listed
    assert "no es una etiqueta" in bot.ask("!decidir Otra cosa #2x", r"Ejemplo: [^\n]*\n")
