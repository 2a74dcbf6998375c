"""Neutral message types shared by adapters, the router and handlers.

Adapters turn platform events into an ``Incoming``; handlers return ``Reply``
objects made of parts; a renderer turns a reply into the platform's text and the
adapter sends it as an ``Outgoing``. Everything here is frozen: events are facts.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Callable, Union

if TYPE_CHECKING:
    from bot.zones import ResolvedZone


@dataclass(frozen=True)
class Sender:
    id: str
    name: str
    zone: str | None = None  # the zone the platform knows for this person, if any
    is_bot: bool = False


@dataclass(frozen=True)
class Place:
    """Where a message was written: a channel, maybe inside a thread."""

    platform: str
    channel_id: str
    thread_id: str | None = None
    is_direct: bool = False
    channel_name: str | None = None  # for per-channel settings written by name in the configuration


@dataclass(frozen=True)
class Incoming:
    platform: str
    message_id: str
    sender: Sender
    place: Place
    text: str
    received_at: datetime
    bot_mention: str | None = None  # how the bot is @mentioned on this platform ("@coopbot"), if it differs
    link: str | None = None  # a permanent link to the message, where the platform gives one


@dataclass(frozen=True)
class SourcePost:
    """An earlier post a command names ("agenda from 2"), read by the adapter before the command runs."""

    ref: str  # how the command named it: a post number, as typed
    text: str  # its own words, in the platform's markup (Markdown): no quoted posts, no code blocks
    author: str


@dataclass(frozen=True)
class Reaction:
    """Someone reacted to a message (a vote, where a feature asks for one)."""

    platform: str
    message_id: str
    user_id: str
    emoji: str
    added: bool = True


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Heading:
    """A section's title (in a digest): bold, or the platform's heading."""

    text: str


@dataclass(frozen=True)
class TimeTable:
    """One instant shown in several zones; each platform renders it its own way."""

    at: datetime  # aware UTC
    zones: tuple[ResolvedZone, ...]
    duration_minutes: int | None = None
    compact: bool = False  # one line ("Thu 29 Nov 19:00 London (UTC+0) · 16:00 Buenos Aires (UTC−3)"), not a table


Part = Union[Text, Heading, TimeTable]


class Target(Enum):
    THREAD = "thread"      # answer where the command was written (its thread)
    ANNOUNCE = "announce"  # a new post in the platform's announcement channel


@dataclass(frozen=True)
class Reply:
    parts: tuple[Part, ...]
    lang: str
    target: Target = Target.THREAD
    ephemeral: bool = False  # only for the sender, where the platform can (slash commands)
    place: Place | None = None  # a place of its own on the same platform (a proposal's thread), not ``target``'s
    subject: str | None = None  # its title where the platform gives one (an e-mail's subject); else its first line


@dataclass(frozen=True)
class Outgoing:
    """Rendered text on its way to a platform."""

    platform: str
    channel_id: str
    text: str
    thread_id: str | None = None
    outbox_id: int | None = None
    ephemeral: bool = False
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    queued_at: datetime | None = field(default=None, compare=False)  # when it entered the outbox
    posted: tuple[str, ...] = ()  # the platform's ids of its first parts, posted by an earlier attempt
    # Called by an adapter that sends ``text`` in several parts with the ids of those posted so far,
    # after each: a retry (also after a crash) goes on after them (``posted``) instead of repeating them.
    on_posted: Callable[[tuple[str, ...]], None] | None = field(default=None, compare=False, repr=False)
