"""Showing an instant in a zone, in the reader's language, always on the 24-hour clock.

    en: "Thu 29 Nov 2018, 19:00 London (UTC+0)"
    es: "jue 29 nov 2018, 16:00 Buenos Aires (UTC−3)"

Weekday and month names come from Babel (CLDR). Whatever we write here reads back
through ``bot.timeparse.parse_when`` to the same instant: the date carries its year and
the UTC offset settles the hour a DST change repeats.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

from babel import Locale
from babel.dates import format_date, format_interval

from bot.zones import ResolvedZone, offset_label

__all__ = ["ZoneRow", "format_day", "format_instant", "format_period", "format_zone_rows"]

# The CLDR locale whose date order is ours in each language: day before month, as "29 Nov 2018" everywhere.
_PERIOD_LOCALES = {"en": "en_GB"}


@dataclass(frozen=True)
class ZoneRow:
    """One instant in one zone, in parts, so each renderer can lay out its own table."""

    label: str  # "Buenos Aires"
    weekday: str  # "jue"
    date: str  # "29 nov 2018"
    time: str  # "16:00"
    offset: str  # "UTC−3"


@lru_cache(maxsize=16)
def _locale(lang: str) -> Locale:
    return Locale.parse(lang)


@lru_cache(maxsize=4096)
def _day(day: date, lang: str) -> tuple[str, str]:
    """Weekday and date words for a local day; cached, since Babel's formatting is the slow part."""
    locale = _locale(lang)
    return format_date(day, "EEE", locale=locale), format_date(day, "d MMM y", locale=locale)


def _row(at_utc: datetime, zone: ResolvedZone, lang: str) -> ZoneRow:
    local = at_utc.astimezone(zone.tz)  # pytz's fromutc: the right offset, no normalize needed
    weekday, day = _day(local.date(), lang)
    return ZoneRow(
        label=zone.label,
        weekday=weekday,
        date=day,
        time=f"{local.hour:02d}:{local.minute:02d}",
        offset=offset_label(local),
    )


def format_day(day: date, lang: str) -> str:
    """"29 Nov 2018", "29 nov 2018": a local day with its year, as ``parse_when`` reads it back."""
    return _day(day, lang)[1]


def format_period(start: date, end: date, lang: str) -> str:
    """"30 Nov – 6 Dec 2026", "30 nov – 6 dic 2026": two local days, what they share written once."""
    period = str(format_interval(start, end, "yMMMd", locale=_locale(_PERIOD_LOCALES.get(lang, lang))))
    return period.replace("\u2009", " ")  # CLDR's thin spaces around the dash: plain ones read the same everywhere


def format_instant(at_utc: datetime, zone: ResolvedZone, lang: str) -> str:
    """"Thu 29 Nov 2018, 19:00 London (UTC+0)" in English, the same shape in Spanish."""
    row = _row(at_utc, zone, lang)
    return f"{row.weekday} {row.date}, {row.time} {row.label} ({row.offset})"


def format_zone_rows(at_utc: datetime, zones: Sequence[ResolvedZone], lang: str) -> list[ZoneRow]:
    """The instant in each zone, in the given order."""
    return [_row(at_utc, zone, lang) for zone in zones]
