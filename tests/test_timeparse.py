"""English time phrases, read relative to a fixed ``now`` in the sender's zone."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.errors import AmbiguousTimeError, NonExistentTimeError, TimeParseError
from bot.timeparse import When, parse_duration, parse_when
from tests.test_zones import RESOLVER, zone

# Tuesday 27 November 2018, 12:00 UTC: 09:00 in Buenos Aires, 13:00 in Berlin.
NOW = datetime(2018, 11, 27, 12, 0, tzinfo=timezone.utc)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def read(text: str, sender: str = "London", now: datetime = NOW, day_first: bool = True) -> When:
    return parse_when(text, now=now, zone=zone(sender), resolver=RESOLVER, day_first=day_first)


ENGLISH = [
    # The coops' own example: one instant, three zones.
    ("7pm GMT on 29 Nov 2018", "Buenos Aires", "2018-11-29 19:00"),
    ("29 Nov 2018 19:00 Europe/London", "Buenos Aires", "2018-11-29 19:00"),
    ("16:00 Buenos Aires on 29 Nov 2018", "Berlin", "2018-11-29 19:00"),
    ("20:00 Berlin on 29 Nov 2018", "Buenos Aires", "2018-11-29 19:00"),
    ("16:00 FACTTIC time on 29 Nov 2018", "London", "2018-11-29 19:00"),
    ("on 29 Nov 2018 at 7pm", "London", "2018-11-29 19:00"),
    ("Nov 29th, 2018 7pm GMT", "Berlin", "2018-11-29 19:00"),
    ("29 November 2018 7 pm", "London", "2018-11-29 19:00"),
    ("2018-11-29T19:00", "London", "2018-11-29 19:00"),
    ("2018-11-29T19:00Z", "Buenos Aires", "2018-11-29 19:00"),
    ("2018-11-29T16:00-03:00", "London", "2018-11-29 19:00"),
    ("2018-11-29 19:00:00 UTC", "Berlin", "2018-11-29 19:00"),
    ("29/11/2018 19:00", "London", "2018-11-29 19:00"),
    ("Thu 29 Nov 2018, 19:00 London (UTC+0)", "Buenos Aires", "2018-11-29 19:00"),
    # Times without a date: today while ahead in the phrase's zone, else tomorrow.
    ("16:00 FACTTIC time", "London", "2018-11-27 19:00"),
    ("7pm", "Buenos Aires", "2018-11-27 22:00"),
    ("7 pm", "London", "2018-11-27 19:00"),
    ("at 7pm", "London", "2018-11-27 19:00"),
    ("7pm in London", "Buenos Aires", "2018-11-27 19:00"),
    ("19:00", "London", "2018-11-27 19:00"),
    ("19h", "Berlin", "2018-11-27 18:00"),
    ("19h30", "Berlin", "2018-11-27 18:30"),
    ("7:30am", "London", "2018-11-28 07:30"),
    ("7:30 p.m.", "London", "2018-11-27 19:30"),
    ("noon", "London", "2018-11-28 12:00"),  # exactly now is not ahead
    ("noon", "Buenos Aires", "2018-11-27 15:00"),
    ("12am", "London", "2018-11-28 00:00"),
    ("12pm", "Berlin", "2018-11-28 11:00"),
    ("midnight", "London", "2018-11-28 00:00"),
    ("at 7", "London", "2018-11-28 07:00"),  # a bare hour is on the 24-hour clock
    ("7 in the evening", "London", "2018-11-27 19:00"),
    # Relative days and weekdays, in the phrase's zone.
    ("tomorrow 9am Buenos Aires", "London", "2018-11-28 12:00"),
    ("tomorrow at noon", "London", "2018-11-28 12:00"),
    ("today 8pm", "Berlin", "2018-11-27 19:00"),
    ("day after tomorrow 10:00", "London", "2018-11-29 10:00"),
    ("thursday 7pm", "London", "2018-11-29 19:00"),
    ("on Thursday at 7pm GMT", "Buenos Aires", "2018-11-29 19:00"),
    ("tuesday 7pm", "London", "2018-11-27 19:00"),  # today, still ahead
    ("tuesday 9am", "London", "2018-12-04 09:00"),  # today, already past: next week
    ("next tuesday 9am", "London", "2018-12-04 09:00"),
    ("monday 10:00 Berlin", "London", "2018-12-03 09:00"),
    # Dates without a year: the next occurrence.
    ("29 Nov 7pm", "London", "2018-11-29 19:00"),
    ("Nov 29 7pm", "London", "2018-11-29 19:00"),
    ("27 Nov 7pm", "London", "2018-11-27 19:00"),
    ("27 Nov 9am", "London", "2019-11-27 09:00"),
    ("26 Nov 9am", "London", "2019-11-26 09:00"),
    ("29 Feb 12:00", "London", "2020-02-29 12:00"),
    ("29/11 19:00", "London", "2018-11-29 19:00"),
    # Abbreviations are fixed offsets; "GMT-3" is three hours *behind* UTC.
    ("7pm GMT-3 on 29 Nov 2018", "London", "2018-11-29 22:00"),
    ("7pm GMT+3 on 29 Nov 2018", "London", "2018-11-29 16:00"),
    ("7pm UTC\u22123 on 29 Nov 2018", "London", "2018-11-29 22:00"),
    ("19:00 -03:00 on 29 Nov 2018", "London", "2018-11-29 22:00"),
    ("19:00 +0530 on 29 Nov 2018", "London", "2018-11-29 13:30"),
    ("10am EST on 29 Nov 2018", "London", "2018-11-29 15:00"),
    ("10am EDT on 29 Nov 2018", "London", "2018-11-29 14:00"),
    ("5pm CEST on 29 Nov 2018", "London", "2018-11-29 15:00"),
    ("16:00 ART on 29 Nov 2018", "London", "2018-11-29 19:00"),
    ("7pm ET on 29 Nov 2018", "London", "2018-11-30 00:00"),
    ("7pm ET on 1 Jul 2018", "London", "2018-07-01 23:00"),
    ("9am PT on 1 Jul 2018", "London", "2018-07-01 16:00"),
    # India and Nepal: half and quarter hours.
    ("7pm IST on 29 Nov 2018", "London", "2018-11-29 13:30"),
    ("7pm Kolkata on 29 Nov 2018", "London", "2018-11-29 13:30"),
    ("7pm Kathmandu on 29 Nov 2018", "London", "2018-11-29 13:15"),
    ("7pm NPT on 29 Nov 2018", "London", "2018-11-29 13:15"),
    ("19:00 on 29 Nov 2018", "Nepal", "2018-11-29 13:15"),
    # Europe and the US around their 2026 switches.
    ("28 Mar 2026 12:00 London", "Berlin", "2026-03-28 12:00"),
    ("29 Mar 2026 12:00 London", "Berlin", "2026-03-29 11:00"),
    ("28 Mar 2026 12:00 Berlin", "London", "2026-03-28 11:00"),
    ("29 Mar 2026 12:00 Berlin", "London", "2026-03-29 10:00"),
    ("7 Mar 2026 12:00 New York", "London", "2026-03-07 17:00"),
    ("8 Mar 2026 12:00 New York", "London", "2026-03-08 16:00"),
    ("24 Oct 2026 12:00 London", "Berlin", "2026-10-24 11:00"),
    ("25 Oct 2026 12:00 London", "Berlin", "2026-10-25 12:00"),
    ("1 Nov 2026 12:00 New York", "London", "2026-11-01 17:00"),
    ("8 Mar 2026 12:00 ET", "London", "2026-03-08 16:00"),
    # Southern hemisphere: summer in January.
    ("15 Jan 2026 12:00 Santiago", "London", "2026-01-15 15:00"),
    ("15 Jul 2026 12:00 Santiago", "London", "2026-07-15 16:00"),
    ("15 Jan 2018 12:00 Asunción", "London", "2018-01-15 15:00"),
    ("15 Jul 2018 12:00 Asuncion", "London", "2018-07-15 16:00"),
    ("15 Jul 2026 12:00 Paraguay", "London", "2026-07-15 15:00"),  # no DST since 2024: UTC−3 all year
    ("15 Jan 2026 12:00 Auckland", "London", "2026-01-14 23:00"),
    ("15 Jul 2026 12:00 New Zealand", "London", "2026-07-15 00:00"),
]


@pytest.mark.parametrize(("phrase", "sender", "expected"), ENGLISH, ids=[case[0] for case in ENGLISH])
def test_an_english_phrase_means_one_instant(phrase: str, sender: str, expected: str) -> None:
    assert read(phrase, sender).at == utc(expected)


def test_buenos_aires_member_sees_call_in_gmt_minus_3() -> None:
    when = read("7pm GMT on 29 Nov 2018", "Buenos Aires")
    assert when.at.astimezone(zone("Buenos Aires").tz).strftime("%H:%M") == "16:00"
    assert when.at.astimezone(zone("GMT-3").tz).strftime("%H:%M") == "16:00"
    assert when.at.astimezone(zone("Berlin").tz).strftime("%H:%M") == "20:00"


def test_the_zone_named_in_the_phrase_is_reported_else_the_senders() -> None:
    assert read("7pm GMT").zone.label == "GMT"
    assert read("16:00 FACTTIC time").zone.label == "Buenos Aires"
    assert read("7pm", "Berlin").zone.label == "Berlin"
    assert read("7pm GMT-3").zone.label == "UTC\u22123"


@pytest.mark.parametrize(("phrase", "sender", "expected"), [
    ("29 Nov", "London", "2018-11-29 00:00"),
    ("29 November 2018", "Buenos Aires", "2018-11-29 03:00"),
    ("2018-11-29", "Berlin", "2018-11-28 23:00"),
    ("today", "London", "2018-11-27 00:00"),
    ("tomorrow", "London", "2018-11-28 00:00"),
    ("thursday", "London", "2018-11-29 00:00"),
    ("next tuesday", "London", "2018-12-04 00:00"),
    ("27 Nov", "London", "2018-11-27 00:00"),  # today is not over yet
    ("6 Sep 2026 Santiago", "London", "2026-09-06 04:00"),  # midnight skipped: the day starts at 01:00
])
def test_a_date_without_a_time_means_the_start_of_that_local_day(phrase: str, sender: str, expected: str) -> None:
    when = read(phrase, sender)
    assert (when.at, when.has_date, when.has_time) == (utc(expected), True, False)


def test_a_time_without_a_date_says_so() -> None:
    when = read("7pm")
    assert (when.has_date, when.has_time) == (False, True)


def test_now_must_be_aware_because_the_engine_never_guesses_its_zone() -> None:
    with pytest.raises(ValueError):
        parse_when("7pm", now=NOW.replace(tzinfo=None), zone=zone("London"), resolver=RESOLVER)


def test_tuesday_said_on_a_tuesday_without_a_time_could_be_today_or_next_week() -> None:
    with pytest.raises(AmbiguousTimeError) as raised:
        read("tuesday", "London")
    assert raised.value.key == "time.ambiguous_day"
    assert raised.value.readings == (utc("2018-11-27 00:00"), utc("2018-12-04 00:00"))


@pytest.mark.parametrize(("phrase", "readings"), [
    ("29 Mar 2026 01:30 London", ("2026-03-29 00:30", "2026-03-29 01:30")),
    ("29 Mar 2026 02:30 Berlin", ("2026-03-29 00:30", "2026-03-29 01:30")),
    ("8 Mar 2026 2:30am New York", ("2026-03-08 06:30", "2026-03-08 07:30")),
    ("6 Sep 2026 00:30 Santiago", ("2026-09-06 03:30", "2026-09-06 04:30")),
    ("27 Sep 2026 2:30am Auckland", ("2026-09-26 13:30", "2026-09-26 14:30")),
])
def test_a_time_the_clocks_skip_is_refused_with_both_readings(phrase: str, readings: tuple[str, str]) -> None:
    with pytest.raises(NonExistentTimeError) as raised:
        read(phrase)
    assert raised.value.readings == tuple(utc(r) for r in readings)
    assert raised.value.key == "time.nonexistent"


@pytest.mark.parametrize(("phrase", "readings"), [
    ("25 Oct 2026 01:30 London", ("2026-10-25 00:30", "2026-10-25 01:30")),
    ("25 Oct 2026 02:30 Berlin", ("2026-10-25 00:30", "2026-10-25 01:30")),
    ("1 Nov 2026 1:30am New York", ("2026-11-01 05:30", "2026-11-01 06:30")),
    ("4 Apr 2026 23:30 Santiago", ("2026-04-05 02:30", "2026-04-05 03:30")),
    ("5 Apr 2026 2:30am Auckland", ("2026-04-04 13:30", "2026-04-04 14:30")),
])
def test_a_time_the_clocks_repeat_is_refused_with_both_readings(phrase: str, readings: tuple[str, str]) -> None:
    with pytest.raises(AmbiguousTimeError) as raised:
        read(phrase)
    assert raised.value.readings == tuple(utc(r) for r in readings)
    assert raised.value.key == "time.ambiguous"


@pytest.mark.parametrize(("phrase", "expected"), [
    ("25 Oct 2026 01:30 London (UTC+1)", "2026-10-25 00:30"),
    ("25 Oct 2026 01:30 London (UTC+0)", "2026-10-25 01:30"),
    ("1 Nov 2026 1:30am New York UTC-4", "2026-11-01 05:30"),
    ("1 Nov 2026 1:30am New York UTC-5", "2026-11-01 06:30"),
])
def test_a_stated_offset_picks_one_reading_of_a_repeated_hour(phrase: str, expected: str) -> None:
    assert read(phrase).at == utc(expected)


@pytest.mark.parametrize(("phrase", "day_first", "expected"), [
    ("11/29", False, "2018-11-29 00:00"),
    ("11/29/2018 7pm", False, "2018-11-29 19:00"),
    ("12/1/18 7pm", False, "2018-12-01 19:00"),
    ("1/12/18 7pm", True, "2018-12-01 19:00"),
])
def test_a_coop_can_write_dates_month_first(phrase: str, day_first: bool, expected: str) -> None:
    assert read(phrase, day_first=day_first).at == utc(expected)


@pytest.mark.parametrize(("phrase", "day_first"), [
    ("", True), ("   ", True), ("banana", True), ("7", True), ("London", True), ("32 Nov", True),
    ("31/02/2026", True), ("25:00", True), ("13pm", True), ("0am", True), ("19:61", True),
    ("29/11", False), ("Fri 29 Nov 2018", True), ("7pm London Berlin", True), ("7pm tomorrow today", True),
    ("16:00 London on 29 Nov 2018 (UTC-3)", True), ("in 2 hours", True), ("Etc/GMT-3 7pm", True),
    ("7pm Москва", True), ("7pm GMT+15", True), ("7pm -3", True), ("29 Nov 1850", True), ("x" * 500, True),
])
def test_unreadable_phrases_are_refused_not_guessed(phrase: str, day_first: bool) -> None:
    with pytest.raises(TimeParseError) as raised:
        read(phrase, day_first=day_first)
    assert raised.value.params["text"] == phrase


def test_a_grammar_word_is_never_a_zone_even_when_a_coop_uses_it_as_alias() -> None:
    # IT-Kollektiv's alias is "DE"; "de" still reads as Spanish, never as Berlin.
    with pytest.raises(TimeParseError):
        read("a las 9 de")


VOCABULARY = st.sampled_from([
    "7", "19", "29", "2018", "19:00", "7:30", "pm", "am", "on", "at", "nov", "mar", "tuesday", "next", "GMT",
    "GMT-3", "UTC+05:30", "-03:00", "London", "hora de", "Buenos Aires", "FACTTIC", "time", "tomorrow",
    "mañana", "a las", "de la tarde", "29/11", "2018-11-29", "T", "Z", "(", ")", ",", "h", "hs", "y media",
    "Europe/London", "Etc/GMT-3", "29/02", "noon", "12", "\u2212", "el", "próximo", "de",
])


@given(st.text(max_size=80) | st.lists(VOCABULARY, max_size=10).map(" ".join))
def test_any_text_either_reads_or_raises_time_parse_error(text: str) -> None:
    try:
        when = read(text)
    except TimeParseError:
        return
    assert when.at.utcoffset() == timedelta(0)
    assert when.has_date or when.has_time


@pytest.mark.parametrize(("text", "minutes"), [
    ("1h", 60), ("90m", 90), ("90 min", 90), ("1h30", 90), ("1h 30m", 90), ("1.5h", 90), ("2 hours", 120),
    ("1 hour 15 minutes", 75), ("an hour and a half", 90), ("half an hour", 30), ("45 mins", 45), ("1:30", 90),
])
def test_a_call_lasts_as_long_as_written(text: str, minutes: int) -> None:
    assert parse_duration(text) == timedelta(minutes=minutes)


@pytest.mark.parametrize("text", ["", "30", "0h", "h", "2h 1h", "30m 1h", "inf h", "nan h", "200h", "soon"])
def test_unreadable_durations_are_refused(text: str) -> None:
    with pytest.raises(TimeParseError):
        parse_duration(text)


@given(st.text(max_size=40))
def test_any_duration_text_either_reads_or_raises_time_parse_error(text: str) -> None:
    try:
        assert parse_duration(text) > timedelta(0)
    except TimeParseError:
        pass


# --- dates in the past: "since 1 Dec" --------------------------------------------------

def since(text: str, sender: str = "London") -> datetime:
    return parse_when(text, now=NOW, zone=zone(sender), resolver=RESOLVER, past=True).at


@pytest.mark.parametrize(("phrase", "expected"), [
    ("1 Nov", "2018-11-01T00:00"),          # this year's, gone already
    ("29 Dec", "2017-12-29T00:00"),         # not yet this year: last year's
    ("27 Nov", "2018-11-27T00:00"),         # today counts
    ("1 dic", "2017-12-01T00:00"),
    ("1 de noviembre", "2018-11-01T00:00"),
    ("2018-11-20", "2018-11-20T00:00"),     # with its year: as written
    ("Monday", "2018-11-26T00:00"),         # NOW is a Tuesday: yesterday
    ("Tuesday", "2018-11-27T00:00"),        # today, not a week ahead
    ("Tuesday 13:00", "2018-11-20T13:00"),  # today's 13:00 is still ahead: last week's
    ("el miércoles", "2018-11-21T00:00"),
    ("9:00", "2018-11-27T09:00"),
    ("13:00", "2018-11-26T13:00"),          # not yet today: yesterday's
    ("yesterday", "2018-11-26T00:00"),
])
def test_a_date_since_which_is_its_latest_occurrence_up_to_now(phrase: str, expected: str) -> None:
    assert since(phrase).strftime("%Y-%m-%dT%H:%M") == expected


def test_a_date_since_which_is_read_in_the_senders_zone() -> None:
    assert since("1 Nov", sender="Buenos Aires") == datetime(2018, 11, 1, 3, 0, tzinfo=timezone.utc)


def test_29_february_since_which_is_the_last_leap_day() -> None:
    assert since("29 Feb") == datetime(2016, 2, 29, tzinfo=timezone.utc)
