"""From a message's text to a command invocation.

A message is for the bot when it starts with the prefix (``!time 7pm``), when
it @mentions the bot (``@coopbot time 7pm``, anywhere in the text), or when it
is a direct message (no prefix needed). Matching is cheap and pure, so it is
tested alone; the dispatcher does the rest.
"""
from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.commands import CommandSpec, Registry
from bot.messages import Incoming
from bot.zones import fold


@dataclass(frozen=True)
class Invocation:
    spec: CommandSpec
    lang: str | None  # the language the command's name was written in, if it tells
    args: str  # the text after the command's name, stripped


@dataclass(frozen=True)
class Unknown:
    word: str
    suggestion: str | None
    lang: str | None = None  # the suggestion's language: a typo in Spanish is answered in Spanish


class Router:
    def __init__(self, registry: Registry, *, prefix: str, bot_names: Sequence[str]) -> None:
        if not prefix or prefix.isspace():
            raise ValueError("the command prefix must be a visible character or word")
        self.registry = registry
        self.prefix = prefix
        names = "|".join(re.escape(n) for n in bot_names)
        self._mention = re.compile(rf"(?:^|(?<=\s))@(?:{names})\b[:,]?", re.IGNORECASE)

    def command_text(self, incoming: Incoming) -> str | None:
        """The part of the message addressed to the bot, or None if it is not for us."""
        text = incoming.text.strip()
        if text.startswith(self.prefix):
            return text[len(self.prefix):]
        mention = self._mention.search(text)
        if incoming.bot_mention and not mention:
            at = text.lower().find(incoming.bot_mention.lower())
            rest = text[at + len(incoming.bot_mention):].lstrip(":, ") if at >= 0 else None
        else:
            rest = text[mention.end():].strip() if mention else None
        if rest is not None:
            return rest[len(self.prefix):] if rest.startswith(self.prefix) else rest
        if incoming.place.is_direct:
            return text
        return None

    def route(self, incoming: Incoming) -> Invocation | Unknown | None:
        text = self.command_text(incoming)
        if text is None:
            return None
        words = text.split()
        if not words:
            help_spec = self.registry.get("help")
            return Invocation(help_spec, None, "") if help_spec else None
        found = self.registry.match([fold(w) for w in words[:3]])  # "decisiones más" is "decisiones mas"
        if found is None:
            first = fold(words[0])
            close = difflib.get_close_matches(first, [n.split()[0] for n in self.registry.names()], n=1)
            if not close:
                return Unknown(word=words[0], suggestion=None)
            guess = self.registry.match([close[0]])
            return Unknown(word=words[0], suggestion=close[0], lang=guess.lang if guess else None)
        return Invocation(found.spec, found.lang, _after_words(text, found.words))


def _after_words(text: str, count: int) -> str:
    rest = text.lstrip()
    for _ in range(count):
        parts = rest.split(None, 1)
        rest = parts[1] if len(parts) > 1 else ""
    return rest.strip()
