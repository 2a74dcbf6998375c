"""A time converted to a zone: "7pm GMT in Pacific/Auckland", "9:00 Pacific/Auckland en UTC"."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.errors import AmbiguousTimeError, NonExistentTimeError, UsageError
from bot.timeparse import Conversion, parse_conversion
from tests.test_zones import RESOLVER, zone

# Sunday 1 March 2026, 12:00 UTC: 01:00 on Monday in Auckland (NZDT, UTC+13).
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def convert(text: str, sender: str = "Berlin", now: datetime = NOW) -> Conversion:
    return parse_conversion(text, now=now, zone=zone(sender), resolver=RESOLVER)


def local(conversion: Conversion) -> datetime:
    assert conversion.target is not None
    return conversion.when.at.astimezone(conversion.target.tz)


@pytest.mark.parametrize(("text", "target", "at_utc", "offset_hours"), [
    # NZDT (UTC+13) in March, NZST (UTC+12) in July: the target's own offset that day.
    ("7pm GMT in Pacific/Auckland", "Auckland", "2026-03-01 19:00", 13),
    ("7pm GMT on 1 Jul 2026 in Pacific/Auckland", "Auckland", "2026-07-01 19:00", 12),
    ("9:00 Pacific/Auckland in UTC", "UTC", "2026-03-01 20:00", 0),  # Monday 09:00 NZDT
    ("2026-04-04 09:00 Pacific/Auckland in UTC", "UTC", "2026-04-03 20:00", 0),  # the day before NZDT ends
    ("2026-04-06 09:00 Pacific/Auckland in UTC", "UTC", "2026-04-05 21:00", 0),  # NZST from 5 April
    ("12:00 Asia/Kathmandu on 1 Dec 2026 in UTC", "UTC", "2026-12-01 06:15", 0),  # +05:45
    ("12:00 UTC on 1 Dec 2026 in Kathmandu", "Kathmandu", "2026-12-01 12:00", 5.75),
    ("7pm GMT-3 in London", "London", "2026-03-01 22:00", 0),  # an offset is the phrase's own zone too
    ("7pm GMT in GMT-3", "UTC−3", "2026-03-01 19:00", -3),  # a member's GMT-3 is UTC−3, never Etc/GMT-3 (UTC+3)
    ("22:00 Berlin on 2 Mar 2026 in UTC-3", "UTC−3", "2026-03-02 21:00", -3),
    ("16:00 FACTTIC time on 29 Nov 2018 in Berlin", "Berlin", "2018-11-29 19:00", 1),
    ("7pm in London in Auckland", "Auckland", "2026-03-01 19:00", 13),
    # Spanish.
    ("19:00 GMT en Auckland", "Auckland", "2026-03-01 19:00", 13),
    ("9:00 Pacific/Auckland en UTC", "UTC", "2026-03-01 20:00", 0),
    ("a las 16 hora de Buenos Aires el 29/11/2018 en hora de Londres", "Londres", "2018-11-29 19:00", 0),
])
def test_a_time_naming_its_zone_is_converted_to_the_trailing_zone(
        text: str, target: str, at_utc: str, offset_hours: float) -> None:
    conversion = convert(text)
    assert conversion.target is not None and conversion.target.label == target
    assert conversion.when.at == datetime.fromisoformat(at_utc).replace(tzinfo=timezone.utc)
    assert local(conversion).utcoffset() == timedelta(hours=offset_hours)


@pytest.mark.parametrize(("text", "sender", "at_utc", "zone_label"), [
    ("7pm in London", "Buenos Aires", "2026-03-01 19:00", "London"),  # London is where 7pm is
    ("19:00 en Londres", "Berlin", "2026-03-01 19:00", "Londres"),
    ("at 7pm on 2 Mar 2026 in Auckland", "Berlin", "2026-03-02 06:00", "Auckland"),
])
def test_a_time_without_its_own_zone_is_read_in_the_trailing_zone(
        text: str, sender: str, at_utc: str, zone_label: str) -> None:
    conversion = convert(text, sender)
    assert conversion.target is None
    assert conversion.when.zone.label == zone_label
    assert conversion.when.at == datetime.fromisoformat(at_utc).replace(tzinfo=timezone.utc)


def test_an_unknown_target_zone_gets_suggestions() -> None:
    with pytest.raises(UsageError) as caught:
        convert("7pm GMT in Aukland")
    assert caught.value.key == "tz.unknown_zone_suggest"
    assert caught.value.params["text"] == "Aukland"
    assert "Auckland" in caught.value.params["names"].split(", ")
    with pytest.raises(UsageError) as nothing_close:
        convert("7pm GMT in Qwxzv")
    assert nothing_close.value.key == "tz.unknown_zone"


def test_a_dst_gap_in_the_phrases_zone_gives_both_readings_shown_in_the_target_first() -> None:
    # 27 Sep 2026: Auckland's clocks jump from 02:00 NZST to 03:00 NZDT.
    with pytest.raises(NonExistentTimeError) as caught:
        convert("2026-09-27 02:30 Pacific/Auckland in UTC")
    err = caught.value
    assert [z.label for z in err.shown_in] == ["UTC", "Auckland"]
    assert err.readings == (datetime(2026, 9, 26, 13, 30, tzinfo=timezone.utc),
                            datetime(2026, 9, 26, 14, 30, tzinfo=timezone.utc))


def test_a_repeated_hour_in_the_phrases_zone_is_ambiguous_not_guessed() -> None:
    # 5 Apr 2026: Auckland's clocks go back from 03:00 NZDT to 02:00 NZST.
    with pytest.raises(AmbiguousTimeError) as caught:
        convert("2026-04-05 02:30 Pacific/Auckland en UTC")
    assert len(caught.value.readings) == 2
    assert caught.value.shown_in[0].label == "UTC"


def test_suggestions_are_written_as_people_write_the_names() -> None:
    assert RESOLVER.suggestions("Londn") == ["London"]
    assert RESOLVER.suggestions("cotec") == ["CoTech"]
    assert RESOLVER.suggestions("Europe/Londn")[0] == "Europe/London"
    assert RESOLVER.suggestions("") == []
