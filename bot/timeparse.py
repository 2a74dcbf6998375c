"""Reading when a member means: "7pm GMT on 29 Nov 2018", "el martes 16 hs", "mañana a las 9".

A small grammar of our own, in three steps:

1. The lexer folds the text (``bot.zones.fold``) and cuts it into tokens: clock times
   ("19:00"), ISO and slashed dates, UTC offsets ("gmt-3"), IANA names, numbers, words.
2. Rules read one *piece* at a position: a clock time with its lead and suffixes ("a las 7
   de la tarde"), a date ("29 de noviembre de 2018"), a weekday ("el próximo lunes"), a
   relative day ("pasado mañana"), a zone ("hora de Londres") or a filler word ("on").
   A small backtracking search fits pieces end to end, each slot filled at most once
   (the same value twice is fine: "16:00 UTC−3 (UTC−3)"); "mar" may be Tuesday or March.
3. The pieces become one instant, read in the zone the phrase names or else the sender's.

Conventions, so nobody has to guess what we guessed:

- a bare hour is on the 24-hour clock ("a las 9" is 09:00); "7pm", "7 de la tarde" say otherwise;
- a date without a year is its next occurrence, today included while the time is ahead;
- a time without a date is today if still ahead in the phrase's zone, else tomorrow;
- a weekday is the next such day; said on that very day without a time it is ambiguous;
  "next"/"próximo"/"que viene" skip today;
- a date without a time means the start of that local day (00:00, or the first instant
  after a DST gap at midnight), with ``has_time`` False;
- "midnight"/"medianoche" is 00:00 at the start of the day named;
- a wall-clock time that a DST change skips or repeats is an error carrying both readings,
  unless the phrase also gives the UTC offset ("(UTC+1)"), which picks one.
"""
from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Generic, NamedTuple, TypeVar

import pytz

from bot.errors import AmbiguousTimeError, NonExistentTimeError, TimeParseError
from bot.zones import (
    OFFSET_PATTERN,
    WORD_PATTERN,
    PytzZone,
    ResolvedZone,
    ZoneResolver,
    fold,
    parse_offset,
    offset_zone,
    unknown_zone,
)

__all__ = ["Conversion", "When", "parse_conversion", "parse_when", "parse_duration", "weekday_number"]

_MAX_TEXT = 200  # nobody writes a longer time phrase; keeps the search small
_YEARS = range(1900, 2201)
_UTC = timezone.utc
_LOOKAHEAD = 16  # rules look at most this many tokens past their start
_V = TypeVar("_V")


@dataclass(frozen=True)
class When:
    """What a time phrase meant."""

    at: datetime  # aware, UTC
    zone: ResolvedZone  # the zone the phrase was read in
    has_date: bool
    has_time: bool


# --- lexer -----------------------------------------------------------------------------

class _Kind(enum.Enum):
    ISO = "iso"  # 2018-11-29 → nums (y, m, d)
    OFFSET = "offset"  # gmt-3, +05:30 → nums (minutes,)
    CLOCK = "clock"  # 19:00, 7:30:15 → nums (h, m, s)
    SLASH = "slash"  # 29/11, 11/29/2018, 29-11-18 → nums (a, b) or (a, b, year)
    IANA = "iana"  # europe/london
    WORD = "word"
    NUMBER = "number"


class _Token(NamedTuple):
    kind: _Kind
    text: str
    nums: tuple[int, ...] = ()


_LEXICON: tuple[tuple[str, str], ...] = (  # in order: the first that matches wins
    ("iso", r"[0-9]{4}[-/][0-9]{1,2}[-/][0-9]{1,2}(?![0-9])(?:t(?=[0-9]))?"),
    ("offset", OFFSET_PATTERN),
    ("clock", r"[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?"),
    ("slash", r"[0-9]{1,2}[/-][0-9]{1,2}(?:[/-](?:[0-9]{2}|[0-9]{4}))?(?![0-9])"),
    ("iana", r"[a-z]+(?:/[a-z0-9_+-]+)+"),
    ("ampm", r"[ap]\. ?m\.?(?![a-z])"),
    ("word", WORD_PATTERN),
    ("number", r"[0-9]+"),
)
_DIGITS = re.compile("[0-9]+")
# Spaces and punctuation only separate tokens; each token takes those after it along.
_SKIP = r"[\s,.;:()\[\]!?¿¡'’\"“”«»]*"
_LEADING_SKIP = re.compile(_SKIP)
_LEXER = re.compile(
    "(?:" + "|".join(f"(?P<{kind}>{pattern})" for kind, pattern in _LEXICON) + ")" + _SKIP, re.ASCII
)


