"""Occurrences of a weekly wall-clock time, across DST changes (bot.recurrence)."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytz
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.recurrence import is_occurrence, latest_until, next_after
from config.model import WeeklyTime

UTC = timezone.utc


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_a_monday_in_london_moves_an_hour_in_utc_when_the_clocks_go_forward() -> None:
    rule = WeeklyTime.parse("monday 09:00 Europe/London")
    before = next_after(rule, utc(2031, 3, 20))
    after = next_after(rule, before)
    assert before == utc(2031, 3, 24, 9)  # GMT
    assert after == utc(2031, 3, 31, 8)  # BST, from Sunday 30 March 2031
    assert after.astimezone(pytz.timezone("Europe/London")).strftime("%a %H:%M") == "Mon 09:00"


def test_and_back_when_they_go_back() -> None:
    rule = WeeklyTime.parse("lunes 09:00 Europe/London")
    assert next_after(rule, utc(2031, 10, 20, 8)) == utc(2031, 10, 27, 9)
    assert latest_until(rule, utc(2031, 10, 27, 8, 59)) == utc(2031, 10, 20, 8)


def test_buenos_aires_keeps_utc_minus_3_all_year() -> None:
    rule = WeeklyTime.parse("monday 09:00 America/Argentina/Buenos_Aires")
    for month in (1, 4, 7, 10):
        assert next_after(rule, utc(2031, month, 1)).time() == time(12, 0)


def test_a_time_the_clocks_skip_happens_after_the_gap() -> None:
    rule = WeeklyTime.parse("daily 01:30 Europe/London")  # clocks go 01:00 GMT -> 02:00 BST on 30 March 2031
    gap_day = next_after(rule, utc(2031, 3, 29, 12))
    assert gap_day == utc(2031, 3, 30, 1, 30)
    assert gap_day.astimezone(pytz.timezone("Europe/London")).strftime("%H:%M %Z") == "02:30 BST"
    assert next_after(rule, gap_day) == utc(2031, 3, 31, 0, 30)


def test_a_time_the_clocks_repeat_happens_once() -> None:
    rule = WeeklyTime.parse("daily 01:30 Europe/London")  # 01:30 comes twice on 26 October 2031
    first = next_after(rule, utc(2031, 10, 25, 12))
    assert first == utc(2031, 10, 26, 0, 30)  # 01:30 BST
    assert next_after(rule, first) == utc(2031, 10, 27, 1, 30)  # not 01:30 GMT the same night
    assert not is_occurrence(rule, utc(2031, 10, 26, 1, 30))


def test_the_occurrence_itself_is_the_latest_until_it_and_not_after_it() -> None:
    rule = WeeklyTime.parse("friday 16:00 America/New_York")
    friday = utc(2031, 6, 6, 20)
    assert latest_until(rule, friday) == friday
    assert next_after(rule, friday) == friday + timedelta(days=7)
    assert is_occurrence(rule, friday) and not is_occurrence(rule, friday + timedelta(hours=1))


rules = st.builds(
    WeeklyTime,
    weekday=st.none() | st.integers(0, 6),
    at=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    zone=st.sampled_from(["Europe/London", "America/Argentina/Buenos_Aires", "America/New_York", "Europe/Berlin",
                          "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]),
)
moments = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC))


@settings(max_examples=300, deadline=None)
@given(rule=rules, moment=moments)
def test_occurrences_bracket_any_moment_with_none_between(rule: WeeklyTime, moment: datetime) -> None:
    latest, following = latest_until(rule, moment), next_after(rule, moment)
    assert latest <= moment < following
    assert is_occurrence(rule, latest) and is_occurrence(rule, following)
    assert latest_until(rule, following - timedelta(microseconds=1)) == latest  # nothing in between
    assert timedelta(hours=22) <= following - latest <= timedelta(days=7, hours=2)
    local = following.astimezone(pytz.timezone(rule.zone))
    if local.utcoffset() == (following - timedelta(hours=3)).astimezone(local.tzinfo).utcoffset():
        assert local.time() == rule.at  # on a day without a change near it, the wall clock is the rule's
    if rule.weekday is not None:
        assert local.weekday() == rule.weekday
