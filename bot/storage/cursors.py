"""Named positions in platform streams (last seen post id, websocket sequence...)."""
from __future__ import annotations

from sqlalchemy import Connection, bindparam, select

from bot.storage.schema import cursors
from bot.storage.sql import upsert

_GET = select(cursors.c.value).where(cursors.c.name == bindparam("name"))


class CursorRepo:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get(self, name: str) -> str | None:
        value: str | None = self._conn.execute(_GET, {"name": name}).scalar_one_or_none()
        return value

    def set(self, name: str, value: str) -> None:
        self._conn.execute(upsert(self._conn.dialect.name, cursors, ("value",)), {"name": name, "value": value})