def _tokenize(folded: str, original: str) -> list[_Token]:
    """Tokens of the folded text; any character no token accounts for makes it unreadable."""
    tokens: list[_Token] = []
    leading = _LEADING_SKIP.match(folded)
    end = leading.end() if leading else 0
    for match in _LEXER.finditer(folded, end):
        if match.start() != end:
            raise TimeParseError(original)
        end = match.end()
        tokens.append(_token(match, original))
    if end != len(folded):
        raise TimeParseError(original)
    return tokens


def _token(match: re.Match[str], original: str) -> _Token:
    kind = match.lastgroup or ""
    text = match.group(kind)
    if kind == "word":
        return _Token(_Kind.WORD, text)
    if kind == "number":
        return _Token(_Kind.NUMBER, text)
    if kind == "ampm":
        return _Token(_Kind.WORD, text[0] + "m")
    if kind == "offset":
        minutes = parse_offset(text)
        if minutes is None:
            raise TimeParseError(original)
        return _Token(_Kind.OFFSET, text, (minutes,))
    if kind == "iana":
        return _Token(_Kind.IANA, text)
    numbers = _DIGITS.findall(text)
    nums = tuple(map(int, numbers))
    if kind == "slash" and len(numbers) == 3 and len(numbers[2]) == 2:
        nums = (*nums[:2], 2000 + nums[2])  # 29/11/18
    return _Token(_Kind.ISO if kind == "iso" else _Kind.SLASH if kind == "slash" else _Kind.CLOCK, text, nums)


# --- vocabulary ------------------------------------------------------------------------

_WEEKDAYS: dict[str, int] = {
    name: index
    for index, names in enumerate((
        ("mon", "monday", "lun", "lunes"),
        ("tue", "tues", "tuesday", "mar", "martes"),
        ("wed", "weds", "wednesday", "mie", "miercoles"),
        ("thu", "thur", "thurs", "thursday", "jue", "jueves"),
        ("fri", "friday", "vie", "viernes"),
        ("sat", "saturday", "sab", "sabado"),
        ("sun", "sunday", "dom", "domingo"),
    ))
    for name in names
}


def weekday_number(word: str) -> int | None:
    """0 for "monday", "Mon", "lunes"; 2 for "miércoles"…; None if ``word`` names no weekday."""
    return _WEEKDAYS.get(fold(word))


_MONTHS: dict[str, int] = {
    name: index
    for index, names in enumerate((
        ("jan", "january", "ene", "enero"),
        ("feb", "february", "febrero"),
        ("mar", "march", "marzo"),
        ("apr", "april", "abr", "abril"),
        ("may", "mayo"),
        ("jun", "june", "junio"),
        ("jul", "july", "julio"),
        ("aug", "august", "ago", "agosto"),
        ("sep", "sept", "september", "set", "septiembre", "setiembre"),
        ("oct", "october", "octubre"),
        ("nov", "november", "noviembre"),
        ("dec", "december", "dic", "diciembre"),
    ), start=1)
    for name in names
}
_NUMBER_WORDS: dict[str, int] = {
    name: value
    for value, names in enumerate((
        ("one", "una", "uno"), ("two", "dos"), ("three", "tres"), ("four", "cuatro"),
        ("five", "cinco"), ("six", "seis"), ("seven", "siete"), ("eight", "ocho"),
        ("nine", "nueve"), ("ten", "diez"), ("eleven", "once"), ("twelve", "doce"),
    ), start=1)
    for name in names
}
_NAMED_TIMES: dict[str, int] = {"noon": 12, "midday": 12, "mediodia": 12, "midnight": 0, "medianoche": 0}


