"""Time zones as people write them: "GMT-3", "hora de Londres", "FACTTIC time", "Europe/Berlin".

Everything here works on *folded* text (``fold``: lower case, no accents, U+2212 minus
as "-") split into words by ``WORD_PATTERN``, the parser's own: "Asunción", "ASUNCION" and
"asuncion" are one name, and the time parser can hand over the words it has already split.

Abbreviations ("CET", "EST", "ART") are read as the fixed offsets they name, never as the
region's zone: a member who writes "16:00 CET" in July means UTC+1, whatever Berlin does
that day. Offsets ("GMT-3", "UTC+05:30", "-03:00") are built with ``pytz.FixedOffset``
and keep their sign: POSIX ``Etc/GMT-3`` means UTC+3, so those names are refused.
"""
from __future__ import annotations

import difflib
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TypeAlias, TypeVar

import pytz

from bot.errors import ConfigError, UsageError

__all__ = ["CoopZone", "PytzZone", "ResolvedZone", "ZoneResolver", "unknown_zone", "utc_offset_label"]
# Also used by bot.timeparse, which reads zones inside longer phrases: fold, WORD_PATTERN,
# OFFSET_PATTERN, parse_offset, offset_zone, ZoneResolver.match / .iana / .longest_phrase.

# What pytz hands out: zones from the database, UTC, or a fixed offset.
PytzZone: TypeAlias = "pytz.BaseTzInfo | pytz._FixedOffset"

_T = TypeVar("_T")
_MINUS_SIGN = "\u2212"
_MAX_OFFSET_MINUTES = 14 * 60
_MAX_NAME = 200
RESOLVED_KEPT = 4096  # phrases a ZoneResolver remembers
# The accents NFKD splits off letters ("í" → "i" + U+0301), in Unicode's combining blocks.
_COMBINING_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")

# A word: letters, maybe joined by an apostrophe or a hyphen ("o'clock", "it-kollektiv").
WORD_PATTERN = r"[a-z]+(?:['’-][a-z]+)*"
_WORD = re.compile(WORD_PATTERN, re.ASCII)
# What may sit between the words of a name: spaces and light punctuation.
_NAME_TEXT = re.compile(r"[a-z'’\- ,.()_]+", re.ASCII)

# "GMT-3", "utc +05:30", "UTC−3:30", "-03:00", "+0530". Without GMT/UTC in front the
# minutes are required, so a stray "-3" is not an offset.
_OFFSET = re.compile(
    r"(?:(?P<prefix>gmt|utc|ut) ?)?(?P<sign>[+-])(?P<hours>[0-9]{1,2})(?::?(?P<minutes>[0-9]{2}))?", re.ASCII
)
# The same, without its groups, for a lexer to find offsets inside longer text.
OFFSET_PATTERN = re.sub(r"\(\?P<\w+>", "(?:", _OFFSET.pattern)


@dataclass(frozen=True)
class CoopZone:
    """The minimum the time engine needs to know about a configured coop."""

    name: str
    zone: str  # IANA name, or anything ``ZoneResolver`` reads without coops ("GMT-3")
    city: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class ResolvedZone:
    """A pytz zone and how to show it: a city, an abbreviation or "UTC−3"."""

    tz: PytzZone
    label: str


# --- folding ---------------------------------------------------------------------------

def fold(text: str) -> str:
    """Lower case, accents stripped, U+2212 as "-": the form every table here is keyed by."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold().replace(_MINUS_SIGN, "-"))
    return _COMBINING_MARKS.sub("", decomposed)


def _name_words(folded: str) -> tuple[str, ...]:
    """The words of an already folded name; punctuation and "_" only separate them."""
    return tuple(_WORD.findall(folded))


def _key(name: str) -> str:
    return " ".join(_name_words(fold(name)))


# --- offsets ---------------------------------------------------------------------------

def parse_offset(folded: str) -> int | None:
    """Minutes east of UTC for a whole offset phrase ("gmt-3" → -180); None when it is not
    one, is out of range, or is bare without minutes ("-3")."""
    match = _OFFSET.fullmatch(folded)
    if match is None:
        return None
    minutes = match.group("minutes")
    if match.group("prefix") is None and minutes is None:
        return None
    hours, mins = int(match.group("hours")), int(minutes or 0)
    total = hours * 60 + mins
    if mins >= 60 or total > _MAX_OFFSET_MINUTES:
        return None
    return -total if match.group("sign") == "-" else total


@lru_cache(maxsize=256)
def _format_offset(minutes: int) -> str:
    """-180 → "UTC−3", 330 → "UTC+5:30", 0 → "UTC+0" (a real minus sign, U+2212)."""
    sign = _MINUS_SIGN if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{mins:02d}" if mins else "")


def utc_offset_label(at_utc: datetime, tz: PytzZone) -> str:
    """The zone's offset at that instant: "UTC+0", "UTC−3", "UTC+5:45"."""
    return offset_label(at_utc.astimezone(tz))


