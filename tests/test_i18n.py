"""The catalogues: both languages say everything, and no user-facing text escapes them."""
from __future__ import annotations

import ast
import pathlib
import re
import string

import pytest

from bot.commands import discover
from bot.i18n import Catalogue, format_minutes

ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.load()


def test_spanish_and_english_have_the_same_keys(catalogue: Catalogue) -> None:
    assert catalogue.keys("es") == catalogue.keys("en")


def test_translations_use_the_same_placeholders(catalogue: Catalogue) -> None:
    fields = lambda text: {f for _, f, _, _ in string.Formatter().parse(text) if f}  # noqa: E731
    for key in catalogue.keys("en"):
        assert fields(catalogue.t("en", key)) == fields(catalogue.t("es", key)), key


def test_every_command_has_usage_help_and_example(catalogue: Catalogue) -> None:
    for spec in discover().specs:
        declared = ("help",) if spec.signature else ("usage", "help", "example")  # the rest is generated
        for part in declared:
            assert catalogue.has(f"commands.{spec.key}.{part}"), (spec.key, part)


def test_usage_and_example_start_with_the_command_name_in_its_language(catalogue: Catalogue) -> None:
    for spec in discover().specs:
        for lang in ("en", "es"):
            assert spec.usage(catalogue, lang).startswith(spec.name(lang)), (spec.key, lang)
            assert spec.example(catalogue, lang).startswith(spec.name(lang)), (spec.key, lang)


_KEY = re.compile(r"^[a-z_]+(\.[a-z_]+)+$")
_KEY_SECTIONS = ("errors.", "time.", "help.", "tz.", "language.", "coops.", "calls.", "agenda.", "decisions.", "args.")


def _catalogue_keys_used_in(path: pathlib.Path) -> set[str]:
    """Every string literal shaped like a catalogue key (``calls.scheduled``), wherever it appears."""
    return {node.value for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and _KEY.match(node.value)
            and node.value.startswith(_KEY_SECTIONS)}


def test_every_key_the_code_uses_exists(catalogue: Catalogue) -> None:
    paths = sorted((ROOT / "handlers").glob("*.py")) + sorted((ROOT / "bot").glob("*.py"))
    used = {(path.name, key) for path in paths for key in _catalogue_keys_used_in(path)}
    assert used, "the scan found no keys at all"
    commands = {spec.key for spec in discover().specs}  # "tz.set" names a command, not a message
    missing = [f"{name}: {key}" for name, key in sorted(used) if not catalogue.has(key) and key not in commands]
    assert not missing


_PROSE = re.compile(r"[A-Za-zÁÉÍÓÚáéíóúñ]{3,}\s+[A-Za-zÁÉÍÓÚáéíóúñ]{2,}\s+[A-Za-zÁÉÍÓÚáéíóúñ]{2,}")


def test_no_user_facing_sentence_is_hard_coded_in_handlers() -> None:
    """Handlers pass catalogue keys; a literal sentence of prose in a handler would escape translation."""
    for path in sorted((ROOT / "handlers").glob("*.py")):
        tree = ast.parse(path.read_text())
        docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                      if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef)) and n.body
                      and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                assert not _PROSE.search(node.value), f"{path.name}: {node.value!r}"


@pytest.mark.parametrize(("minutes", "lang", "words"), [
    (15, "en", "15 minutes"), (15, "es", "15 minutos"), (90, "en", "1 hour 30 minutes"),
    (1440, "es", "1 día"), (1500, "en", "1 day 1 hour"),
])
def test_spans_are_written_in_the_readers_language(minutes: int, lang: str, words: str) -> None:
    assert format_minutes(minutes, lang) == words
