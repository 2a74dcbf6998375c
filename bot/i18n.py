"""Message catalogues: every text the bot writes lives in bot/locales/<lang>.yaml.

Keys are dotted paths into the YAML tree (``calls.scheduled``); values are
``str.format`` templates. English is the reference catalogue: a key missing in
another language falls back to it (a test keeps the catalogues in step).
"""
from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from typing import Any

import yaml
from babel.units import format_unit

LANGUAGES = ("en", "es")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's: ten times faster where it is built in
REFERENCE = "en"


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, path + "."))
        else:
            flat[path] = str(value).rstrip("\n")
    return flat


class Catalogue:
    def __init__(self, messages: Mapping[str, Mapping[str, str]]) -> None:
        self._messages = {lang: dict(table) for lang, table in messages.items()}
        self.languages = tuple(self._messages)

    @classmethod
    def load(cls) -> Catalogue:
        folder = resources.files("bot") / "locales"
        messages = {
            lang: _flatten(yaml.load((folder / f"{lang}.yaml").read_text("utf-8"), Loader=_LOADER))
            for lang in LANGUAGES
        }
        return cls(messages)

    def keys(self, lang: str) -> frozenset[str]:
        return frozenset(self._messages[lang])

    def has(self, key: str) -> bool:
        return key in self._messages[REFERENCE]

    def t(self, lang: str, key: str, **params: Any) -> str:
        table = self._messages.get(lang) or self._messages[REFERENCE]
        template = table.get(key) or self._messages[REFERENCE].get(key)
        if template is None:
            raise KeyError(f"no message {key!r} in the catalogues")
        return template.format(**params) if params else template



def format_minutes(minutes: int, lang: str) -> str:
    """"1 day 2 hours", "15 minutos": Babel's words for each non-zero unit of a span."""
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    units = [(days, "day"), (hours, "hour"), (mins, "minute")]
    words = [format_unit(amount, f"duration-{unit}", length="long", locale=lang) for amount, unit in units if amount]
    return " ".join(words) or format_unit(0, "duration-minute", length="long", locale=lang)
