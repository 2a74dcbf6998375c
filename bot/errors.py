"""coopbot's one error hierarchy.

    CoopbotError
    ├── UserError            expected, user-facing; carries a catalogue key + params
    │   ├── UsageError       a command was called wrongly; the router adds the usage
    │   │   └── TimeParseError   a time or zone phrase could not be read
    │   ├── AmbiguousTimeError / NonExistentTimeError   DST overlap / gap: both readings
    │   └── PermissionDenied
    ├── ConfigError          the configuration is wrong; lists every problem
    ├── AdapterError         a platform failed (retryable); adapters map library errors into these
    │   ├── RejectedError    refused for good (4xx): not retried
    │   ├── SettingRefused   a configured token, key or team refused for good: the process stops
    │   └── RateLimited      with retry_after seconds
    └── StorageError

A UserError's text lives in the message catalogues (bot/locales/*.yaml); the
error holds only the key and its parameters, so it can be told in any language.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.zones import ResolvedZone


class CoopbotError(Exception):
    """Root of every error coopbot raises on purpose."""


class UserError(CoopbotError):
    """An expected failure the user should read about, in their language."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.key!r}, {self.params!r})"


class UsageError(UserError):
    """The command's arguments are missing or wrong; the router appends its usage."""


class PermissionDenied(UserError):
    """The sender may not run this command here."""


class TimeParseError(UsageError):
    """A time, date, duration or zone phrase could not be understood."""

    def __init__(self, text: str, key: str = "time.unreadable", **params: Any) -> None:
        super().__init__(key, text=text, **params)
        self.text = text


class _LocalTimeError(TimeParseError):
    def __init__(self, text: str, key: str, readings: Sequence[datetime]) -> None:
        super().__init__(text, key)
        self.readings: tuple[datetime, ...] = tuple(readings)
        self.shown_in: tuple[ResolvedZone, ...] = ()  # zones to show the readings in before the coops'


class AmbiguousTimeError(_LocalTimeError):
    """A wall-clock time that happens twice (DST overlap, or "el martes" said on a Tuesday).

    ``readings`` holds every aware UTC instant it could mean, earliest first.
    """

    def __init__(self, text: str, readings: Sequence[datetime], key: str = "time.ambiguous") -> None:
        super().__init__(text, key, readings)


class NonExistentTimeError(_LocalTimeError):
    """A wall-clock time skipped by a DST gap; ``readings`` are the two nearest instants."""

    def __init__(self, text: str, readings: Sequence[datetime], key: str = "time.nonexistent") -> None:
        super().__init__(text, key, readings)


class ConfigError(CoopbotError):
    """The configuration is wrong. ``problems`` has one line per bad key."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


class AdapterError(CoopbotError):
    """A chat platform failed or refused a request."""


class RejectedError(AdapterError):
    """The platform refused the request for good (a 4xx other than 429): retrying won't help."""

    def __init__(self, status: int, message: str, *, protocol: str = "HTTP") -> None:
        super().__init__(f"{protocol} {status}: {message}")
        self.status = status


class SettingRefused(AdapterError):
    """The platform refused a configured value for good: a wrong token or key (401/403), a team
    that is not there. Retrying cannot help; the process stops. The message names ``key`` and
    what the server answered.
    """

    def __init__(self, key: str, platform: str, status: int, answer: str, *, protocol: str = "HTTP") -> None:
        """``status`` 0: the refusal came without a status code (a feature the server does not offer)."""
        reason = answer.strip() or "no reason given"
        super().__init__(f"{key}: {platform} refused it ({f'{protocol} {status}: ' if status else ''}{reason}); "
                         "check the value, then start coopbot again")
        self.key = key
        self.status = status


class RateLimited(AdapterError):
    """The platform asked us to wait ``retry_after`` seconds."""

    def __init__(self, retry_after: float, message: str = "rate limited") -> None:
        super().__init__(f"{message} (retry after {retry_after:.1f}s)")
        self.retry_after = retry_after


class StorageError(CoopbotError):
    """The database failed."""
