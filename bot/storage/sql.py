"""Statement builders for the two things standard SQL lacks, per dialect.

SQLite and PostgreSQL share the ``INSERT ... ON CONFLICT`` syntax, but
SQLAlchemy builds it from each dialect's own ``insert``; this builder picks the
right one, so repositories stay free of dialect checks.

Every statement in the repositories is built once and executed with a dict of
parameters: building a statement (and its cache key) costs far more than
running it. The statements here depend on the dialect, so each is built on first
use and memoized; for an ``Insert`` without ``.values()``, the columns are the
parameter keys given at execution.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import ReturningInsert

_INSERTS: Mapping[str, Callable[[Table], postgresql.Insert | sqlite.Insert]] = {
    "postgresql": postgresql.insert,
    "sqlite": sqlite.insert,
}


@cache
def upsert(dialect: str, table: Table, updated: tuple[str, ...]) -> ReturningInsert[Any]:
    """Insert the row, or where its primary key exists set the ``updated`` columns; returns the row."""
    stmt = _INSERTS[dialect](table)
    return stmt.on_conflict_do_update(
        index_elements=list(table.primary_key),
        set_={name: stmt.excluded[name] for name in updated},
    ).returning(*table.c)