class _Phrases(Generic[_V]):
    """Multi-word phrases with a value each, found by their first word, longest first."""

    def __init__(self, table: Mapping[str, _V]) -> None:
        self._by_first: dict[str, list[tuple[tuple[str, ...], _V]]] = {}
        phrases = sorted(((tuple(text.split()), value) for text, value in table.items()), key=lambda p: -len(p[0]))
        for phrase, value in phrases:
            self._by_first.setdefault(phrase[0], []).append((phrase, value))

    def match(self, words: tuple[str, ...], pos: int) -> tuple[_V, int] | None:
        """The value and length of the longest phrase at ``words[pos]``, if any."""
        for phrase, value in self._by_first.get(words[pos] if pos < len(words) else "", ()):
            if words[pos:pos + len(phrase)] == phrase:
                return value, len(phrase)
        return None

    def __contains__(self, word: object) -> bool:
        """Whether some phrase starts with this word."""
        return word in self._by_first

    @property
    def first_words(self) -> frozenset[str]:
        return frozenset(self._by_first)

    def length(self, words: tuple[str, ...], pos: int) -> int:
        found = self.match(words, pos)
        return found[1] if found else 0


def _words(*phrases: str) -> _Phrases[None]:
    return _Phrases(dict.fromkeys(phrases))


_RELATIVE_DAYS = _Phrases({
    "today": 0, "hoy": 0, "tomorrow": 1, "manana": 1, "pasado manana": 2, "day after tomorrow": 2,
    "yesterday": -1, "ayer": -1,
})
_CLOCK_LEADS = _words("a las", "a la", "al", "las", "la", "at", "a")
_WEEKDAY_NEXT_BEFORE = _words("next", "proximo", "coming")
_WEEKDAY_THIS_BEFORE = _words("this", "este")
_WEEKDAY_NEXT_AFTER = _words("que viene", "proximo")
_WEEKDAY_STARTS = frozenset(_WEEKDAYS) | _WEEKDAY_NEXT_BEFORE.first_words | _WEEKDAY_THIS_BEFORE.first_words
_HOUR_SUFFIXES = frozenset({"h", "hs", "hrs", "hr", "horas", "o'clock"})
_ORDINALS = frozenset({"st", "nd", "rd", "th", "ro", "do", "er", "o"})
_OF = frozenset({"de", "of"})
_FILLERS = frozenset({"at", "on", "in", "the", "el", "en", "para", "for", "del"})


_HourShift = Callable[[int], int | None]


def _shift(first: int, last: int, add: int = 0) -> _HourShift:
    """Hours first..last of a day half, moved by ``add`` onto the 24-hour clock (mod 24)."""
    return lambda hour: (hour + add) % 24 if first <= hour <= last else None


def _either(*shifts: _HourShift) -> _HourShift:
    """The first shift that accepts the hour."""
    return lambda hour: next((h for h in (shift(hour) for shift in shifts) if h is not None), None)


def _periods() -> dict[str, _HourShift]:
    """Day halves after an hour: "7 de la tarde" is 19:00, "12 de la noche" 00:00."""
    morning, afternoon, night = _shift(1, 11), _either(_shift(12, 12), _shift(1, 9, 12)), _shift(7, 12, 12)
    table: dict[str, _HourShift] = {
        "in the morning": morning, "in the afternoon": afternoon, "in the evening": _shift(5, 11, 12),
        "at night": night, "del mediodia": _either(_shift(12, 12), _shift(1, 3, 12)),
    }
    for lead in ("de la", "por la", "a la"):
        table |= {f"{lead} manana": morning, f"{lead} tarde": afternoon, f"{lead} noche": night,
                  f"{lead} madrugada": _shift(1, 6)}
    return table


_PERIODS = _Phrases(_periods())
# A zone phrase never ends on a word the grammar itself uses, even if a coop has it as an
# alias ("DE" for Germany would otherwise turn "a las 9 de" into Berlin time).
_GRAMMAR_WORDS = (
    _FILLERS | _OF | _CLOCK_LEADS.first_words | _HOUR_SUFFIXES | _ORDINALS | _PERIODS.first_words
    | {"y", "and", "que", "viene"}
)
_QUARTERS: dict[str, int] = {"media": 30, "cuarto": 15}
_CLOCK_STARTS = _CLOCK_LEADS.first_words | frozenset(_NAMED_TIMES) | frozenset(_NUMBER_WORDS)
_MERIDIEMS: dict[str, _HourShift] = {  # 12am is 00:00, 12pm is 12:00
    "am": _either(_shift(12, 12, 12), _shift(1, 11)),
    "pm": _either(_shift(12, 12), _shift(1, 11, 12)),
}


