"""Driver-level SQL for the few statements on every command's path.

Through SQLAlchemy Core a statement costs ~100 µs of Python before and after
the database's own ~10 µs, as much as the whole network round trip of a chat
command. The claim of a message, the reply's outbox row and the "sent" mark
are therefore written straight to the DB-API connection under the unit's
SQLAlchemy connection: the same transaction, none of the machinery. Each
statement is written once in SQLite's ``?`` style; PostgreSQL's driver gets
``%s``. Times are stored exactly as ``UTCDateTime`` stores them (a test reads
rows written here back through SQLAlchemy).
"""
from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection


@cache
def _for_dialect(dialect: str, sql: str) -> str:
    return sql if dialect == "sqlite" else sql.replace("?", "%s")


def execute(conn: Connection, sql: str, params: tuple[Any, ...]) -> Any:
    """Run ``sql`` (``?`` placeholders) on the driver connection under ``conn``; returns its cursor."""
    driver = conn.connection.driver_connection
    assert driver is not None, "a unit's connection is always live"
    return driver.execute(_for_dialect(conn.dialect.name, sql), params)


def db_time(conn: Connection, value: datetime) -> datetime | str:
    """An aware datetime as its column stores it: naive UTC text on SQLite (as ``UTCDateTime``)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} given to a UTC column")
    utc = value.astimezone(UTC)
    if conn.dialect.name != "sqlite":
        return utc
    return utc.replace(tzinfo=None).isoformat(" ", "microseconds")  # SQLAlchemy's SQLite DATETIME text