def offset_label(local: datetime) -> str:
    """The UTC offset of an aware local time, as ``utc_offset_label`` writes it."""
    offset = local.utcoffset() or timedelta(0)
    return _format_offset(round(offset.total_seconds() / 60))


def offset_zone(minutes: int, label: str | None = None) -> ResolvedZone:
    """A fixed offset, labelled "UTC−3" unless a label (an abbreviation) is given."""
    return ResolvedZone(tz=pytz.FixedOffset(minutes), label=label or _format_offset(minutes))


# --- tables ----------------------------------------------------------------------------

# Abbreviations, as fixed offsets in minutes. Those that mean different things around the
# world (CST, IST) are read the way our members use them.
_ABBREVIATIONS: dict[str, int] = {
    "GMT": 0, "UTC": 0, "UT": 0, "Z": 0, "WET": 0, "WEST": 60, "BST": 60,
    "CET": 60, "CEST": 120, "EET": 120, "EEST": 180,
    "ART": -180, "BRT": -180, "UYT": -180, "CLT": -240, "CLST": -180, "PYT": -240, "PYST": -180,
    "EST": -300, "EDT": -240, "CST": -360, "CDT": -300, "MST": -420, "MDT": -360,
    "PST": -480, "PDT": -420, "AKST": -540, "AKDT": -480, "HST": -600,
    "IST": 330, "NPT": 345, "JST": 540, "KST": 540,
    "AEST": 600, "AEDT": 660, "ACST": 570, "AWST": 480, "NZST": 720, "NZDT": 780,
}

# Generic names that follow DST, so they are real zones.
_GENERIC: dict[str, str] = {
    "ET": "America/New_York", "CT": "America/Chicago", "MT": "America/Denver", "PT": "America/Los_Angeles",
}

