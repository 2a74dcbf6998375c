"""``coopbot run``, ``coopbot check`` and ``coopbot export decisions``."""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Coroutine, Sequence
from typing import Any

from bot.errors import ConfigError, SettingRefused
from config.loader import format_problems, load_config, summarize
from config.model import Config

PROFILE_ENV = "COOPBOT_PROFILE"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coopbot", description="A coordination bot for cooperatives.")
    commands = parser.add_subparsers(dest="command", required=True)
    subs = {name: commands.add_parser(name, help=text) for name, text in (
        ("run", "start the bot"), ("check", "validate a configuration file"),
        ("export", "write the decision log to standard output, for the wiki"))}
    for sub in subs.values():
        sub.add_argument("-c", "--config", help="configuration file (default: the embedded console + SQLite setup)")
    export = subs["export"]
    export.add_argument("what", choices=["decisions"], help="what to export")
    export.add_argument("--since", metavar="DATE", help="only decisions recorded on or after DATE (e.g. 2026-12-01), "
                                                        "a day in the bot's zone")
    export.add_argument("--tag", metavar="T", action="append", default=[],
                        help="only decisions with tag T (repeat for several: all must match)")
    export.add_argument("--format", choices=["md", "json"], default="md",
                        help="md: a section per month, for the wiki (default); json: every field")
    return parser


def _load(path: str | None) -> Config | None:
    try:
        return load_config(path)
    except ConfigError as err:
        print(format_problems(err), file=sys.stderr)
        return None


async def _run(config: Config) -> None:
    from bot.app import App  # imported late: `check` must not pay for the whole bot

    app = App(config)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, app.request_stop)
    await app.run()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    config = _load(args.config)
    if config is None:
        return 2
    if args.command == "export":
        from bot.export_cli import export  # the export needs the store, not the bot

        return export(config, since=args.since, tags=args.tag, fmt=args.format)
    if args.command == "check":
        print(summarize(config))
        return 0
    logging.basicConfig(level=config.bot.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("alembic", "apscheduler"):  # their INFO lines tell a user nothing
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    try:
        _profiled(_run(config), os.environ.get(PROFILE_ENV))
    except SettingRefused as refused:  # a wrong token or key: one line, no traceback
        print(f"coopbot: cannot start: {refused}", file=sys.stderr)
        return 1
    return 0


def _profiled(main: Coroutine[Any, Any, None], path: str | None) -> None:
    """Run ``main``; with ``COOPBOT_PROFILE=FILE`` set, under cProfile, its stats written to FILE at exit."""
    if not path:
        asyncio.run(main)
        return
    import cProfile

    with cProfile.Profile() as profiler:
        try:
            asyncio.run(main)
        finally:
            profiler.dump_stats(path)


if __name__ == "__main__":
    sys.exit(main())
