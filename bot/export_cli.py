"""``coopbot export decisions``: read the options in the bot's zone and language, then export."""
from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import datetime, timezone

from bot.app import build_resolver, default_zone
from bot.arguments import Reading, Since, Tags
from bot.errors import UserError
from bot.export import export_decisions
from bot.i18n import Catalogue
from bot.storage import DecisionFilter, Store
from config.model import Config


def export(config: Config, *, since: str | None, tags: Sequence[str], fmt: str) -> int:
    """Write the decision log to standard output; 2 with a message naming the option if one is wrong."""
    catalogue = Catalogue.load()
    resolver = build_resolver(config)
    reading = Reading(now=datetime.now(timezone.utc), zone=default_zone(config, resolver), resolver=resolver,
                      catalogue=catalogue)
    try:
        since_at = Since().read(since, reading) if since else None
    except UserError:
        print(f"--since: {since!r} is not a date I can read; expected a day such as 2026-12-01", file=sys.stderr)
        return 2
    wanted_tags: list[str] = []
    for tag in tags:
        try:
            wanted_tags += Tags().read("#" + tag.removeprefix("#"), reading)
        except UserError:
            print(f"--tag: {tag!r} is not a tag; expected a letter followed by letters, digits, - or _",
                  file=sys.stderr)
            return 2
    store = Store(config.storage.url)
    try:
        store.migrate()
        export_decisions(store, DecisionFilter(since=since_at, tags=tuple(wanted_tags)), sys.stdout, fmt=fmt,
                         lang=config.bot.language, zone=reading.zone, catalogue=catalogue)
    finally:
        store.close()
    return 0