# Places people name, in English and Spanish; each name is shown the way it was written.
# Countries only when they have one zone. The cities of IANA names ("Detroit") come on top.
_PLACES: dict[str, tuple[str, ...]] = {
    "Europe/London": (
        "London", "Londres", "Manchester", "Bristol", "Liverpool", "Leeds", "Glasgow",
        "Edinburgh", "Edimburgo", "Cardiff", "Belfast", "England", "Inglaterra", "UK",
        "United Kingdom", "Reino Unido", "Britain", "Great Britain", "Gran Bretaña",
        "Scotland", "Escocia", "Wales", "Gales",
    ),
    "Europe/Dublin": ("Dublin", "Dublín", "Ireland", "Irlanda"),
    "Europe/Lisbon": ("Lisbon", "Lisboa", "Porto", "Oporto"),
    "Europe/Madrid": ("Madrid", "Barcelona", "Sevilla", "Seville", "Bilbao", "Zaragoza", "Málaga", "Spain", "España"),
    "Europe/Paris": ("Paris", "París", "Lyon", "Marseille", "Marsella", "France", "Francia"),
    "Europe/Brussels": ("Brussels", "Bruselas", "Belgium", "Bélgica"),
    "Europe/Amsterdam": ("Amsterdam", "Ámsterdam", "Rotterdam", "Netherlands", "Países Bajos", "Holland", "Holanda"),
    "Europe/Berlin": (
        "Berlin", "Berlín", "Hamburg", "Hamburgo", "Munich", "Múnich", "München", "Cologne", "Colonia",
        "Köln", "Frankfurt", "Fráncfort", "Leipzig", "Dresden", "Dresde", "Stuttgart", "Bremen",
        "Germany", "Alemania", "Deutschland",
    ),
    "Europe/Zurich": ("Zurich", "Zúrich", "Geneva", "Ginebra", "Switzerland", "Suiza"),
    "Europe/Vienna": ("Vienna", "Viena", "Wien", "Austria"),
    "Europe/Rome": ("Rome", "Roma", "Milan", "Milán", "Italy", "Italia"),
    "Europe/Copenhagen": ("Copenhagen", "Copenhague", "Denmark", "Dinamarca"),
    "Europe/Oslo": ("Oslo", "Norway", "Noruega"),
    "Europe/Stockholm": ("Stockholm", "Estocolmo", "Sweden", "Suecia"),
    "Europe/Helsinki": ("Helsinki", "Finland", "Finlandia"),
    "Europe/Warsaw": ("Warsaw", "Varsovia", "Poland", "Polonia"),
    "Europe/Prague": ("Prague", "Praga", "Czechia", "Chequia"),
    "Europe/Athens": ("Athens", "Atenas", "Greece", "Grecia"),
    "Europe/Istanbul": ("Istanbul", "Estambul", "Turkey", "Türkiye", "Turquía"),
    "Europe/Kyiv": ("Kyiv", "Kiev", "Ukraine", "Ucrania"),
    "Europe/Moscow": ("Moscow", "Moscú"),
    "America/Argentina/Buenos_Aires": (
        "Buenos Aires", "CABA", "Rosario", "La Plata", "Mar del Plata", "Argentina",
    ),
    "America/Montevideo": ("Montevideo", "Uruguay"),
    "America/Asuncion": ("Asunción", "Paraguay"),
    "America/Santiago": ("Santiago", "Santiago de Chile", "Valparaíso", "Chile"),
    "America/Sao_Paulo": ("São Paulo", "San Pablo", "Rio de Janeiro", "Río de Janeiro", "Brasília"),
    "America/La_Paz": ("La Paz", "Bolivia"),
    "America/Lima": ("Lima", "Peru", "Perú"),
    "America/Bogota": ("Bogotá", "Medellín", "Colombia"),
    "America/Caracas": ("Caracas", "Venezuela"),
    "America/Guayaquil": ("Quito", "Guayaquil"),
    "America/Panama": ("Panama", "Panamá"),
    "America/Costa_Rica": ("Costa Rica",),
    "America/Guatemala": ("Guatemala",),
    "America/Havana": ("Havana", "La Habana", "Cuba"),
    "America/Mexico_City": (
        "Mexico City", "Ciudad de México", "CDMX", "México DF", "Guadalajara", "Puebla",
    ),
    "America/New_York": (
        "New York", "Nueva York", "NYC", "Boston", "Washington", "Washington DC", "Philadelphia",
        "Filadelfia", "Atlanta", "Miami", "Pittsburgh",
    ),
    "America/Toronto": ("Toronto", "Montréal", "Ottawa"),
    "America/Chicago": ("Chicago", "Houston", "Dallas", "Austin", "Minneapolis", "New Orleans", "Nueva Orleans"),
    "America/Denver": ("Denver", "Salt Lake City", "Albuquerque"),
    "America/Phoenix": ("Phoenix",),
    "America/Los_Angeles": (
        "Los Angeles", "Los Ángeles", "San Francisco", "Oakland", "Seattle", "San Diego",
    ),
    "Pacific/Honolulu": ("Honolulu", "Hawaii", "Hawái"),
    "Pacific/Auckland": ("Auckland", "Wellington", "Christchurch", "New Zealand", "Nueva Zelanda", "Aotearoa"),
    "Australia/Sydney": ("Sydney", "Sídney", "Canberra"),
    "Australia/Brisbane": ("Brisbane",),
    "Australia/Perth": ("Perth",),
    "Asia/Tokyo": ("Tokyo", "Tokio", "Japan", "Japón"),
    "Asia/Seoul": ("Seoul", "Seúl", "South Korea", "Corea del Sur"),
    "Asia/Shanghai": ("Beijing", "Pekín", "Shanghai", "Shanghái", "China"),
    "Asia/Hong_Kong": ("Hong Kong",),
    "Asia/Singapore": ("Singapore", "Singapur"),
    "Asia/Kolkata": (
        "Kolkata", "Calcutta", "Calcuta", "Delhi", "New Delhi", "Nueva Delhi", "Mumbai", "Bombay",
        "Bangalore", "Bengaluru", "Chennai", "India", "la India",
    ),
    "Asia/Kathmandu": ("Kathmandu", "Katmandú", "Nepal"),
    "Asia/Dubai": ("Dubai", "Dubái"),
    "Asia/Jerusalem": ("Tel Aviv", "Jerusalem", "Jerusalén"),
    "Africa/Cairo": ("Cairo", "El Cairo", "Egypt", "Egipto"),
    "Africa/Johannesburg": (
        "Johannesburg", "Johannesburgo", "Cape Town", "Ciudad del Cabo", "South Africa", "Sudáfrica",
    ),
    "Africa/Nairobi": ("Nairobi", "Kenya", "Kenia"),
    "Africa/Lagos": ("Lagos", "Nigeria"),
}

# "hora de Londres", "horario de Buenos Aires", "time in London" / "FACTTIC time".
_LEADS: tuple[tuple[str, ...], ...] = (
    ("hora", "de"), ("hora", "del"), ("hora", "en"), ("horario", "de"), ("horario", "del"),
    ("time", "in"), ("hora",), ("horario",),
)
_LEAD_WORDS = frozenset(lead[0] for lead in _LEADS)
_TRAILS: tuple[tuple[str, ...], ...] = (("time",),)