# --- pieces ----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Date:
    year: int | None
    month: int
    day: int


@dataclass(frozen=True, slots=True)
class _Relative:
    days: int


@dataclass(frozen=True, slots=True)
class _Weekday:
    index: int  # Monday is 0
    skip_today: bool


_Slot = str  # a field of _Reading
_Piece = tuple[_Slot | None, object, int]  # slot (None for filler), value, end position


class _Reading(NamedTuple):
    """The pieces found so far; a slot is filled once (or again with the same value)."""

    day: _Date | _Relative | None = None
    weekday: _Weekday | None = None
    clock: time | None = None
    zone: ResolvedZone | None = None
    offset: int | None = None

    def add(self, slot: _Slot, value: object) -> _Reading | None:
        current = getattr(self, slot)
        if current is None:
            changes: dict[str, Any] = {slot: value}
            return self._replace(**changes)
        return self if current == value else None


class _Parser:
    """The rules over one token list, and the search that fits pieces together."""

    def __init__(self, tokens: Sequence[_Token], resolver: ZoneResolver, day_first: bool) -> None:
        self.tokens = tokens
        # Words and numbers ("" for other tokens), padded so rules can look ahead freely.
        padding = ("",) * _LOOKAHEAD
        self.words = tuple(t.text if t.kind is _Kind.WORD else "" for t in tokens) + padding
        self.numbers = tuple(t.text if t.kind is _Kind.NUMBER else "" for t in tokens) + padding
        self.resolver = resolver
        self.day_first = day_first
        self._failed: set[tuple[int, _Reading]] = set()

    def parse(self) -> _Reading | None:
        return self._search(0, _Reading())

    def _search(self, pos: int, reading: _Reading) -> _Reading | None:
        if pos == len(self.tokens):
            return reading
        if (pos, reading) in self._failed:
            return None
        for slot, value, end in self._pieces(pos):
            following = reading if slot is None else reading.add(slot, value)
            found = self._search(end, following) if following is not None else None
            if found is not None:
                return found
        self._failed.add((pos, reading))
        return None

    def _pieces(self, pos: int) -> Iterator[_Piece]:
        """Every piece that can start at pos, by the rules that can start on this token."""
        kind = self.tokens[pos].kind
        if kind is _Kind.WORD:
            word = self.words[pos]
            if word in _CLOCK_STARTS:
                yield from self._clock(pos)
            if word in _MONTHS:
                yield from self._month_then_day(pos)
            if word in _WEEKDAY_STARTS:
                yield from self._weekday(pos)
            if word in _RELATIVE_DAYS:
                yield from self._relative(pos)
            yield from self._zone(pos)
            if word in _FILLERS:
                yield None, None, pos + 1
        elif kind is _Kind.NUMBER:
            yield from self._clock(pos)
            yield from self._day_then_month(pos)
        elif kind is _Kind.CLOCK:
            yield from self._clock(pos)
        elif kind is _Kind.ISO or kind is _Kind.SLASH:
            yield from self._date(pos)
        else:
            yield from self._zone(pos)

    # token helpers

    def _number(self, pos: int, digits: range = range(1, 3)) -> int | None:
        text = self.numbers[pos]
        return int(text) if text and len(text) in digits else None

    def _skip(self, pos: int, words: frozenset[str]) -> int:
        return pos + 1 if self.words[pos] in words else pos

    # rules

    def _clock(self, pos: int) -> Iterator[_Piece]:
        """[a las | at] 19:00 | 7pm | 16 hs | 19h30 | 7 y media de la tarde | noon.

        A bare number needs a sign that it is a time: a lead ("a las"), minutes, a suffix
        ("hs") or a day half ("pm", "de la tarde").
        """
        start = pos + _CLOCK_LEADS.length(self.words, pos)
        named = _NAMED_TIMES.get(self.words[start])
        if named is not None:
            yield "clock", time(named), start + 1
            return
        for hour, minute, second, end in self._clock_numbers(start):
            if self.words[end] in _HOUR_SUFFIXES:
                end += 1
            hour24, end = self._day_half(end, hour)
            said = start > pos or end > start + 1 or self.tokens[start].kind is _Kind.CLOCK
            if hour24 is not None and said and minute <= 59 and second <= 59:
                yield "clock", time(hour24, minute, second), end

    def _clock_numbers(self, pos: int) -> Iterator[tuple[int, int, int, int]]:
        """(hour, minute, second, end) readings at pos, longest first: "19h30" before "19"."""
        if pos >= len(self.tokens):
            return
        token = self.tokens[pos]
        if token.kind is _Kind.CLOCK:
            hour, minute, second = (*token.nums, 0)[:3]
            yield hour, minute, second, pos + 1
            return
        number = self._number(pos)
        hour = number if number is not None else _NUMBER_WORDS.get(self.words[pos], -1)
        if hour < 0:
            return
        minutes = self._minutes_after_hour(pos + 1)
        if minutes is not None:
            yield hour, minutes, 0, pos + 3
        yield hour, 0, 0, pos + 1

    def _minutes_after_hour(self, pos: int) -> int | None:
        """Two words of minutes after a bare hour: "h 30" (19h30), "y media", "y cuarto"."""
        joint = self.words[pos]
        if joint == "h":
            return self._number(pos + 1, range(2, 3))
        return _QUARTERS.get(self.words[pos + 1]) if joint == "y" else None

    def _day_half(self, pos: int, hour: int) -> tuple[int | None, int]:
        """Apply "pm" or "de la tarde" after an hour; hours alone must be 0–23."""
        meridiem = _MERIDIEMS.get(self.words[pos])
        if meridiem is not None:
            return meridiem(hour), pos + 1
        period = _PERIODS.match(self.words, pos)
        if period is not None:
            shift, used = period
            return shift(hour), pos + used
        return (hour if hour <= 23 else None), pos

    def _date(self, pos: int) -> Iterator[_Piece]:
        """2018-11-29 | 29/11[/2018] (see also _day_then_month, _month_then_day)."""
        token = self.tokens[pos]
        if token.kind is _Kind.ISO:
            year, month, day = token.nums
            yield "day", _Date(year, month, day), pos + 1
        elif token.kind is _Kind.SLASH:
            first, second, *years = token.nums
            day, month = (first, second) if self.day_first else (second, first)
            yield "day", _Date(years[0] if years else None, month, day), pos + 1

    def _day_then_month(self, pos: int) -> Iterator[_Piece]:
        """29[th] [de | of] Nov[iembre] [[de] 2018]."""
        day = self._number(pos)
        at_month = self._skip(self._skip(pos + 1, _ORDINALS), _OF)
        month = _MONTHS.get(self.words[at_month])
        if day is not None and month is not None:
            year, end = self._year(at_month + 1)
            yield "day", _Date(year, month, day), end

    def _month_then_day(self, pos: int) -> Iterator[_Piece]:
        """Nov 29[th] [2018]."""
        month = _MONTHS.get(self.words[pos])
        day = self._number(pos + 1)
        if month is not None and day is not None:
            year, end = self._year(self._skip(pos + 2, _ORDINALS))
            yield "day", _Date(year, month, day), end

    def _year(self, pos: int) -> tuple[int | None, int]:
        at = self._skip(pos, _OF)
        year = self._number(at, range(4, 5))
        return (year, at + 1) if year is not None else (None, pos)

    def _weekday(self, pos: int) -> Iterator[_Piece]:
        """[next | this | próximo] Tuesday [que viene | próximo]."""
        before_next = _WEEKDAY_NEXT_BEFORE.length(self.words, pos)
        at = pos + (before_next or _WEEKDAY_THIS_BEFORE.length(self.words, pos))
        index = _WEEKDAYS.get(self.words[at])
        if index is None:
            return
        after_next = _WEEKDAY_NEXT_AFTER.length(self.words, at + 1)
        yield "weekday", _Weekday(index, bool(before_next or after_next)), at + 1 + after_next

    def _relative(self, pos: int) -> Iterator[_Piece]:
        relative = _RELATIVE_DAYS.match(self.words, pos)
        if relative is not None:
            days, used = relative
            yield "day", _Relative(days), pos + used

    def _zone(self, pos: int) -> Iterator[_Piece]:
        token = self.tokens[pos]
        if token.kind is _Kind.OFFSET:
            yield "offset", token.nums[0], pos + 1
        elif token.kind is _Kind.IANA:
            zone = self.resolver.iana(token.text)
            if zone is not None:
                yield "zone", zone, pos + 1
        elif token.kind is _Kind.WORD:
            run = self.words[pos:pos + self.resolver.longest_phrase]
            words = run[:run.index("")] if "" in run else run
            for zone, used in self.resolver.match(words):
                if words[used - 1] not in _GRAMMAR_WORDS:  # "hora de" is not "hora DE"
                    yield "zone", zone, pos + used


