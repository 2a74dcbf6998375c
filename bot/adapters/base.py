"""The small interface every platform adapter implements.

The core never imports a platform library: adapters are found by name
(``bot.adapters.<name>``) when the configuration enables them. An adapter turns
platform events into ``Incoming`` messages, says where replies and
announcements go, renders replies in its platform's markup and sends them,
mapping its library's failures into ``AdapterError`` / ``RateLimited``.

Optional capabilities (so not part of ``Adapter``): ``Reconciling`` (below) and ``PostReader``:

    async def read_post(self, place: Place, ref: str) -> SourcePost | None

an earlier post of the conversation at ``place``, named by ``ref`` as a user
wrote it (a post number: "agenda from 2"); None if there is no such post or
``ref`` names none; ``AdapterError`` if the platform failed. Platforms whose
posts have no numbers (Mattermost) leave it out, and commands that need it
answer "not available here". Discourse and the console implement it.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, runtime_checkable

from bot.errors import CoopbotError
from bot.messages import Incoming, Outgoing, Place, Reply, SourcePost, Target

OnMessage = Callable[[Incoming], Awaitable[object]]


@runtime_checkable
class PostReader(Protocol):
    """The optional ``read_post`` capability (see the module docstring)."""

    async def read_post(self, place: Place, ref: str) -> SourcePost | None:
        """The post ``ref`` of the conversation at ``place``, or None."""


class Adapter(Protocol):
    platform: str

    async def start(self, on_message: OnMessage) -> None:
        """Connect and begin delivering messages; returns once ready."""

    async def stop(self) -> None:
        """Disconnect; pending sends are left in the outbox."""

    def render(self, reply: Reply) -> str:
        """The reply in this platform's markup."""

    def reply_place(self, incoming: Incoming) -> Place:
        """Where an answer to ``incoming`` goes (usually its thread)."""

    def announce_place(self) -> Place | None:
        """Where announcements and reminders go, if anywhere."""

    async def send(self, out: Outgoing) -> tuple[str, ...]:
        """Post ``out``; return the platform's ids of what it became (a post or message per part, those
        in ``out.posted`` first), () where it has none; raise AdapterError (or RateLimited) if the platform refuses."""


@runtime_checkable
class Reconnecting(Protocol):
    """An adapter that tells when its platform is reachable again after an outage.

    The app sets ``on_reconnect``; the adapter calls it after each reconnect, so
    replies that failed meanwhile are retried at once rather than after their backoff.
    """

    on_reconnect: Callable[[], None] | None


@runtime_checkable
class StopsOnRefusal(Protocol):
    """An adapter that can learn, after ``start`` returned, that its platform refused a setting for good.

    The app sets ``on_fatal``; the adapter calls it with the ``SettingRefused``
    (a wrong token first answered after an outage), and the bot stops with it.
    """

    on_fatal: Callable[[CoopbotError], None] | None


@runtime_checkable
class ReportsHealth(Protocol):
    """An adapter that can say whether it is connected to its platform (``/healthz``).

    One without ``health`` (the console) is always taken as connected.
    """

    def health(self) -> str | None:
        """None while connected; else a short reason (never a secret)."""


@runtime_checkable
class Reconciling(Protocol):
    """An adapter that can tell which queued replies already reached its platform.

    Every post it makes carries its outbox row and part (``bot.marks``). Before
    the outbox resends what a previous process left unsent, the adapter reads
    the bot's own posts where those replies go, since each was queued.
    """

    async def reconcile(self, unsent: Sequence[Outgoing]) -> set[int]:
        """The outbox ids found posted in full; parts found of the others are skipped when they
        are sent. Raises ``AdapterError`` if the platform cannot be read now."""


def destination(adapter: Adapter, reply: Reply, here: Place | None) -> Place | None:
    """Where ``reply`` goes: the announcement place if it asks for it and the adapter has one,
    else ``here`` (a command's thread, a call's channel); with no ``here``, the announcement place."""
    if reply.target is Target.ANNOUNCE or here is None:
        return adapter.announce_place() or here
    return here