# POSIX-style names whose sign is the opposite of what people mean.
_POSIX_GMT = re.compile(r"etc/gmt[+-][0-9]+")
# Cities named after other places too: which one is meant can't be told, so none is.
_AMBIGUOUS_CITIES = frozenset({"cordoba", "valencia", "san jose", "portland", "san juan", "santa cruz"})
_REGIONS = (
    "Africa/", "America/", "Antarctica/", "Arctic/", "Asia/", "Atlantic/", "Australia/", "Europe/", "Indian/",
    "Pacific/",
)


def _city(iana: str) -> str:
    """The city part of an IANA name, with its accents when our table knows it."""
    city = iana.rsplit("/", 1)[-1].replace("_", " ")
    return _ACCENTED_CITIES.get(_key(city), city)


def _zone_label(iana: str) -> str:
    """The city, if it reads back as this zone; else the IANA name ("US/Pacific")."""
    city = _city(iana)
    entry = _BUILTIN.get(_key(city))
    return city if entry is not None and entry.zone == iana else iana


def _first_spelling(pairs: Iterable[tuple[str, _T]]) -> dict[str, _T]:
    """Keyed by folded name; when two spellings fold alike ("Berlin", "Berlín") the first wins."""
    table: dict[str, _T] = {}
    for name, value in pairs:
        table.setdefault(_key(name), value)
    return table


_ACCENTED_CITIES: dict[str, str] = _first_spelling((name, name) for names in _PLACES.values() for name in names)
_IANA_NAMES: dict[str, str] = {
    name.lower(): name for name in pytz.all_timezones if "/" in name and not _POSIX_GMT.fullmatch(name.lower())
}


@dataclass(frozen=True)
class _Entry:
    """A name in the table: a zone (IANA name or fixed minutes) and its label."""

    zone: str | int
    label: str

    def resolve(self) -> ResolvedZone:
        if isinstance(self.zone, int):
            return offset_zone(self.zone, self.label)
        return ResolvedZone(tz=pytz.timezone(self.zone), label=self.label)


def _builtin_entries() -> Iterable[tuple[str, _Entry]]:
    """Our tables first, then the city of every regional IANA zone not named twice."""
    for abbreviation, minutes in _ABBREVIATIONS.items():
        yield abbreviation, _Entry(minutes, "UTC" if abbreviation in ("Z", "UT") else abbreviation)
    for generic, iana in _GENERIC.items():
        yield generic, _Entry(iana, _city(iana))
    for iana, names in _PLACES.items():
        for name in names:
            yield name, _Entry(iana, name)
    cities = [(_city(iana), iana) for iana in pytz.common_timezones if iana.startswith(_REGIONS)]
    named = Counter(_key(city) for city, _ in cities)
    for city, iana in cities:
        if named[_key(city)] == 1 and _key(city) not in _AMBIGUOUS_CITIES:
            yield city, _Entry(iana, city)


_BUILTIN: dict[str, _Entry] = _first_spelling(_builtin_entries())