# --- from pieces to an instant ---------------------------------------------------------

def parse_when(text: str, *, now: datetime, zone: ResolvedZone, resolver: ZoneResolver,
               day_first: bool = True, past: bool = False) -> When:
    """The instant a phrase names; ``zone`` is the sender's, used when the phrase names none.

    ``past``: the phrase names a moment already gone ("since 1 Dec", "desde el lunes"), so a
    date without a year, a weekday and a bare time are their latest occurrence up to now.

    Raises TimeParseError when the phrase can't be read, AmbiguousTimeError or
    NonExistentTimeError (both with every reading) when it can be read more than one way.
    """
    if now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    return _When(text, _read(text, resolver, day_first), now, zone, past).when()


def _read(text: str, resolver: ZoneResolver, day_first: bool) -> _Reading:
    """The pieces of a phrase, not yet an instant; TimeParseError if it is not a time."""
    folded = fold(text)
    if len(folded) > _MAX_TEXT:
        raise TimeParseError(text)
    tokens = _tokenize(folded, text)
    reading = _Parser(tokens, resolver, day_first).parse() if tokens else None
    if reading is None or (reading.day is None and reading.weekday is None and reading.clock is None):
        raise TimeParseError(text)
    return reading


@dataclass(frozen=True)
class Conversion:
    """A time phrase and, if it ends in "in <zone>" after naming its own zone, the zone asked for."""

    when: When
    target: ResolvedZone | None


