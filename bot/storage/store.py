"""The database behind coopbot: one engine, migrations, and units of work."""
from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from bot.errors import StorageError
from bot.storage.engine import make_engine
from bot.storage.migrate import upgrade
from bot.storage.unit import Unit
from bot.storage.users import PrefsCache

log = logging.getLogger(__name__)


class Store:
    """``Store("sqlite:///coopbot.db")`` or ``Store("postgresql+psycopg://...")``.

    Holds one engine (and its connection pool) for the life of the process;
    each ``unit()`` borrows a pooled connection for one transaction. Database
    failures come out as ``StorageError``; a bad argument (a naive datetime,
    a wrong type) is a bug and comes out as SQLAlchemy raised it.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.prefs = PrefsCache()
        self._kept: Connection | None = None
        self._kept_by: int | None = None

    def migrate(self) -> None:
        """Bring the schema to the newest revision; a no-op when it is already there."""
        with self._translated(), self.engine.begin() as connection:
            upgrade(connection)

    @contextmanager
    def unit(self) -> Iterator[Unit]:
        """One transaction: commits when the block ends, rolls back if it raises."""
        kept = self._kept
        if kept is None or self._kept_by != threading.get_ident() or kept.in_transaction():
            with self._translated(), self.engine.begin() as connection:
                yield Unit(connection, self.prefs)
            return
        with self._translated(), kept.begin():
            yield Unit(kept, self.prefs)

    def keep_connection(self) -> None:
        """Let the calling thread's units reuse one SQLite connection (the event loop's).

        A pool checkout costs more than the whole transaction of a command;
        one thread's units never overlap, so they can share a connection.
        Other threads keep using the pool. PostgreSQL stays on the pool, whose
        pre-ping survives a database restart.
        """
        if self.engine.url.get_backend_name() == "sqlite" and self._kept is None:
            self._kept = self.engine.connect()
            self._kept_by = threading.get_ident()

    def checkpoint(self) -> None:
        """Copy SQLite's write-ahead log into the database file (PASSIVE: never blocks writers).

        Safe to call from any thread: it uses its own short-lived connection. A
        no-op for PostgreSQL and in-memory SQLite.
        """
        url = self.engine.url
        if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
            return
        with closing(sqlite3.connect(url.database, timeout=10)) as connection:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def close(self) -> None:
        if self._kept is not None:
            self._kept.close()
            self._kept = None
        self.checkpoint()
        self.engine.dispose()

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except DBAPIError as err:
            raise StorageError(f"{type(err.orig).__name__}: {err.orig}") from err
