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
    """Users' preferences as last committed, so a command's path skips the query.

    One per ``Store``; only this process writes preferences. A unit that
    changes someone's preferences drops them from the cache and never puts
    them back itself, so a change rolled back is never served.
    """

    LIMIT = 10_000

    def __init__(self) -> None:
        self._known: dict[tuple[str, str], UserPrefs | None] = {}

    def lookup(self, key: tuple[str, str]) -> tuple[bool, UserPrefs | None]:
        """(found, prefs); prefs None when the user has none."""
        if key in self._known:
            return True, self._known[key]
        return False, None

    def put(self, key: tuple[str, str], prefs: UserPrefs | None) -> None:
        if len(self._known) >= self.LIMIT:
            self._known.clear()
        self._known[key] = prefs

    def forget(self, key: tuple[str, str]) -> None:
        self._known.pop(key, None)


class UserRepo:
    def __init__(self, conn: Connection, cache: PrefsCache | None = None) -> None:
        self._conn = conn
        self._cache = cache or PrefsCache()
        self._changed: set[tuple[str, str]] = set()  # written in this unit: not cacheable yet

    def get(self, platform: str, user_id: str) -> UserPrefs | None:
        key = (platform, user_id)
        found, prefs = self._cache.lookup(key)
        if found:
            return prefs
        row = self._conn.execute(_GET_USER, {"platform": platform, "user_id": user_id}).one_or_none()
        prefs = None if row is None else UserPrefs(**row._mapping)
        if key not in self._changed:
            self._cache.put(key, prefs)
        return prefs

    def set_zone(self, platform: str, user_id: str, zone: str | None, now: datetime) -> UserPrefs:
        """Remember (or with ``None`` forget) a user's zone; the language is kept."""
        return self._set(platform, user_id, "zone", zone, now)

    def set_lang(self, platform: str, user_id: str, lang: str | None, now: datetime) -> UserPrefs:
        """Remember (or with ``None`` forget) a user's language; the zone is kept."""
        return self._set(platform, user_id, "lang", lang, now)

    def _set(self, platform: str, user_id: str, column: str, value: Any, now: datetime) -> UserPrefs:
        self._changed.add((platform, user_id))
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