# " in " / " en " between a time and the zone to convert it to; tried from the right.
_IN_ZONE = re.compile(r"\s(?:in|en)\s", re.IGNORECASE)


def parse_conversion(text: str, *, now: datetime, zone: ResolvedZone, resolver: ZoneResolver,
                     day_first: bool = True) -> Conversion:
    """``parse_when``, plus a trailing "in <zone>" after a time that names its own zone.

    "7pm GMT in Auckland" is 19:00 GMT shown first in Auckland; "7pm in London"
    names no zone before "in", so it stays 7pm London time. A target that is no
    zone gets ``unknown_zone``'s answer. A DST gap or overlap in the phrase's own
    zone raises as ``parse_when`` does, with the target and that zone in ``shown_in``.
    """
    if now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    for split in reversed(list(_IN_ZONE.finditer(text))):
        head, tail = text[:split.start()], text[split.end():]
        try:
            reading = _read(head, resolver, day_first)
        except TimeParseError:
            continue
        if reading.zone is None and reading.offset is None:
            break  # "7pm in London": London is the phrase's own zone
        target = resolver.resolve(tail)
        if target is None:
            raise unknown_zone(resolver, tail)
        reader = _When(head, reading, now, zone)
        try:
            return Conversion(reader.when(), target)
        except (AmbiguousTimeError, NonExistentTimeError) as err:
            err.shown_in = (target, reader.zone)
            raise
    return Conversion(parse_when(text, now=now, zone=zone, resolver=resolver, day_first=day_first), None)


