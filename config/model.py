"""The typed shape of ``bot.yaml``: one frozen pydantic model per section.

Every check written here raises an error of type :data:`PROBLEM` whose message
already reads "<value> is wrong; expected <what>", so ``config.loader`` only has
to put the dotted key path in front. Checks that need several keys report each
key at its own location (see :func:`_raise_all`).

Checks that compare sections (unique coop names, the adapters that need the HTTP
server) run once the sections they compare are valid on their own.
"""
from __future__ import annotations

import difflib
import os
import re
import ssl
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import time, timedelta
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Self

import pytz
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    SecretStr,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from bot.timeparse import weekday_number  # the chat's weekday words: English and Spanish, with or without accents

Language = Literal["en", "es"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
Loc = tuple[str | int, ...]

PROBLEM = "coopbot_config"
"""Error type of every check in this module; its message is complete after the key path."""

CONTEXT_BASE_DIR = "base_dir"
"""Validation-context key: the directory relative SQLite paths resolve against (default: cwd)."""


def _problem(message: str) -> PydanticCustomError:
    return PydanticCustomError(PROBLEM, message)


def _raise_all(title: str, problems: Sequence[tuple[Loc, str]]) -> None:
    """Raise one error holding every problem, each at its own key below the validated value."""
    if problems:
        details = [InitErrorDetails(type=_problem(msg), loc=loc, input=None) for loc, msg in problems]
        raise ValidationError.from_exception_data(title, details)


# --- durations ---------------------------------------------------------------

_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?", re.IGNORECASE)
_UNITS = (("days", "d", 86400), ("hours", "h", 3600), ("minutes", "m", 60), ("seconds", "s", 1))


def _not_a_duration(value: object) -> str:
    return f"{value!r} is not a duration; expected a number and a unit (s, m, h, d), such as '24h', '15m' or '1h30m'"


def parse_duration_setting(text: str) -> timedelta:
    """Read a duration such as ``"24h"``, ``"15m"``, ``"1d"`` or ``"1h30m"``.

    Units are ``d``, ``h``, ``m`` and ``s``, largest first, each at most once;
    seconds may have decimals (``"0.2s"``, a test's poll interval).
    Raises ``ValueError`` with a message naming the text and the expected form.
    """
    match = _DURATION.fullmatch(text.replace(" ", ""))
    if match is None or not any(match.groups()):
        raise ValueError(_not_a_duration(text))
    try:
        return timedelta(**{unit: float(n) for (unit, _, _), n in zip(_UNITS, match.groups()) if n})
    except OverflowError:
        raise ValueError(f"{text!r} is too long; expected a shorter duration, such as '1d'") from None


def format_duration(duration: timedelta) -> str:
    """The shortest text :func:`parse_duration_setting` reads back as ``duration`` (whole seconds)."""
    remaining = int(duration.total_seconds())
    parts = []
    for _, symbol, size in _UNITS:
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{symbol}")
    return "".join(parts) or "0s"


def _to_duration(value: object, *, zero_allowed: bool = False) -> timedelta:
    if zero_allowed and value in (0, "0"):
        return timedelta(0)
    if isinstance(value, timedelta):
        duration = value
    elif isinstance(value, str):
        try:
            duration = parse_duration_setting(value)
        except ValueError as exc:
            raise _problem(str(exc)) from None
    else:
        raise _problem(_not_a_duration(value))
    if duration < timedelta(0) or (duration == timedelta(0) and not zero_allowed):
        expected = "0 (off) or a duration, such as '24h'" if zero_allowed else "a duration longer than zero, such as '15m'"
        raise _problem(f"{format_duration(duration)!r} is not positive; expected {expected}")
    return duration


def _to_duration_or_off(value: object) -> timedelta:
    return _to_duration(value, zero_allowed=True)


Duration = Annotated[timedelta, PlainValidator(_to_duration)]
DurationOrOff = Annotated[timedelta, PlainValidator(_to_duration_or_off)]  # 0 (or "0s") turns the thing off


# --- zones -------------------------------------------------------------------

_EXAMPLE_ZONE = "America/Argentina/Buenos_Aires"
_OFFSET_ZONE = re.compile(r"(Etc/)?(?:GMT|UTC)\s*([+-])\s*(\d{1,2})(?::?00)?", re.IGNORECASE)
# A city zone per (winter) UTC offset, to suggest instead of a fixed offset.
_CITY_BY_OFFSET = {
    -8: "America/Los_Angeles", -7: "America/Denver", -6: "America/Chicago", -5: "America/New_York",
    -3: "America/Argentina/Buenos_Aires", 0: "Europe/London", 1: "Europe/Berlin", 2: "Europe/Athens",
    3: "Europe/Istanbul", 8: "Asia/Shanghai", 9: "Asia/Tokyo", 10: "Australia/Sydney",
}


def _offset_zone_problem(text: str, match: re.Match[str]) -> str:
    etc, sign, hours = match.groups()
    written = int(hours) if sign == "+" else -int(hours)
    meant = f"a city zone such as {_CITY_BY_OFFSET.get(written, _EXAMPLE_ZONE)!r} for UTC{written:+d}"
    if not etc:
        return f"{text!r} is a fixed offset, not a time zone; expected {meant}, which also follows daylight saving"
    actual = -written  # POSIX: Etc/GMT-3 is three hours *ahead* of UTC
    other = _CITY_BY_OFFSET.get(actual)
    alternative = f", or {other!r} if UTC{actual:+d} was meant" if other else ""
    return (
        f"{text!r} is UTC{actual:+d}, not UTC{written:+d}: the POSIX-style Etc/GMT zones invert the sign; "
        f"expected {meant}{alternative}"
    )


def _suggest_zone(text: str) -> str:
    """The common zone whose name or city part is closest to ``text`` ("Berln" → Europe/Berlin)."""
    names = {zone.casefold(): str(zone) for zone in pytz.common_timezones}
    names |= {zone.rsplit("/", 1)[-1].casefold(): str(zone) for zone in pytz.common_timezones}
    close = difflib.get_close_matches(text.strip().replace(" ", "_").casefold(), names, n=1)
    return names[close[0]] if close else _EXAMPLE_ZONE


def _to_zone(value: object) -> str:
    """Return the canonical IANA name of a zone pytz knows; refuse offsets posing as zones."""
    text = value.strip() if isinstance(value, str) else ""
    offset = _OFFSET_ZONE.fullmatch(text)
    if offset and int(offset.group(3)) != 0:
        raise _problem(_offset_zone_problem(text, offset))
    try:
        return str(pytz.timezone(text).zone)
    except pytz.UnknownTimeZoneError:
        raise _problem(
            f"{value!r} is not a time zone; expected an IANA name such as {_suggest_zone(text)!r}"
        ) from None


Zone = Annotated[str, PlainValidator(_to_zone)]


# --- small value types -------------------------------------------------------

_HOURS = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")


def _not_hours(value: object) -> str:
    return f"{value!r} is not a span of hours; expected 'HH:MM-HH:MM' in 24-hour time, such as '09:00-18:00'"


@dataclass(frozen=True)
class WorkingHours:
    """A coop's local working day, e.g. 09:00-18:00 (start before end, same day)."""

    start: time
    end: time

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def contains(self, moment: time) -> bool:
        return self.start <= moment < self.end

    @classmethod
    def parse(cls, text: str) -> WorkingHours:
        """Read ``"HH:MM-HH:MM"``; raise ``ValueError`` naming the text and the expected form."""
        match = _HOURS.fullmatch(text.strip())
        if match is None:
            raise ValueError(_not_hours(text))
        h1, m1, h2, m2 = map(int, match.groups())
        try:
            hours = cls(time(h1, m1), time(h2, m2))
        except ValueError:  # 25:00, 09:61
            raise ValueError(_not_hours(text)) from None
        if hours.start >= hours.end:
            raise ValueError(f"{text!r} ends before it starts; expected the start before the end, such as '09:00-18:00'")
        return hours


def _to_working_hours(value: object) -> WorkingHours:
    if isinstance(value, WorkingHours):
        return value
    if not isinstance(value, str):  # unquoted 9:00 is the number 540 to YAML
        raise _problem(_not_hours(value) + ", in quotes")
    try:
        return WorkingHours.parse(value)
    except ValueError as exc:
        raise _problem(str(exc)) from None


Hours = Annotated[WorkingHours, PlainValidator(_to_working_hours)]

_WEEKDAY_WORDS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")  # as written back
_EVERY_DAY = ("daily", "diario")
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")


def _not_a_schedule(value: object) -> str:
    return (f"{value!r} is not a weekly time; expected a weekday (or 'daily'), a 24-hour time and a zone, "
            f"such as 'monday 09:00 {_EXAMPLE_ZONE}'")


@dataclass(frozen=True)
class WeeklyTime:
    """A wall-clock time in a zone, on one weekday (0 is Monday) or, with ``weekday`` None, every day."""

    weekday: int | None
    at: time
    zone: str

    def __str__(self) -> str:
        day = _EVERY_DAY[0] if self.weekday is None else _WEEKDAY_WORDS[self.weekday]
        return f"{day} {self.at:%H:%M} {self.zone}"

    @classmethod
    def parse(cls, text: str) -> WeeklyTime:
        """Read ``"monday 09:00 Europe/London"``; raise ``ValueError`` naming the text and the expected form."""
        words = text.split()
        if len(words) != 3:
            raise ValueError(_not_a_schedule(text))
        day, clock, zone = words
        weekday = weekday_number(day)
        match = _CLOCK.fullmatch(clock)
        if (weekday is None and day.casefold() not in _EVERY_DAY) or match is None:
            raise ValueError(_not_a_schedule(text))
        try:
            at = time(int(match.group(1)), int(match.group(2)))
        except ValueError:  # 25:00
            raise ValueError(_not_a_schedule(text)) from None
        return cls(weekday, at, _to_zone(zone))


def _to_weekly_time(value: object) -> WeeklyTime:
    if isinstance(value, WeeklyTime):
        return value
    if not isinstance(value, str):
        raise _problem(_not_a_schedule(value))
    try:
        return WeeklyTime.parse(value)
    except ValueError as exc:
        raise _problem(str(exc)) from None


Weekly = Annotated[WeeklyTime, PlainValidator(_to_weekly_time)]

_CREDENTIALS = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://[^/:@]*):[^@/]*@")


def mask_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (``postgresql://bot:***@db/coopbot``)."""
    return _CREDENTIALS.sub(r"\1:***@", url)


_WEB_URL = re.compile(r"https?://[^\s/?#]+\S*", re.IGNORECASE)


def _to_web_url(value: str) -> str:
    if not _WEB_URL.fullmatch(value):
        raise _problem(
            f"{mask_url(value)!r} is not a web address; expected a URL starting with https://, "
            "such as 'https://chat.example.coop'"
        )
    return value.rstrip("/")


def _to_address(value: str) -> str:
    if "@" not in value.strip("@") or any(c.isspace() for c in value):
        raise _problem(f"{value!r} is not an e-mail address; expected one such as 'coopbot@example.coop'")
    if not value.isascii():
        raise _problem(f"{value!r} is not an ASCII address; expected one such as 'coopbot@example.coop' "
                       "(a domain with accents in its xn-- form)")
    return value


def _to_prefix(value: str) -> str:
    if not value or any(c.isspace() for c in value):
        raise _problem(f"{value!r} is not a command prefix; expected a few characters without spaces, such as '!'")
    return value


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
WebUrl = Annotated[str, AfterValidator(_to_web_url)]
Address = Annotated[Text, AfterValidator(_to_address)]


def _section() -> Any:
    """Default a section to ``{}``, not an instance, so its defaults are validated like the
    file's values: the default SQLite path resolves against the file's directory."""
    return Field(default_factory=dict)


def _is_blank(value: object) -> bool:
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    return value is None or value == "" or value == ()


# --- sections ----------------------------------------------------------------


class _Section(BaseModel):
    """A mapping in bot.yaml: unknown keys refused, values frozen, defaults checked too.

    An empty mapping (``mattermost:`` with nothing below it) means "all defaults".
    """

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    @model_validator(mode="before")
    @classmethod
    def _empty_means_defaults(cls, data: Any) -> Any:
        return {} if data is None else data


class BotSettings(_Section):
    name: Text = "coopbot"
    prefix: Annotated[str, AfterValidator(_to_prefix)] = "!"
    language: Language = "en"
    zone: Zone = "UTC"
    day_first: bool = True
    log_level: Annotated[LogLevel, BeforeValidator(_upper)] = "INFO"


_DATABASE_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S*")
_SQLITE_FILE = re.compile(r"(sqlite(?:\+\w+)?:///)([^?]+)(\?.*)?")


def resolve_sqlite_path(url: str, base_dir: Path) -> str:
    """Make a relative SQLite file path absolute against ``base_dir``; leave other URLs alone."""
    match = _SQLITE_FILE.fullmatch(url)
    if match is None:
        return url
    prefix, path, query = match.groups()
    if path == ":memory:" or path.startswith("file:") or Path(path).is_absolute():
        return url
    return f"{prefix}{os.path.abspath(base_dir / path)}{query or ''}"


class StorageSettings(_Section):
    """Where coopbot keeps its data; a relative SQLite path is made absolute at load time,
    against the configuration file's directory (validation context :data:`CONTEXT_BASE_DIR`)."""

    url: str = "sqlite:///coopbot.db"

    @field_validator("url")
    @classmethod
    def _resolve(cls, url: str, info: ValidationInfo) -> str:
        if not _DATABASE_URL.fullmatch(url):
            raise _problem(
                f"{mask_url(url)!r} is not a database URL; expected one such as 'sqlite:///coopbot.db' "
                "or 'postgresql+asyncpg://coopbot:${DB_PASSWORD}@localhost/coopbot'"
            )
        base_dir = (info.context or {}).get(CONTEXT_BASE_DIR) or Path.cwd()
        return resolve_sqlite_path(url, Path(base_dir))

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        yield "url", mask_url(self.url)


class CoopSettings(_Section):
    name: Text
    zone: Zone
    city: Text | None = None
    working_hours: Hours = WorkingHours(time(9), time(18))
    language: Language = "en"
    aliases: tuple[Text, ...] = ()

    @property
    def tzinfo(self) -> pytz.BaseTzInfo:
        return pytz.timezone(self.zone)

    @property
    def labels(self) -> tuple[str, ...]:
        """The name, then the aliases: every word that refers to this coop."""
        return (self.name, *self.aliases)


class ReminderSettings(_Section):
    offsets: tuple[Duration, ...] = (timedelta(hours=24), timedelta(minutes=15))
    misfire_grace: Duration = timedelta(hours=1)

    @field_validator("offsets")
    @classmethod
    def _whole_minutes_once_each(cls, offsets: tuple[timedelta, ...]) -> tuple[timedelta, ...]:
        problems: list[tuple[Loc, str]] = []
        first_at: dict[timedelta, int] = {}
        for i, offset in enumerate(offsets):
            text = format_duration(offset)
            if offset % timedelta(minutes=1):
                problems.append(((i,), f"{text!r} is not a whole number of minutes; expected minutes, hours or days, such as '15m'"))
            elif offset in first_at:
                problems.append(((i,), f"{text!r} repeats reminders.offsets[{first_at[offset]}]; expected each offset once"))
            else:
                first_at[offset] = i
        _raise_all("offsets", problems)
        return offsets

    @property
    def offset_minutes(self) -> tuple[int, ...]:
        return tuple(int(offset.total_seconds()) // 60 for offset in self.offsets)


class CallSettings(_Section):
    default_duration: Duration = timedelta(hours=1)


class ProposalSettings(_Section):
    remind_before: DurationOrOff = timedelta(hours=24)  # one reminder this long before a deadline; 0: none
    default_deadline: Duration = timedelta(days=7)  # when "until" is not given


Destination = Literal["console", "mattermost", "discourse", "telegram", "email"]


class DigestSettings(_Section):
    updates: tuple[Destination, ...] | None = None  # where decision updates go; None: every enabled adapter
    schedule: Weekly | None = None  # when the digest goes out on its own; None: only by command
    misfire_grace: Duration = timedelta(hours=6)  # a firing missed while the bot was down is still sent this late


class ServerSettings(_Section):
    enabled: bool = False
    host: Text = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    public_url: WebUrl | None = None


class _Adapter(_Section):
    """An adapter section; once ``enabled``, every key in ``required`` must have a value."""

    required: ClassVar[tuple[str, ...]] = ()
    enabled: bool = False

    @field_validator("*")
    @classmethod
    def _required_when_enabled(cls, value: Any, info: ValidationInfo) -> Any:
        # A field validator (defaults are validated too), so a missing key is reported
        # even when a sibling key is wrong; "enabled" comes first, so it is in info.data.
        if info.field_name in cls.required and info.data.get("enabled") and _is_blank(value):
            raise _problem("missing; expected a value, since this adapter is enabled")
        return value


class ConsoleSettings(_Adapter):
    user: Text = "you"
    zone: Zone | None = None


class MattermostSettings(_Adapter):
    required = ("url", "token", "team")
    url: WebUrl | None = None
    token: SecretStr | None = None
    team: Text | None = None
    channels: tuple[Text, ...] = ()
    announce_channel: Text | None = None
    slash_token: SecretStr | None = None
    languages: dict[Text, Language] = Field(default_factory=dict)
    reconnect_max_delay: Duration = timedelta(seconds=15)


class DiscourseWatch(_Section):
    model_config = ConfigDict(coerce_numbers_to_str=True)  # a category is a slug or an id
    categories: tuple[Text, ...] = ()
    topics: tuple[Annotated[int, Field(ge=1)], ...] = ()


class DiscourseSettings(_Adapter):
    required = ("url", "api_key", "api_username")
    url: WebUrl | None = None
    api_key: SecretStr | None = None
    api_username: Text | None = None
    watch: DiscourseWatch = _section()
    digest_topic: Annotated[int, Field(ge=1)] | None = None
    webhook_secret: SecretStr | None = None
    poll_interval: Duration = timedelta(seconds=30)
    languages: dict[Text, Language] = Field(default_factory=dict)


_CHAT_ID = re.compile(r"-?[0-9]{1,20}|@[A-Za-z][A-Za-z0-9_]{4,31}")  # a public @name has 5 to 32 characters


def _to_chat_id(value: str) -> str:
    if not _CHAT_ID.fullmatch(value):
        raise _problem(f"{value!r} is not a Telegram chat; expected a chat id such as '-1001234567890' "
                       "or a public channel's @name such as '@coopcouncil'")
    return value


class TelegramSettings(_Adapter):
    model_config = ConfigDict(coerce_numbers_to_str=True)  # chat ids are numbers or @names
    required = ("token", "chat_id")
    token: SecretStr | None = None
    chat_id: Annotated[Text, AfterValidator(_to_chat_id)] | None = None
    api_url: WebUrl = "https://api.telegram.org"
    language: Language | None = None  # the digest's and updates' language there; default bot.language


_SMTP_PORTS = {"starttls": 587, "tls": 465, "none": 25}
_SECURITY_MISMATCH = {
    ("starttls", 465): "'starttls' does not fit port 465, which speaks TLS from the first byte; expected tls there, "
                       "or port 587 for starttls",
    ("tls", 587): "'tls' does not fit port 587, which speaks STARTTLS; expected starttls there, or port 465 for tls",
    ("tls", 25): "'tls' does not fit port 25, which speaks plain SMTP; expected starttls or none there, "
                 "or port 465 for tls",
}
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


class EmailSettings(_Adapter):
    model_config = ConfigDict(populate_by_name=True)
    required = ("smtp_host", "from_", "to")
    smtp_host: Text | None = None
    smtp_port: int = Field(587, ge=1, le=65535)  # by default 587 for starttls, 465 for tls, 25 for none
    security: Literal["starttls", "tls", "none"] = "starttls"  # STARTTLS on 587, TLS from the start on 465
    username: Text | None = None
    password: SecretStr | None = None
    from_: Address | None = Field(None, alias="from")
    to: tuple[Address, ...] = ()
    language: Language | None = None  # the digest's and updates' language there; default bot.language
    ca_file: Text | None = None  # certificates to trust for the server's (a private CA); default: the system's

    @field_validator("ca_file")
    @classmethod
    def _existing_file(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        path = Path((info.context or {}).get(CONTEXT_BASE_DIR) or Path.cwd()) / value
        expected = "expected the path of a PEM file of CA certificates"
        if not path.is_file():
            raise _problem(f"{value!r} is not a file; {expected}")
        try:
            ssl.create_default_context(cafile=str(path))
        except ssl.SSLError as exc:
            raise _problem(f"{value!r} holds no certificate TLS can read ({exc.reason or exc}); {expected}") from None
        return str(path)

    @model_validator(mode="before")
    @classmethod
    def _port_of_the_security(cls, data: Any) -> Any:
        if isinstance(data, dict) and "smtp_port" not in data:
            return {**data, "smtp_port": _SMTP_PORTS.get(str(data.get("security", "starttls")), 587)}
        return data

    @model_validator(mode="after")
    def _login_in_pairs_and_tls_that_fits(self) -> Self:
        if not self.enabled:
            return self
        problems: list[tuple[Loc, str]] = []
        if (self.username is None) != _is_blank(self.password):
            missing, given = ("password", "username") if _is_blank(self.password) else ("username", "password")
            problems.append(((missing,), f"missing; expected a value, since {given} is set"))
        mismatch = _SECURITY_MISMATCH.get((self.security, self.smtp_port))
        if mismatch:
            problems.append((("security",), mismatch))
        if self.username is not None and self.security == "none" and self.smtp_host not in _LOOPBACK:
            problems.append((("security",), (
                f"'none' would send the password unencrypted to {self.smtp_host}; expected starttls or tls, "
                "or none only for a relay on this host (localhost)")))
        _raise_all("EmailSettings", problems)
        return self


class AdapterSettings(_Section):
    console: ConsoleSettings = _section()
    mattermost: MattermostSettings = _section()
    discourse: DiscourseSettings = _section()
    telegram: TelegramSettings = _section()
    email: EmailSettings = _section()

    @property
    def enabled_names(self) -> tuple[str, ...]:
        return tuple(name for name in type(self).model_fields if getattr(self, name).enabled)

    @model_validator(mode="after")
    def _one_enabled(self) -> Self:
        if not self.enabled_names:
            raise _problem(
                "no adapter is enabled; expected 'enabled: true' under at least one of "
                + ", ".join(type(self).model_fields)
            )
        return self


# Adapter keys that only work when the HTTP server runs, and what arrives through them.
_NEEDS_SERVER = (("mattermost", "slash_token", "slash commands"), ("discourse", "webhook_secret", "webhooks"))


class Config(_Section):
    """The whole of bot.yaml."""

    bot: BotSettings = _section()
    storage: StorageSettings = _section()
    coops: tuple[CoopSettings, ...]
    reminders: ReminderSettings = _section()
    calls: CallSettings = _section()
    proposals: ProposalSettings = _section()
    digest: DigestSettings = _section()
    server: ServerSettings = _section()
    adapters: AdapterSettings = _section()

    @field_validator("coops")
    @classmethod
    def _distinct_coops(cls, coops: tuple[CoopSettings, ...]) -> tuple[CoopSettings, ...]:
        if not coops:
            raise _problem("is empty; expected at least one coop with a name and a zone")
        owner: dict[str, int] = {}
        problems: list[tuple[Loc, str]] = []
        for i, coop in enumerate(coops):
            keyed: list[tuple[Loc, str]] = [((i, "name"), coop.name)]
            keyed += [((i, "aliases", j), alias) for j, alias in enumerate(coop.aliases)]
            for loc, label in keyed:
                first = owner.setdefault(label.casefold(), i)
                if first != i:
                    problems.append((loc, (
                        f"{label!r} is already used by coops[{first}] ({coops[first].name}); "
                        "expected coop names and aliases to be unique, ignoring case"
                    )))
        _raise_all("coops", problems)
        return coops

    @model_validator(mode="after")
    def _http_needs_server(self) -> Self:
        if not self.server.enabled:
            _raise_all("Config", [
                (("adapters", adapter, key),
                 f"is set but server.enabled is false; expected server.enabled: true, since {what} arrive over HTTP")
                for adapter, key, what in _NEEDS_SERVER
                if getattr(self.adapters, adapter).enabled and not _is_blank(getattr(getattr(self.adapters, adapter), key))
            ])
        return self

    @model_validator(mode="after")
    def _updates_go_to_enabled_adapters(self) -> Self:
        enabled = self.adapters.enabled_names
        _raise_all("Config", [
            (("digest", "updates", n), f"{name!r} is not an enabled adapter; expected one of {', '.join(enabled)}")
            for n, name in enumerate(self.digest.updates or ()) if name not in enabled
        ])
        return self

    def channel_language(self, platform: str, channel: str | None) -> Language | None:
        """The language configured for a channel (by name) of a platform, if any."""
        settings = getattr(self.adapters, platform, None)
        languages: dict[str, Language] = getattr(settings, "languages", {}) or {}
        return languages.get(channel) if channel else None

    def find_coop(self, label: str) -> CoopSettings | None:
        """The coop whose name or alias is ``label``, ignoring case."""
        wanted = label.strip().casefold()
        return next((c for c in self.coops if wanted in (x.casefold() for x in c.labels)), None)
