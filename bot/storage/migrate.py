"""Alembic, driven from code: no alembic.ini, the scripts ship inside the package.

``upgrade(connection)`` is what ``Store.migrate()`` runs; developers have
``python -m bot.storage`` (see ``bot/storage/__main__.py``).
"""
from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

SCRIPT_LOCATION = "bot:migrations"


def alembic_config(connection: Connection) -> Config:
    """A config whose env.py runs on ``connection`` (and inside its transaction)."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["connection"] = connection
    return config


def upgrade(connection: Connection, revision: str = "head") -> None:
    command.upgrade(alembic_config(connection), revision)
