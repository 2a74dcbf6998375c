"""Showing an instant in a zone, in English and Spanish, on the 24-hour clock."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
import pytz

from bot.timefmt import ZoneRow, format_instant, format_period, format_zone_rows
from tests.test_zones import zone

CALL_AT = datetime(2018, 11, 29, 19, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(("at", "place", "lang", "expected"), [
    (CALL_AT, "London", "en", "Thu 29 Nov 2018, 19:00 London (UTC+0)"),
    (CALL_AT, "Buenos Aires", "es", "jue 29 nov 2018, 16:00 Buenos Aires (UTC−3)"),
    (CALL_AT, "Buenos Aires", "en", "Thu 29 Nov 2018, 16:00 Buenos Aires (UTC−3)"),
    (CALL_AT, "Berlin", "en", "Thu 29 Nov 2018, 20:00 Berlin (UTC+1)"),
    (CALL_AT, "Kathmandu", "en", "Fri 30 Nov 2018, 00:45 Kathmandu (UTC+5:45)"),
    (CALL_AT, "Kolkata", "es", "vie 30 nov 2018, 00:30 Kolkata (UTC+5:30)"),
    (CALL_AT, "GMT-3", "es", "jue 29 nov 2018, 16:00 UTC−3 (UTC−3)"),
    (CALL_AT, "CET", "en", "Thu 29 Nov 2018, 20:00 CET (UTC+1)"),
    (datetime(2018, 7, 1, 12, 5, tzinfo=timezone.utc), "London", "en", "Sun 1 Jul 2018, 13:05 London (UTC+1)"),
    (datetime(2018, 9, 3, 7, 5, tzinfo=timezone.utc), "Madrid", "es", "lun 3 sept 2018, 09:05 Madrid (UTC+2)"),
    (datetime(2026, 1, 14, 23, 0, tzinfo=timezone.utc), "Auckland", "es", "jue 15 ene 2026, 12:00 Auckland (UTC+13)"),
])
def test_a_member_sees_the_instant_in_their_zone_and_language(at: datetime, place: str, lang: str,
                                                             expected: str) -> None:
    assert format_instant(at, zone(place), lang) == expected


def test_an_instant_given_in_another_zone_shows_the_same() -> None:
    local = CALL_AT.astimezone(pytz.timezone("Asia/Tokyo"))
    assert format_instant(local, zone("London"), "en") == format_instant(CALL_AT, zone("London"), "en")


def test_rows_for_a_table_keep_the_order_of_the_zones() -> None:
    rows = format_zone_rows(CALL_AT, [zone("FACTTIC"), zone("CoTech"), zone("IT-Kollektiv"), zone("Sassafras")], "es")
    assert rows == [
        ZoneRow(label="Buenos Aires", weekday="jue", date="29 nov 2018", time="16:00", offset="UTC−3"),
        ZoneRow(label="London", weekday="jue", date="29 nov 2018", time="19:00", offset="UTC+0"),
        ZoneRow(label="Berlin", weekday="jue", date="29 nov 2018", time="20:00", offset="UTC+1"),
        ZoneRow(label="Ann Arbor", weekday="jue", date="29 nov 2018", time="14:00", offset="UTC−5"),
    ]


def test_no_zones_means_no_rows() -> None:
    assert format_zone_rows(CALL_AT, [], "en") == []


@pytest.mark.parametrize(("start", "end", "lang", "expected"), [
    (date(2026, 11, 30), date(2026, 12, 6), "en", "30 Nov – 6 Dec 2026"),
    (date(2026, 11, 30), date(2026, 12, 6), "es", "30 nov – 6 dic 2026"),
    (date(2026, 12, 28), date(2027, 1, 3), "en", "28 Dec 2026 – 3 Jan 2027"),
    (date(2026, 12, 1), date(2026, 12, 7), "en", "1 – 7 Dec 2026"),
])
def test_a_period_writes_what_its_days_share_once(start: date, end: date, lang: str, expected: str) -> None:
    assert format_period(start, end, lang) == expected
