"""Whatever the bot writes for an instant reads back as that instant, in both languages."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.timefmt import format_instant
from tests.test_timeparse import read, utc
from tests.test_zones import zone

# The coops' zones, plus zones with odd offsets or southern DST, plus labels in Spanish and
# labels that are abbreviations or offsets.
PLACES = [
    "FACTTIC", "CoTech", "IT-Kollektiv", "Sassafras", "Kolkata", "Nepal", "Santiago", "Chile", "Auckland",
    "Nueva Zelanda", "Asunción", "Londres", "Ciudad de México", "America/St_Johns", "GMT", "CET", "UTC−3",
    "UTC+5:45",
]

instants = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2050, 12, 31, 23, 59)).map(
    lambda naive: naive.replace(second=0, microsecond=0, tzinfo=timezone.utc)
)


@settings(max_examples=400)
@given(at=instants, place=st.sampled_from(PLACES), lang=st.sampled_from(["en", "es"]),
       sender=st.sampled_from(["London", "Buenos Aires", "Kathmandu"]))
def test_a_written_instant_reads_back_as_itself(at: datetime, place: str, lang: str, sender: str) -> None:
    written = format_instant(at, zone(place), lang)
    assert read(written, sender).at == at, written


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("at", [utc("2026-10-25 00:30"), utc("2026-10-25 01:30")])
def test_both_instants_of_a_repeated_hour_read_back_thanks_to_the_offset(at: datetime, lang: str) -> None:
    written = format_instant(at, zone("London"), lang)
    assert "01:30" in written
    assert read(written).at == at