class _When:
    """Turns a reading into a ``When``, relative to ``now`` in the zone it is read in."""

    def __init__(self, text: str, reading: _Reading, now: datetime, default: ResolvedZone,
                 past: bool = False) -> None:
        self.text = text
        self.past = past
        self.reading = reading
        self.zone = reading.zone or (offset_zone(reading.offset) if reading.offset is not None else default)
        self.tz: PytzZone = self.zone.tz
        self.now_wall = now.astimezone(self.tz).replace(tzinfo=None)

    def when(self) -> When:
        day = self._day()
        clock = self.reading.clock
        at = self._start_of(day) if clock is None else self._instant(datetime.combine(day, clock))
        has_date = self.reading.day is not None or self.reading.weekday is not None
        return When(at=at, zone=self.zone, has_date=has_date, has_time=clock is not None)

    def _ahead(self, day: date) -> bool:
        """Whether that day (at the phrase's time, if any) is not yet past; with ``past``,
        whether it has begun (its time, if any, is not ahead), the direction being backwards."""
        clock = self.reading.clock
        if clock is None:
            return day <= self.now_wall.date() if self.past else day >= self.now_wall.date()
        if self.past:
            return datetime.combine(day, clock) <= self.now_wall
        return datetime.combine(day, clock) > self.now_wall

    @property
    def _step(self) -> int:
        """The direction to look in for the next candidate day: back in time with ``past``."""
        return -1 if self.past else 1

    def _day(self) -> date:
        today = self.now_wall.date()
        day, weekday = self.reading.day, self.reading.weekday
        if isinstance(day, _Relative):
            found = today + timedelta(days=day.days)
        elif isinstance(day, _Date):
            found = self._calendar_day(day)
        elif weekday is not None:
            return self._next_weekday(today, weekday)
        else:
            return today if self._ahead(today) else today + timedelta(days=self._step)
        if weekday is not None and found.weekday() != weekday.index:
            raise TimeParseError(self.text, key="time.weekday_mismatch")  # "Friday 29 Nov 2018" was a Thursday
        return found

    def _calendar_day(self, spec: _Date) -> date:
        if spec.year is not None:
            if spec.year not in _YEARS:
                raise TimeParseError(self.text)
            return self._date(spec.year, spec)
        if not (1 <= spec.month <= 12 and 1 <= spec.day <= 31):
            raise TimeParseError(self.text)
        for year in range(self.now_wall.year, self.now_wall.year + 9 * self._step, self._step):  # 29 Feb: within 8
            try:
                candidate = date(year, spec.month, spec.day)
            except ValueError:
                continue
            if self._ahead(candidate):
                return candidate
        raise TimeParseError(self.text)

    def _date(self, year: int, spec: _Date) -> date:
        try:
            return date(year, spec.month, spec.day)
        except ValueError:
            raise TimeParseError(self.text) from None

    def _next_weekday(self, today: date, weekday: _Weekday) -> date:
        if self.past:  # the latest such day, today included ("since Monday" said on a Monday)
            back = (today.weekday() - weekday.index) % 7
            if back == 0 and (weekday.skip_today or not self._ahead(today)):
                back = 7
            return today - timedelta(days=back)
        days = (weekday.index - today.weekday()) % 7
        if days == 0 and not weekday.skip_today:
            if self.reading.clock is None:
                readings = [self._start_of(today), self._start_of(today + timedelta(days=7))]
                raise AmbiguousTimeError(self.text, readings=readings, key="time.ambiguous_day")
            return today if self._ahead(today) else today + timedelta(days=7)
        return today + timedelta(days=days or 7)

    def _start_of(self, day: date) -> datetime:
        """The first instant of a local day: 00:00, or the end of a DST gap at midnight."""
        midnight = datetime.combine(day, time())
        readings = _wall_readings(self.tz, midnight) or _gap_readings(self.tz, midnight)[-1:]
        return readings[0]

    def _instant(self, wall: datetime) -> datetime:
        readings = _wall_readings(self.tz, wall)
        if not readings:
            raise NonExistentTimeError(self.text, readings=_gap_readings(self.tz, wall))
        offset = self.reading.offset
        if offset is not None:
            stated = (wall - timedelta(minutes=offset)).replace(tzinfo=_UTC)
            if stated not in readings:
                raise TimeParseError(self.text, key="time.offset_mismatch")  # "16:00 London (UTC−3)"
            return stated
        if len(readings) > 1:
            raise AmbiguousTimeError(self.text, readings=readings)
        return readings[0]


def _wall_readings(tz: PytzZone, wall: datetime) -> list[datetime]:
    """Every UTC instant showing this wall-clock time: one, two (overlap) or none (gap)."""
    try:
        return [tz.localize(wall, is_dst=None).astimezone(_UTC)]
    except pytz.AmbiguousTimeError:
        return sorted({tz.localize(wall, is_dst=flag).astimezone(_UTC) for flag in (True, False)})
    except pytz.NonExistentTimeError:
        return []


