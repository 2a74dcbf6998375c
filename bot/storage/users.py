"""People's and channels' preferences: zone and language."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select

from bot.storage.records import UserPrefs
from bot.storage.schema import channels, users
from bot.storage.sql import upsert

_GET_USER = select(users).where(
    users.c.platform == bindparam("platform"), users.c.user_id == bindparam("user_id")
)
_GET_CHANNEL_LANG = select(channels.c.lang).where(
    channels.c.platform == bindparam("platform"), channels.c.channel_id == bindparam("channel_id")
)


class PrefsCache:
    """Users' preferences as last read, so a command's path skips the query.

    One per ``Store``, used by the units of the event loop's thread (see
    ``Store.bind_loop_thread``). A unit that changes someone's preferences
    never puts them in the cache, and the store drops them once it ends.
    """

    LIMIT = 10_000

    def __init__(self) -> None:
        self._known: dict[tuple[str, str], UserPrefs | None] = {}

    def lookup(self, key: tuple[str, str]) -> UserPrefs | None | _Missing:
        """The cached prefs (None: the user has none), or ``MISSING``."""
        return self._known.get(key, MISSING)

    def put(self, key: tuple[str, str], prefs: UserPrefs | None) -> None:
        if len(self._known) >= self.LIMIT:
            self._known.clear()
        self._known[key] = prefs

    def forget(self, key: tuple[str, str]) -> None:
        self._known.pop(key, None)


class _Missing:
    """Not in the cache (None is a cached answer: no preferences)."""


MISSING = _Missing()


class UserRepo:
    def __init__(self, conn: Connection, cache: PrefsCache | None = None) -> None:
        self._conn = conn
        self._cache = cache
        self.changed: set[tuple[str, str]] = set()  # written in this unit: never cached by it

    def get(self, platform: str, user_id: str) -> UserPrefs | None:
        key = (platform, user_id)
        cached = self._cache.lookup(key) if self._cache is not None else MISSING
        if not isinstance(cached, _Missing):
            return cached
        row = self._conn.execute(_GET_USER, {"platform": platform, "user_id": user_id}).one_or_none()
        prefs = None if row is None else UserPrefs(**row._mapping)
        if self._cache is not None and key not in self.changed:
            self._cache.put(key, prefs)
        return prefs

    def set_zone(self, platform: str, user_id: str, zone: str | None, now: datetime) -> UserPrefs:
        """Remember (or with ``None`` forget) a user's zone; the language is kept."""
        return self._set(platform, user_id, "zone", zone, now)

    def set_lang(self, platform: str, user_id: str, lang: str | None, now: datetime) -> UserPrefs:
        """Remember (or with ``None`` forget) a user's language; the zone is kept."""
        return self._set(platform, user_id, "lang", lang, now)

    def _set(self, platform: str, user_id: str, column: str, value: Any, now: datetime) -> UserPrefs:
        self.changed.add((platform, user_id))
        if self._cache is not None:
            self._cache.forget((platform, user_id))
        stmt = upsert(self._conn.dialect.name, users, (column, "updated_at"))
        params = {"platform": platform, "user_id": user_id, column: value, "updated_at": now}
        return UserPrefs(**self._conn.execute(stmt, params).one()._mapping)


class ChannelRepo:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get_lang(self, platform: str, channel_id: str) -> str | None:
        lang: str | None = self._conn.execute(
            _GET_CHANNEL_LANG, {"platform": platform, "channel_id": channel_id}
        ).scalar_one_or_none()
        return lang

    def set_lang(self, platform: str, channel_id: str, lang: str | None) -> None:
        stmt = upsert(self._conn.dialect.name, channels, ("lang",))
        self._conn.execute(stmt, {"platform": platform, "channel_id": channel_id, "lang": lang})
