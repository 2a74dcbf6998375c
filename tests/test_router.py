"""The router: what is addressed to the bot, and which command it names."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.commands import CommandSpec, Registry, command, discover, specs_in
from bot.messages import Incoming, Place, Sender
from bot.router import Invocation, Router, Unknown
from handlers.calls import ScheduleArgs, parse_schedule_args


def _incoming(text: str, *, direct: bool = False) -> Incoming:
    return Incoming(
        platform="test", message_id="m1", sender=Sender(id="u1", name="ana"),
        place=Place(platform="test", channel_id="c1", is_direct=direct), text=text,
        received_at=datetime(2026, 11, 23, tzinfo=timezone.utc),
    )


@pytest.fixture(scope="module")
def router() -> Router:
    return Router(discover(), prefix="!", bot_names=("coopbot",))


def _route(router: Router, text: str, **kw: bool) -> Invocation:
    routed = router.route(_incoming(text, **kw))
    assert isinstance(routed, Invocation), routed
    return routed


def test_prefixed_command_is_routed_with_its_arguments(router: Router) -> None:
    inv = _route(router, "!time 7pm GMT on 29 Nov 2018")
    assert inv.spec.key == "time"
    assert inv.args == "7pm GMT on 29 Nov 2018"


def test_two_word_command_wins_over_its_group(router: Router) -> None:
    inv = _route(router, "!call schedule \"Hello\" tomorrow 16:00")
    assert inv.spec.key == "call.schedule"
    assert inv.args == '"Hello" tomorrow 16:00'


def test_spanish_name_routes_to_the_same_handler_and_tells_the_language(router: Router) -> None:
    english, spanish = _route(router, "!call list"), _route(router, "!llamada lista")
    assert english.spec is spanish.spec
    assert (english.lang, spanish.lang) == ("en", "es")


def test_a_name_shared_by_both_languages_does_not_pick_one(router: Router) -> None:
    assert _route(router, "!coops").lang is None


def test_mention_anywhere_addresses_the_bot(router: Router) -> None:
    assert _route(router, "hola @coopbot hora 16:00").spec.key == "time"
    assert _route(router, "@CoopBot: help").spec.key == "help"


def test_direct_message_needs_no_prefix(router: Router) -> None:
    assert _route(router, "tz", direct=True).spec.key == "tz"
    assert router.route(_incoming("tz")) is None


def test_plain_chatter_is_not_for_the_bot(router: Router) -> None:
    assert router.route(_incoming("see you at 7pm!")) is None
    assert router.route(_incoming("mail me at ana@coopbot.example")) is None


def test_unknown_command_suggests_the_closest_name(router: Router) -> None:
    routed = router.route(_incoming("!tmie 7pm"))
    assert routed == Unknown(word="tmie", suggestion="time", lang="en")
    assert router.route(_incoming("!llamda lista")) == Unknown(word="llamda", suggestion="llamada", lang="es")


def test_bare_prefix_means_help(router: Router) -> None:
    assert _route(router, "!").spec.key == "help"


def test_registry_refuses_a_name_taken_twice() -> None:
    @command("a", en="same", es="uno")
    def first(ctx: object) -> list[object]:
        return []

    @command("b", en="same", es="dos")
    def second(ctx: object) -> list[object]:
        return []

    specs = [first.__coopbot_command__, second.__coopbot_command__]  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="taken"):
        Registry(specs)


def test_registry_refuses_a_malformed_name() -> None:
    with pytest.raises(ValueError, match="bad en name"):
        Registry([CommandSpec(key="x", names={"en": ("Bad!",), "es": ("malo",)}, func=lambda ctx: [])])


@pytest.mark.parametrize("text", ["!decisiones más", "!decisiones mas", "!DECISIONES MÁS"])
def test_a_name_is_matched_with_or_without_its_accents(router: Router, text: str) -> None:
    routed = _route(router, text)
    assert (routed.spec.key, routed.lang, routed.args) == ("decision.more", "es", "")


def test_a_name_written_alike_in_both_languages_but_for_an_accent_tells_no_language(router: Router) -> None:
    for text in ("!decision 3", "!decisión 3", "!Decisión 3"):
        routed = _route(router, text)
        assert (routed.spec.key, routed.lang, routed.args) == ("decision", None, "3")


def test_two_names_that_differ_only_by_an_accent_are_one_name() -> None:
    @command("a", en="resume", es="uno")
    def first(ctx: object) -> list[object]:
        return []

    @command("b", en="résumé", es="dos")
    def second(ctx: object) -> list[object]:
        return []

    specs = [first.__coopbot_command__, second.__coopbot_command__]  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="'résumé' is taken"):
        Registry(specs)


def test_every_handler_module_registers_commands_with_both_languages() -> None:
    registry = discover()
    assert {"help", "time", "tz", "tz.set", "coops", "call.schedule", "call.list", "call.show",
            "call.move", "call.cancel", "language"} <= {s.key for s in registry.specs}
    for spec in registry.specs:
        assert set(spec.names) == {"en", "es"}
    assert "reminder" in registry.jobs


def test_specs_in_finds_only_tagged_functions() -> None:
    import handlers.time as module

    assert [s.key for s in specs_in(module)] == ["time"]


@given(st.text(max_size=200))
def test_routing_any_text_never_raises(text: str) -> None:
    router = Router(discover(), prefix="!", bot_names=("coopbot",))
    routed = router.route(_incoming(text, direct=True))
    assert routed is None or isinstance(routed, (Invocation, Unknown))


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=120))
def test_schedule_arguments_parse_or_refuse_without_raising(text: str) -> None:
    parsed = parse_schedule_args(text)
    assert parsed is None or (parsed.title and parsed.when)


def test_schedule_arguments_read_title_time_duration_and_coops() -> None:
    parsed = parse_schedule_args('"Hola CoTech" jueves 29 de noviembre a las 16 por 1 hora con CoTech y FACTTIC')
    assert parsed == ScheduleArgs(title="Hola CoTech", when="jueves 29 de noviembre a las 16",
                                  duration="1 hora", coops=("CoTech", "FACTTIC"))
    assert parse_schedule_args("“Council” 7pm GMT").title == "Council"  # type: ignore[union-attr]
    assert parse_schedule_args('"No time"') is None