class ZoneResolver:
    """Reads a zone from what a member wrote; the configured coops' names come first.

    Names are indexed when the module loads and here; ``resolve`` and ``match`` are
    dictionary lookups, and each zone object is built the first time it is named.
    """

    def __init__(self, coops: Sequence[CoopZone], remembered: int = RESOLVED_KEPT) -> None:
        self._names: dict[str, _Entry] = {**_BUILTIN, **self._coop_entries(coops)}
        self._coop_spellings = _first_spelling((name, name) for c in coops for name in (c.name, c.city, *c.aliases))
        self._zones: dict[str, ResolvedZone] = {}  # built on first use: pytz loads zones lazily
        self._resolved: dict[str, ResolvedZone | None] = {}
        self._remembered = remembered
        self.coops: tuple[tuple[str, ResolvedZone], ...] = tuple(
            (coop.name, self._names[_key(coop.name)].resolve()) for coop in coops if _key(coop.name) in self._names
        )  # each coop's zone, labelled by its city, worked out once
        self._longest_name = max(len(key.split()) for key in self._names)
        self._first_words = frozenset(key.split()[0] for key in self._names) | _LEAD_WORDS
        # A zone phrase is at most: lead ("horario de") + name + "time".
        self.longest_phrase = 2 + self._longest_name + 1

    def _coop_entries(self, coops: Sequence[CoopZone]) -> dict[str, _Entry]:
        entries: dict[str, _Entry] = {}
        problems: list[str] = []
        for coop in coops:
            zone = self._builtin(coop.zone)
            if zone is None:
                problems.append(f"coop {coop.name!r}: unknown time zone {coop.zone!r}")
                continue
            entry = _Entry(zone, coop.city)
            entries |= {key: entry for key in map(_key, (coop.name, coop.city, *coop.aliases)) if key}
        if problems:
            raise ConfigError(problems)
        return entries

    @staticmethod
    def _builtin(text: str) -> str | int | None:
        """A coop's configured zone as an IANA name or fixed minutes, without coop names."""
        folded = fold(text).strip()
        if folded in _IANA_NAMES:
            return _IANA_NAMES[folded]
        offset = parse_offset(folded)
        if offset is not None:
            return offset
        entry = _BUILTIN.get(_key(folded))
        return entry.zone if entry else None

    def resolve(self, text: str) -> ResolvedZone | None:
        """The zone a whole phrase names, or None: "GMT-3", "Europe/London", "hora de Londres".

        Remembered (up to ``remembered`` phrases, then forgotten all at once): every command resolves its sender's
        zone, and a chat has few members and fewer zones.
        """
        try:
            return self._resolved[text]
        except KeyError:
            pass
        if len(self._resolved) >= self._remembered:
            self._resolved.clear()
        zone = self._resolved[text] = self._resolve(text)
        return zone

    def _resolve(self, text: str) -> ResolvedZone | None:
        folded = fold(text).strip()
        if not folded or len(folded) > _MAX_NAME:
            return None
        offset = parse_offset(folded.replace(" ", ""))
        if offset is not None:
            return offset_zone(offset)
        if "/" in folded:
            return self.iana(folded)
        if not _NAME_TEXT.fullmatch(folded):
            return None
        words = _name_words(folded)
        for zone, used in self.match(words):
            if used == len(words):
                return zone
        return None

    def _named(self, key: str) -> ResolvedZone | None:
        zone = self._zones.get(key)
        if zone is None and key in self._names:
            zone = self._zones[key] = self._names[key].resolve()
        return zone

    def iana(self, folded: str) -> ResolvedZone | None:
        """An IANA name in any case ("europe/london"); POSIX ``Etc/GMT±N`` is refused."""
        name = _IANA_NAMES.get(folded)
        return ResolvedZone(tz=pytz.timezone(name), label=_zone_label(name)) if name else None

    def suggestions(self, text: str, limit: int = 3) -> list[str]:
        """Names close to an unknown zone ("Aukland" → "Auckland"), as they are usually written."""
        folded = fold(text).strip()
        if not folded or len(folded) > _MAX_NAME:
            return []
        if "/" in folded:
            return [_IANA_NAMES[k] for k in difflib.get_close_matches(folded, _IANA_NAMES, limit, 0.75)]
        close = difflib.get_close_matches(_key(folded), self._names, limit, 0.75)
        return [self._coop_spellings.get(key) or _spelling(key, self._names[key]) for key in close]

    def match(self, words: Sequence[str]) -> list[tuple[ResolvedZone, int]]:
        """Every zone phrase that starts these folded words, with how many words it uses.

        Longest first, so a parser can try "hora de Buenos Aires" before "hora".
        """
        if not words or words[0] not in self._first_words:
            return []
        found: list[tuple[ResolvedZone, int]] = []
        leads = [len(lead) for lead in _LEADS if _starts(words, 0, lead)] if words[0] in _LEAD_WORDS else []
        for lead in (0, *leads):
            for size in range(min(self._longest_name, len(words) - lead), 0, -1):
                zone = self._named(" ".join(words[lead:lead + size]))
                if zone is None:
                    continue
                end = lead + size
                found.extend((zone, end + len(trail)) for trail in _TRAILS if _starts(words, end, trail))
                found.append((zone, end))
        found.sort(key=lambda pair: -pair[1])
        return found


def _starts(words: Sequence[str], at: int, phrase: tuple[str, ...]) -> bool:
    return tuple(words[at:at + len(phrase)]) == phrase


def _spelling(key: str, entry: _Entry) -> str:
    """How a built-in name is written: its label when that is the name itself, else the key."""
    return entry.label if _key(entry.label) == key else key.upper() if key.upper() in _ABBREVIATIONS else key.title()


def unknown_zone(resolver: ZoneResolver, text: str) -> UsageError:
    """The answer to a zone nobody knows, with the names it may have meant."""
    close = resolver.suggestions(text)
    if close:
        return UsageError("tz.unknown_zone_suggest", text=text.strip(), names=", ".join(close))
    return UsageError("tz.unknown_zone", text=text.strip())
