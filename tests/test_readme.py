"""The README is the user's guide: its commands table names every command in both languages."""
from __future__ import annotations

from bot.commands import discover
from bot.zones import fold
from tests.auxil.console import ROOT


def test_the_commands_table_names_every_command_in_english_and_spanish() -> None:
    readme = fold((ROOT / "README.md").read_text())  # "!decisión" is the command "decision"
    table = readme.split("## commands", 1)[1].split("\n## ", 1)[0]
    missing = [f"!{spec.name(lang)}" for spec in discover().specs for lang in ("en", "es")
               if f"`!{fold(spec.name(lang))}" not in table]
    assert not missing, f"add these to the README's commands table: {missing}"
