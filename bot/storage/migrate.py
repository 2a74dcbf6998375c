"""Alembic, driven from code: no alembic.ini, the scripts ship inside the package.

``upgrade(connection)`` is what ``Store.migrate()`` runs; developers have
``python -m bot.storage`` (see ``bot/storage/__main__.py``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

SCRIPT_LOCATION = "bot:migrations"
# The newest revision. Kept here so a start on an up-to-date database can skip
# importing alembic (a third of the start-up time); a test checks it against
# the scripts, so it cannot drift.
HEAD_REVISION = "0006"


def alembic_config(connection: Connection) -> Config:
    """A config whose env.py runs on ``connection`` (and inside its transaction)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["connection"] = connection
    return config


def current_revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()


def upgrade(connection: Connection, revision: str = "head") -> None:
    if revision == "head" and current_revision(connection) == HEAD_REVISION:
        return
    from alembic import command

    command.upgrade(alembic_config(connection), revision)
