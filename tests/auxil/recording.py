"""An in-process adapter for tests and benchmarks: push messages in, await what the bot sends."""
from __future__ import annotations

import asyncio
import itertools
import uuid
from datetime import datetime, timezone

from bot.adapters.base import OnMessage
from bot.errors import AdapterError
from bot.messages import Incoming, Outgoing, Place, Reply, Sender
from bot.rendering import render


class RecordingAdapter:
    platform = "console"  # stands in for the console: same rendering, same place rules

    def __init__(self, *, zone: str | None = None, fail_sends: int = 0) -> None:
        self.sent: asyncio.Queue[Outgoing] = asyncio.Queue()
        self.sender = Sender(id="tester", name="tester", zone=zone)
        self.place = Place(platform=self.platform, channel_id="room", is_direct=True)
        self.fail_sends = fail_sends  # the next N sends raise AdapterError, as a server that is away
        self._ids = itertools.count(1)
        self._session = uuid.uuid4().hex[:8]  # ids stay unique across apps sharing one database
        self._on_message: OnMessage | None = None

    async def start(self, on_message: OnMessage) -> None:
        self._on_message = on_message

    async def stop(self) -> None:
        self._on_message = None

    def incoming(self, text: str, message_id: str | None = None) -> Incoming:
        return Incoming(platform=self.platform, message_id=message_id or f"{self._session}-{next(self._ids)}",
                        sender=self.sender, place=self.place, text=text,
                        received_at=datetime.now(timezone.utc))

    async def say(self, text: str, message_id: str | None = None) -> None:
        assert self._on_message is not None, "start the app first"
        await self._on_message(self.incoming(text, message_id))

    async def next_text(self, timeout: float = 5.0) -> str:
        return (await asyncio.wait_for(self.sent.get(), timeout)).text

    def render(self, reply: Reply) -> str:
        return render(reply, "plain")

    def reply_place(self, incoming: Incoming) -> Place:
        return self.place

    def announce_place(self) -> Place | None:
        return self.place

    async def send(self, out: Outgoing) -> None:
        if self.fail_sends > 0:
            self.fail_sends -= 1
            raise AdapterError("server away")
        self.sent.put_nowait(out)
