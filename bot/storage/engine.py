"""One place that turns a database URL into a configured SQLAlchemy engine.

Used by the ``Store`` and by the scheduler's job store, so both talk to the same
database the same way.

SQLite gets, on every new connection: WAL (readers never block the writer),
``synchronous=NORMAL`` (durable at checkpoints, no fsync per commit; safe in WAL
mode), foreign keys and a busy timeout. Transactions start with ``BEGIN
IMMEDIATE``, taken over from the ``sqlite3`` module (which would begin lazily,
before the first write): a unit holds the write lock from its first statement,
so two processes never deadlock upgrading a read lock, they queue on
``busy_timeout`` instead. Savepoints work too.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import ConnectionPoolEntry

from bot.errors import ConfigError

SUPPORTED_DIALECTS = frozenset({"sqlite", "postgresql"})
BUSY_TIMEOUT_MS = 10_000
PAGE_SIZE = 1024
WAL_LIMIT_BYTES = 8 * 1024 * 1024  # past this, the log is checkpointed and started again (App._checkpoints)

_SQLITE_PRAGMAS = (
    # A new database only (an existing file keeps its size): every commit writes each page it
    # touched whole to the log, ~6 pages a command. At 1 KB a commit takes 23 µs and 11 KB of
    # log instead of 34 µs and 33 KB at SQLite's default 4 KB (measured with our schema).
    f"PRAGMA page_size={PAGE_SIZE}",
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    # No checkpoint inside a commit (it syncs the file: 10 ms on a command's path);
    # the running bot checkpoints in a thread instead (Store.checkpoint).
    "PRAGMA wal_autocheckpoint=0",
    # When the log starts again after a checkpoint, a longer file is cut back to this (bytes).
    f"PRAGMA journal_size_limit={WAL_LIMIT_BYTES}",
    "PRAGMA foreign_keys=ON",
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
)


def make_engine(url: str) -> Engine:
    """An engine for ``url``; raises ``ConfigError`` for a database we do not support."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as err:
        raise ConfigError([f"storage url: cannot parse {url!r} ({type(err).__name__})"]) from err
    if parsed.get_backend_name() not in SUPPORTED_DIALECTS:
        raise ConfigError([
            f"storage url: unsupported database {parsed.get_backend_name()!r};"
            f" use one of {sorted(SUPPORTED_DIALECTS)}"
        ])
    if parsed.get_backend_name() == "sqlite":
        # Every use is a whole transaction (engine.begin), so a returned connection
        # is always clean: skip the pool's extra ROLLBACK on return.
        engine = create_engine(parsed, pool_reset_on_return=None)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # A long-running bot outlives database restarts: test pooled connections first.
    return create_engine(parsed, pool_pre_ping=True)


def _sqlite_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, see _sqlite_begin
    cursor = dbapi_connection.cursor()
    try:
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # Straight to the driver: nothing of SQLAlchemy's bookkeeping applies to a BEGIN.
    driver = connection.connection.driver_connection
    assert driver is not None, "begin runs on a live connection"
    driver.execute("BEGIN IMMEDIATE")
