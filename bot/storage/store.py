"""The database behind coopbot: one engine, migrations, and units of work."""
from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from bot.errors import StorageError
from bot.storage.engine import BUSY_TIMEOUT_MS, WAL_LIMIT_BYTES, make_engine
from bot.storage.migrate import upgrade
from bot.storage.unit import Unit
from bot.storage.users import PrefsCache

log = logging.getLogger(__name__)

BOUND_WAIT_MS = 50


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
        self._loop_thread: int | None = None
        self._kept: Connection | None = None
        parsed = self.engine.url  # the SQLite file, for checkpoints; None for PostgreSQL and in-memory SQLite
        on_disk = parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:")
        self._sqlite_file: str | None = parsed.database if on_disk else None

    def migrate(self) -> None:
        """Bring the schema to the newest revision; a no-op when it is already there."""
        with self._translated(), self.engine.begin() as connection:
            upgrade(connection)

    @contextmanager
    def unit(self) -> Iterator[Unit]:
        """One transaction: commits when the block ends, rolls back (and runs ``on_rollback``) if it raises."""
        on_loop = self._loop_thread == threading.get_ident()
        cache = self.prefs if on_loop else None
        unit: Unit | None = None
        try:
            with self._translated(), self._transaction(on_loop) as connection:
                unit = Unit(connection, cache)
                try:
                    yield unit
                finally:  # committed or not, what it wrote is read afresh next time
                    for key in unit.users.changed:
                        self.prefs.forget(key)
        except BaseException:  # the block raised, or the commit failed: nothing was written
            if unit is not None:
                unit.rolled_back()
            raise

    @contextmanager
    def _transaction(self, on_loop: bool) -> Iterator[Connection]:
        kept = self._kept if on_loop else None
        if kept is None:
            with self.engine.begin() as connection:
                yield connection
            return
        if kept.in_transaction():  # its write lock is held: a unit on the pool would wait for it forever
            raise RuntimeError("a unit inside another unit on the event loop's thread")
        with kept.begin():
            yield kept

    def bind_loop_thread(self) -> None:
        """The calling thread (the event loop's) gets the fast path; other threads keep the plain one.

        Its units read users' preferences through a cache: every command runs on
        this thread, one unit after another, so nothing can slip between a
        read and a write (units elsewhere still drop what they change from it).
        On SQLite they also share one connection: a pool checkout costs more
        than a command's whole transaction. PostgreSQL stays on the pool, whose
        pre-ping survives a database restart. One bot process per database.
        """
        self._loop_thread = threading.get_ident()
        if self.engine.url.get_backend_name() == "sqlite" and self._kept is None:
            self._kept = self.engine.connect()

    def checkpoint(self) -> None:
        """Copy SQLite's write-ahead log into the database file (PASSIVE: never blocks the writer).

        Safe from any thread (its own short-lived connection); a no-op for
        PostgreSQL and in-memory SQLite. Under steady writes it never catches
        up with the log's end, so the log is never started again and only
        grows: ``bound_wal`` finishes the job.
        """
        path = self._sqlite_file
        if path is None:
            return
        with closing(sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)) as connection:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def bound_wal(self) -> bool:
        """On the event loop's thread, if the log file is longer than ``WAL_LIMIT_BYTES``: finish the
        checkpoint there, between two commands, so it completes (no write can come in meanwhile),
        and have the next write start the log again from its beginning (RESTART; the file is cut
        back to ``WAL_LIMIT_BYTES`` then). Cheap after ``checkpoint`` copied all but the last
        pages: 0.4 ms, where emptying the file (TRUNCATE) took 2–5 ms. It waits at most
        ``BOUND_WAIT_MS`` for a reader elsewhere, else the next round tries again. True if done."""
        if self._kept is None or self.wal_bytes() <= WAL_LIMIT_BYTES:
            return False
        with self._translated():
            driver = self._kept.connection.driver_connection
            assert driver is not None, "the kept connection is live"
            driver.execute(f"PRAGMA busy_timeout={BOUND_WAIT_MS}")
            try:
                busy, _, _ = driver.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
            finally:
                driver.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        return not busy

    def wal_bytes(self) -> int:
        """The size of SQLite's write-ahead log file (0 without one)."""
        path = self._sqlite_file
        try:
            return os.stat(f"{path}-wal").st_size if path else 0
        except FileNotFoundError:
            return 0

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
        except self.engine.dialect.loaded_dbapi.Error as err:  # from the driver-level statements
            raise StorageError(f"{type(err).__name__}: {err}") from err
