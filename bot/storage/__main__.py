"""Migrations from the command line, for developers::

    python -m bot.storage sqlite:///dev.db upgrade
    python -m bot.storage sqlite:///dev.db current
    python -m bot.storage sqlite:///dev.db revision -m "add x" --autogenerate

``revision`` writes into ``bot/migrations/versions`` of the source tree; run it
against a database already at head, so only your model change is in the diff.
"""
from __future__ import annotations

import argparse
from collections.abc import Sequence

from alembic import command

from bot.storage.engine import make_engine
from bot.storage.migrate import alembic_config


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bot.storage")
    parser.add_argument("url")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("upgrade").add_argument("revision", nargs="?", default="head")
    sub.add_parser("current")
    revision = sub.add_parser("revision")
    revision.add_argument("-m", "--message", required=True)
    revision.add_argument("--autogenerate", action="store_true")
    args = parser.parse_args(argv)

    engine = make_engine(args.url)
    try:
        with engine.begin() as connection:
            config = alembic_config(connection)
            if args.command == "upgrade":
                command.upgrade(config, args.revision)
            elif args.command == "current":
                command.current(config, verbose=True)
            else:
                command.revision(config, message=args.message, autogenerate=args.autogenerate)
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
