"""Typed command arguments: one declaration gives the parser, the usage, the example and the errors."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import pytest
import pytz
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.arguments import (
    CallRef,
    Members,
    NoArgs,
    Number,
    Param,
    Quorum,
    Quoted,
    Reading,
    Signature,
    Since,
    Tags,
    Text,
    Until,
    arg,
)
from bot.commands import CommandSpec, discover
from bot.errors import UsageError
from bot.i18n import Catalogue
from handlers.decisions import DecideArgs, EditArgs, ListArgs
from tests.test_zones import RESOLVER, zone

NOW = datetime(2026, 12, 6, 17, 0, tzinfo=timezone.utc)
CATALOGUE = Catalogue.load()
READING = Reading(now=NOW, zone=zone("Buenos Aires"), resolver=RESOLVER, catalogue=CATALOGUE)
DECLARED = [spec for spec in discover().specs if spec.signature is not None]


def parse(record: type[Any], line: str) -> Any:
    return Signature(record).parse(line, READING)


def error_of(record: type[Any], line: str) -> UsageError:
    with pytest.raises(UsageError) as caught:
        parse(record, line)
    return caught.value


# --- reading a line ------------------------------------------------------------------------

def test_a_call_before_the_text_and_tags_after_it() -> None:
    assert parse(DecideArgs, "#3 We adopt it #Hosting #infra") == DecideArgs(3, "We adopt it", ("hosting", "infra"))


def test_a_text_keeps_its_inner_spacing_and_lines_as_written() -> None:
    assert parse(DecideArgs, "  one\n  two   three  ").text == "one\n  two   three"


def test_a_call_number_or_a_tag_inside_the_text_stays_text() -> None:
    args = parse(DecideArgs, "We pay invoice #12 for #hosting today")
    assert args == DecideArgs(None, "We pay invoice #12 for #hosting today", ())


def test_a_number_after_the_text_is_text_not_a_call() -> None:
    assert parse(DecideArgs, "We pay invoice #12") == DecideArgs(None, "We pay invoice #12", ())


def test_a_malformed_tag_in_a_tags_place_is_refused_naming_it() -> None:
    err = error_of(DecideArgs, "We adopt it #2x")
    assert (err.key, err.params) == ("args.tag.bad", {"value": "#2x"})


@pytest.mark.parametrize("line", ["", "#3", "#budget", "#3 #budget"])
def test_a_decision_without_text_is_refused(line: str) -> None:
    assert error_of(DecideArgs, line).key == "args.text.missing"


def test_a_listing_takes_its_arguments_in_any_order_and_in_either_language() -> None:
    expected = ListArgs(datetime(2026, 12, 1, 3, 0, tzinfo=timezone.utc), ("budget",), 4)
    assert parse(ListArgs, "#4 since 1 Dec #budget") == expected
    assert parse(ListArgs, "#budget desde 1 de diciembre #4") == expected
    assert parse(ListArgs, "DESDE el 1 de diciembre #budget #4") == expected
    assert parse(ListArgs, "") == ListArgs(None, (), None)


@pytest.mark.parametrize(("line", "key", "value"), [
    ("since", "args.since.missing", "since"),
    ("since #budget", "args.since.missing", "since"),
    ("since yesterday since today", "args.unexpected", "since"),
    ("since the dawn of time", "args.since.bad", "the dawn of time"),
    ("#3 #4", "args.unexpected", "#4"),
    ("budget", "args.unexpected", "budget"),
    ("#hosting!", "args.tag.bad", "#hosting!"),
])
def test_a_listing_with_a_wrong_argument_says_which(line: str, key: str, value: str) -> None:
    err = error_of(ListArgs, line)
    assert err.key == key
    assert err.params.get("value", value) == value


def test_an_edit_takes_the_number_then_the_rest_as_text() -> None:
    assert parse(EditArgs, "12 7 apples #and more") == EditArgs(12, "7 apples #and more")
    assert error_of(EditArgs, "twelve apples").params == {"value": "twelve"}
    assert error_of(EditArgs, "12").key == "args.text.missing"
    assert error_of(EditArgs, "").key == "args.decision.missing"


def test_a_command_without_arguments_refuses_any() -> None:
    assert parse(NoArgs, "  ") == NoArgs()
    assert error_of(NoArgs, "please").params == {"value": "please"}


def test_a_declaration_with_two_texts_fails_when_it_is_made() -> None:
    @dataclass(frozen=True)
    class TwoTexts:
        first: str = arg(Text())
        second: str = arg(Text())

    with pytest.raises(TypeError, match="at most one Text"):
        Signature(TwoTexts)


# --- usage and examples --------------------------------------------------------------------

def _spec(key: str) -> CommandSpec:
    return next(spec for spec in DECLARED if spec.key == key)


@pytest.mark.parametrize(("lang", "usage"), [
    ("en", "decide [#<call>] <text> [#tag …]"),
    ("es", "decidir [#<llamada>] <texto> [#etiqueta …]"),
])
def test_the_usage_line_is_generated_in_each_language(lang: str, usage: str) -> None:
    assert _spec("decision.record").usage(CATALOGUE, lang) == usage


def test_a_listings_usage_names_its_keyword_in_the_language() -> None:
    assert _spec("decision.list").usage(CATALOGUE, "es") == "decisiones [desde <fecha>] [#etiqueta …] [#<llamada>]"


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("spec", DECLARED, ids=lambda spec: spec.key)
def test_every_generated_example_parses_and_reads_back_the_same(spec: CommandSpec, lang: str) -> None:
    assert spec.signature is not None
    example = spec.example(CATALOGUE, lang)
    line = example[len(spec.name(lang)):]
    values = spec.signature.parse(line, READING)
    assert spec.signature.parse(spec.signature.show(values, lang, READING), READING) == values


# --- the property: every declared command's arguments survive being written out -----------

_WORD = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Zs", "Zl", "Zp", "Cc")),
                min_size=1, max_size=8).filter(lambda w: not w.startswith("#") and w.strip() == w)
_DAYS = st.dates(min_value=date(2000, 1, 1), max_value=date(2026, 12, 6))


def _start_of(day: date) -> datetime:
    tz = READING.zone.tz
    return tz.normalize(tz.localize(datetime.combine(day, time()))).astimezone(pytz.utc)


def _values(param: Param[Any]) -> st.SearchStrategy[Any]:
    if isinstance(param, CallRef | Number):
        return st.integers(min_value=0, max_value=999_999_999)
    if isinstance(param, Tags):
        tag = st.from_regex(r"[a-zñé][a-z0-9ñ_-]{0,15}", fullmatch=True)
        return st.lists(tag, max_size=4).map(tuple)
    if isinstance(param, Text):
        return st.lists(_WORD, min_size=1, max_size=8).map(" ".join)
    if isinstance(param, Since):
        return _DAYS.map(_start_of)
    if isinstance(param, Quoted):  # any words, quotes inside included: the last quote closes it
        return st.lists(_WORD | st.sampled_from(['"', "“x”", "«y»"]), min_size=1, max_size=8).map(" ".join)
    if isinstance(param, Until):
        return st.integers(min_value=1, max_value=2 * 365 * 24 * 60).map(lambda m: NOW + timedelta(minutes=m))
    if isinstance(param, Quorum):
        return st.integers(min_value=1, max_value=999)
    if isinstance(param, Members):
        name = st.from_regex(r"[a-zñ][a-z0-9ñ._-]{0,15}", fullmatch=True).filter(
            lambda n: n not in {"all", "channel", "here", "everyone"} and not n.endswith("."))
        return st.lists(name, min_size=1, max_size=4, unique_by=str.casefold).map(tuple)
    raise AssertionError(f"no strategy for {type(param).__name__}: add one with the new kind")


@settings(max_examples=300, deadline=None)
@given(data=st.data(), lang=st.sampled_from(["en", "es"]))
def test_every_declared_commands_arguments_read_back_from_how_they_are_shown(data: st.DataObject, lang: str) -> None:
    spec = data.draw(st.sampled_from(DECLARED))
    signature = spec.signature
    assert signature is not None
    values = {}
    for name, param in signature.params:
        drawn = data.draw(_values(param))
        values[name] = drawn if not param.optional or data.draw(st.booleans()) else param.default
    record = signature.record(**values)
    line = signature.show(record, lang, READING)
    assert signature.parse(line, READING) == record, line


def test_every_declared_arguments_kind_has_its_texts() -> None:
    kinds = {param.kind for spec in DECLARED for _, param in spec.signature.params}  # type: ignore[union-attr]
    assert {"call", "tag", "text", "decision", "since"} <= kinds
    for kind in kinds:
        for part in ("usage", "missing", "bad", "example"):
            assert CATALOGUE.has(f"args.{kind}.{part}"), (kind, part)
