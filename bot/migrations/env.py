"""Alembic environment for coopbot.

Always run through ``bot.storage.migrate``: it hands over an open connection
(``config.attributes["connection"]``), so migrations run inside the caller's
transaction, with the same engine settings as the rest of the bot.

Autogenerate compares only our own tables: other tables in the same database
(APScheduler's job table, which APScheduler creates and owns) are left alone.
"""
from __future__ import annotations



from alembic import context
from sqlalchemy import Connection

from bot.storage.schema import metadata

def _ours(name: str | None, type_: str, parent_names: object) -> bool:
    return type_ != "table" or name in metadata.tables


connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations through bot.storage.migrate, which passes a connection")

context.configure(
    connection=connection,
    target_metadata=metadata,
    include_name=_ours,
    render_as_batch=True,  # SQLite can only ALTER by copying the table
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
