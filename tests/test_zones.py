"""Zones as members write them: names, abbreviations, offsets, coops, Spanish phrases."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import pytz
from hypothesis import given
from hypothesis import strategies as st

from bot.errors import ConfigError
from bot.zones import CoopZone, ResolvedZone, ZoneResolver, utc_offset_label

# The coops of config/defaults.yaml; the other time-engine tests import these.
COOPS = (
    CoopZone("FACTTIC", "America/Argentina/Buenos_Aires", "Buenos Aires", ("Federación", "AR")),
    CoopZone("CoTech", "Europe/London", "London", ("Co-operative Technologists", "UK")),
    CoopZone("IT-Kollektiv", "Europe/Berlin", "Berlin", ("ITK", "DE")),
    CoopZone("Sassafras", "America/Detroit", "Ann Arbor", ("Sassafras Tech Collective", "US")),
)
RESOLVER = ZoneResolver(COOPS)


def zone(text: str) -> ResolvedZone:
    """A zone the tests know resolves."""
    resolved = RESOLVER.resolve(text)
    assert resolved is not None, text
    return resolved


def offset_at(resolved: ResolvedZone, at: datetime) -> timedelta:
    return at.astimezone(resolved.tz).utcoffset() or timedelta(0)


WINTER = datetime(2018, 11, 29, 19, tzinfo=timezone.utc)
SUMMER = datetime(2018, 7, 1, 12, tzinfo=timezone.utc)


@pytest.mark.parametrize(("text", "iana", "label"), [
    ("America/Argentina/Buenos_Aires", "America/Argentina/Buenos_Aires", "Buenos Aires"),
    ("europe/london", "Europe/London", "London"),
    ("EUROPE/BERLIN", "Europe/Berlin", "Berlin"),
    ("America/Asuncion", "America/Asuncion", "Asunción"),
    ("America/Sao_Paulo", "America/Sao_Paulo", "São Paulo"),
    ("Asia/Kathmandu", "Asia/Kathmandu", "Kathmandu"),
    ("FACTTIC", "America/Argentina/Buenos_Aires", "Buenos Aires"),
    ("facttic time", "America/Argentina/Buenos_Aires", "Buenos Aires"),
    ("Federacion", "America/Argentina/Buenos_Aires", "Buenos Aires"),
    ("CoTech", "Europe/London", "London"),
    ("it-kollektiv", "Europe/Berlin", "Berlin"),
    ("Sassafras Tech Collective", "America/Detroit", "Ann Arbor"),
    ("Ann Arbor", "America/Detroit", "Ann Arbor"),
    ("London", "Europe/London", "London"),
    ("Londres", "Europe/London", "Londres"),
    ("hora de Londres", "Europe/London", "Londres"),
    ("London time", "Europe/London", "London"),
    ("time in London", "Europe/London", "London"),
    ("Berlín", "Europe/Berlin", "Berlin"),
    ("Alemania", "Europe/Berlin", "Alemania"),
    ("horario de Buenos Aires", "America/Argentina/Buenos_Aires", "Buenos Aires"),
    ("hora de Argentina", "America/Argentina/Buenos_Aires", "Argentina"),
    ("hora argentina", "America/Argentina/Buenos_Aires", "Argentina"),
    ("Nueva York", "America/New_York", "Nueva York"),
    ("ciudad de méxico", "America/Mexico_City", "Ciudad de México"),
    ("CIUDAD DE MEXICO", "America/Mexico_City", "Ciudad de México"),
    ("París", "Europe/Paris", "Paris"),
    ("Madrid", "Europe/Madrid", "Madrid"),
    ("España", "Europe/Madrid", "España"),
    ("Reino Unido", "Europe/London", "Reino Unido"),
    ("Inglaterra", "Europe/London", "Inglaterra"),
    ("Montevideo", "America/Montevideo", "Montevideo"),
    ("Uruguay", "America/Montevideo", "Uruguay"),
    ("Santiago", "America/Santiago", "Santiago"),
    ("Chile", "America/Santiago", "Chile"),
    ("asuncion", "America/Asuncion", "Asunción"),
    ("Paraguay", "America/Asuncion", "Paraguay"),
    ("São Paulo", "America/Sao_Paulo", "São Paulo"),
    ("Auckland", "Pacific/Auckland", "Auckland"),
    ("Nueva Zelanda", "Pacific/Auckland", "Nueva Zelanda"),
    ("Kolkata", "Asia/Kolkata", "Kolkata"),
    ("Delhi", "Asia/Kolkata", "Delhi"),
    ("India", "Asia/Kolkata", "India"),
    ("Katmandú", "Asia/Kathmandu", "Katmandú"),
    ("Nepal", "Asia/Kathmandu", "Nepal"),
    ("ET", "America/New_York", "New York"),
    ("PT", "America/Los_Angeles", "Los Angeles"),
])
def test_member_names_a_place_and_gets_its_zone(text: str, iana: str, label: str) -> None:
    resolved = zone(text)
    assert resolved.tz is pytz.timezone(iana)
    assert resolved.label == label


@pytest.mark.parametrize(("text", "minutes", "label"), [
    ("GMT", 0, "GMT"), ("UTC", 0, "UTC"), ("Z", 0, "UTC"), ("BST", 60, "BST"), ("CET", 60, "CET"),
    ("CEST", 120, "CEST"), ("WET", 0, "WET"), ("WEST", 60, "WEST"), ("EET", 120, "EET"), ("EEST", 180, "EEST"),
    ("ART", -180, "ART"), ("BRT", -180, "BRT"), ("CLT", -240, "CLT"), ("CLST", -180, "CLST"),
    ("EST", -300, "EST"), ("EDT", -240, "EDT"), ("CST", -360, "CST"), ("CDT", -300, "CDT"),
    ("MST", -420, "MST"), ("MDT", -360, "MDT"), ("PST", -480, "PST"), ("PDT", -420, "PDT"),
    ("IST", 330, "IST"), ("NPT", 345, "NPT"), ("NZST", 720, "NZST"), ("NZDT", 780, "NZDT"),
    ("AEST", 600, "AEST"), ("AEDT", 660, "AEDT"), ("JST", 540, "JST"), ("cest", 120, "CEST"),
])
def test_abbreviations_are_fixed_offsets_whatever_the_season(text: str, minutes: int, label: str) -> None:
    resolved = zone(text)
    assert resolved.label == label
    assert offset_at(resolved, WINTER) == offset_at(resolved, SUMMER) == timedelta(minutes=minutes)


@pytest.mark.parametrize(("text", "minutes", "label"), [
    ("GMT-3", -180, "UTC−3"),
    ("GMT+3", 180, "UTC+3"),
    ("gmt -3", -180, "UTC−3"),
    ("UTC−3", -180, "UTC−3"),
    ("UTC+05:30", 330, "UTC+5:30"),
    ("UTC+5:45", 345, "UTC+5:45"),
    ("utc-03", -180, "UTC−3"),
    ("-03:00", -180, "UTC−3"),
    ("−03:00", -180, "UTC−3"),
    ("+0530", 330, "UTC+5:30"),
    ("UTC+0", 0, "UTC+0"),
    ("GMT+14", 840, "UTC+14"),
    ("UTC-12", -720, "UTC−12"),
])
def test_written_offsets_keep_their_sign(text: str, minutes: int, label: str) -> None:
    resolved = zone(text)
    assert resolved.label == label
    assert offset_at(resolved, WINTER) == timedelta(minutes=minutes)


def test_gmt_minus_3_is_three_hours_behind_utc_unlike_posix_etc_gmt_minus_3() -> None:
    ours = zone("GMT-3")
    posix = pytz.timezone("Etc/GMT-3")  # POSIX sign: this one is UTC+3
    assert WINTER.astimezone(ours.tz).hour == 16
    assert WINTER.astimezone(posix).hour == 22
    assert RESOLVER.resolve("Etc/GMT-3") is None  # nobody who types it means UTC+3
    assert RESOLVER.resolve("Etc/GMT+3") is None


def test_generic_eastern_time_follows_dst_but_est_does_not() -> None:
    assert offset_at(zone("ET"), WINTER) == timedelta(hours=-5)
    assert offset_at(zone("ET"), SUMMER) == timedelta(hours=-4)
    assert offset_at(zone("EST"), SUMMER) == timedelta(hours=-5)


def test_coop_names_win_over_the_built_in_table() -> None:
    assert zone("US").tz is pytz.timezone("America/Detroit")
    assert zone("UK").label == "London"


@pytest.mark.parametrize("text", [
    "", "   ", "Narnia", "Etc/GMT-3", "Europe/Narnia", "UTC+15", "GMT+5:60", "-3", "+3", "2 London",
    "London Berlin", "hora de Narnia", "horario", "time", "Córdoba", "Valencia", "USA",
])
def test_unknown_or_ambiguous_places_resolve_to_nothing(text: str) -> None:
    assert RESOLVER.resolve(text) is None


def test_a_coop_with_an_unknown_zone_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as raised:
        ZoneResolver([CoopZone("Nowhere", "Mars/Olympus_Mons", "Olympus")])
    assert "Nowhere" in raised.value.problems[0]


def test_a_coop_may_be_configured_with_an_offset() -> None:
    resolver = ZoneResolver([CoopZone("Fixed", "GMT-3", "Somewhere")])
    resolved = resolver.resolve("fixed")
    assert resolved is not None and resolved.label == "Somewhere"
    assert offset_at(resolved, WINTER) == timedelta(hours=-3)


@pytest.mark.parametrize(("at", "iana", "label"), [
    (WINTER, "Europe/London", "UTC+0"),
    (SUMMER, "Europe/London", "UTC+1"),
    (WINTER, "America/Argentina/Buenos_Aires", "UTC\u22123"),
    (WINTER, "Asia/Kolkata", "UTC+5:30"),
    (WINTER, "Asia/Kathmandu", "UTC+5:45"),
    (WINTER, "America/St_Johns", "UTC\u22123:30"),
    (SUMMER, "America/St_Johns", "UTC\u22122:30"),
    (WINTER, "Pacific/Auckland", "UTC+13"),
])
def test_offset_labels_use_a_real_minus_and_show_odd_minutes(at: datetime, iana: str, label: str) -> None:
    assert utc_offset_label(at, pytz.timezone(iana)) == label


@given(
    sign=st.sampled_from(["+", "-", "\u2212"]),
    hours=st.integers(0, 14),
    minutes=st.sampled_from([0, 15, 30, 45]),
    shape=st.sampled_from(["GMT{s}{h}:{m:02d}", "UTC{s}{h:02d}:{m:02d}", "{s}{h:02d}{m:02d}", "{s}{h:02d}:{m:02d}",
                           "utc {s}{h}{m:02d}"]),
)
def test_any_written_offset_resolves_to_that_offset(sign: str, hours: int, minutes: int, shape: str) -> None:
    total = hours * 60 + minutes
    if total > 14 * 60:
        return
    resolved = zone(shape.format(s=sign, h=hours, m=minutes))
    expected = -total if sign != "+" else total
    assert offset_at(resolved, WINTER) == timedelta(minutes=expected)
    assert zone(resolved.label).tz is resolved.tz  # "UTC−3:30" reads back


@given(st.text(max_size=60))
def test_resolving_any_text_never_raises(text: str) -> None:
    resolved = RESOLVER.resolve(text)
    assert resolved is None or isinstance(resolved, ResolvedZone)


def test_a_phrase_resolved_again_is_remembered_and_the_memory_is_bounded() -> None:
    resolver = ZoneResolver(COOPS, remembered=3)
    first = resolver.resolve("America/Argentina/Buenos_Aires")
    assert first is not None and resolver.resolve("America/Argentina/Buenos_Aires") is first
    assert resolver.resolve("Atlantis") is None and resolver.resolve("Atlantis") is None
    for n in range(10):
        assert resolver.resolve(f"UTC+{n}") == zone(f"UTC+{n}")
        assert len(resolver._resolved) <= 3
