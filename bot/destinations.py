"""Where the council's news goes: each enabled adapter's place for announcements, in its language.

A destination is named after its adapter (``telegram``, ``mattermost``,
``discourse``, ``console``; ``email`` later) and is where that adapter posts
announcements: Mattermost's ``announce_channel``, Discourse's ``digest_topic``,
Telegram's chat. Its language is the one configured for that channel or
category (``languages``), else the adapter's ``language``, else ``bot.language``.
Places are asked of the adapters each time, because some (Mattermost) learn
theirs only once they have logged in.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.messages import Place

if TYPE_CHECKING:
    from bot.adapters.base import Adapter
    from config.model import Config


@dataclass(frozen=True)
class Destination:
    name: str  # the adapter's
    place: Place
    lang: str

    def is_at(self, place: Place | None) -> bool:
        """Whether ``place`` is in this destination's channel (or topic, or chat)."""
        return place is not None and (place.platform, place.channel_id) == (self.name, self.place.channel_id)


class Outlets:
    """The destinations of the running bot's adapters."""

    def __init__(self, config: Config, adapters: Mapping[str, Adapter]) -> None:
        self._config = config
        self._adapters = adapters

    def every(self) -> tuple[Destination, ...]:
        """Every enabled adapter that has a place for announcements, in the configuration's order."""
        found = []
        for name, adapter in self._adapters.items():
            place = adapter.announce_place()
            if place is not None:
                found.append(Destination(name, place, self._language(name, place)))
        return tuple(found)

    def for_updates(self) -> tuple[Destination, ...]:
        """Where decision updates go: ``digest.updates``, by default every destination."""
        wanted = self._config.digest.updates
        return self.every() if wanted is None else tuple(d for d in self.every() if d.name in wanted)

    def _language(self, name: str, place: Place) -> str:
        settings = getattr(self._config.adapters, name, None)
        return (self._config.channel_language(name, place.channel_name)
                or getattr(settings, "language", None) or self._config.bot.language)