def _gap_readings(tz: PytzZone, wall: datetime) -> list[datetime]:
    """A skipped wall time read with the offset before the change and with the one after."""
    return sorted({tz.localize(wall, is_dst=flag).astimezone(_UTC) for flag in (True, False)})


# --- durations -------------------------------------------------------------------------

_DURATION_LEXER = re.compile(
    r"(?P<clock>[0-9]{1,2}:[0-9]{2})|(?P<number>[0-9]{1,5}(?:[.,][0-9]{1,3})?)|(?P<word>[a-z]+)|(?P<skip>[\s']+)",
    re.ASCII,
)
_UNIT_MINUTES: dict[str, int] = {
    **dict.fromkeys(("h", "hs", "hr", "hrs", "hour", "hours", "hora", "horas"), 60),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes", "minuto", "minutos"), 1),
}
_ONE = frozenset({"a", "an", "one", "un", "una", "uno"})
_AND = frozenset({"y", "and"})
_HALF_HOUR = _words("media hora", "half an hour", "half hour")
_AND_A_HALF = _words("y media", "and a half")
_MAX_DURATION = timedelta(days=7)


def parse_duration(text: str) -> timedelta:
    """"1h", "90m", "1h30", "1.5h", "2 hours", "1 hora y media", "media hora" → a timedelta.

    Hours come before minutes; a number after hours without a unit is minutes ("1h30").
    Between one second and seven days, else TimeParseError.
    """
    folded = fold(text).strip()
    words = _duration_words(folded) if len(folded) <= _MAX_TEXT else None
    minutes = _duration_minutes(words) if words else None
    seconds = round(minutes * 60) if minutes is not None else 0
    if not 0 < seconds <= _MAX_DURATION.total_seconds():
        raise TimeParseError(text, key="time.bad_duration")
    return timedelta(seconds=seconds)


def _duration_words(folded: str) -> tuple[str, ...] | None:
    """Numbers and words; "1:30" becomes "1 h 30 m"; None if a character fits no token."""
    words: list[str] = []
    pos = 0
    while pos < len(folded):
        match = _DURATION_LEXER.match(folded, pos)
        if match is None:
            return None
        pos = match.end()
        if match.lastgroup == "clock":
            hours, minutes = match.group().split(":")
            words += [hours, "h", minutes, "m"]
        elif match.lastgroup != "skip":
            words.append(match.group().replace(",", "."))
    return tuple(words)


def _duration_minutes(words: tuple[str, ...]) -> float | None:
    """Sum the terms, hours before minutes; None if anything is left over."""
    total, pos = 0.0, 0
    units: tuple[int, ...] = (60, 1)  # the units still allowed, in order
    while pos < len(words):
        half_hour = _HALF_HOUR.length(words, pos)
        if words[pos] in _AND:
            pos += 1
        elif half_hour and 60 in units:
            total, pos, units = total + 30, pos + half_hour, (1,)
        else:
            term = _duration_term(words, pos, units)
            if term is None:
                return None
            minutes, pos, units = term
            total += minutes
    return total


def _duration_term(
    words: tuple[str, ...], pos: int, units: tuple[int, ...],
) -> tuple[float, int, tuple[int, ...]] | None:
    """"<amount> <unit> [y media]" at pos: its minutes, where it ends, the units still allowed."""
    amount = _amount(words[pos])
    if amount is None:
        return None
    if pos + 1 == len(words) and units == (1,):  # "1h30": bare minutes after the hours
        return amount, pos + 1, ()
    unit = _UNIT_MINUTES.get(words[pos + 1]) if pos + 1 < len(words) else None
    if unit is None or unit not in units:
        return None
    minutes, end = amount * unit, pos + 2
    half = _AND_A_HALF.length(words, end) if unit == 60 and amount.is_integer() else 0
    return minutes + 30 * bool(half), end + half, units[units.index(unit) + 1:]


def _amount(word: str) -> float | None:
    if word in _ONE:
        return 1.0
    return float(word) if word[0].isdigit() else None
