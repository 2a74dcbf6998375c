"""An in-process adapter for tests and benchmarks: push messages in, await what the bot sends.

It is the console adapter with stdin and stdout swapped for method calls and a
queue, so rendering and place rules are the console's own.
"""
from __future__ import annotations

import asyncio
import dataclasses

from bot.adapters.base import OnMessage
from bot.adapters.console import ConsoleAdapter
from bot.errors import AdapterError
from bot.messages import Incoming, Outgoing, Sender


class RecordingAdapter(ConsoleAdapter):
    def __init__(self, *, zone: str | None = None, fail_sends: int = 0) -> None:
        super().__init__(user="tester", zone=zone)
        self.sent: asyncio.Queue[Outgoing] = asyncio.Queue()
        self.fail_sends = fail_sends  # the next N sends raise AdapterError, as a server that is away
        self.posts = 0  # how many it has sent (its "post ids" count them)
        self._on_message: OnMessage | None = None

    async def start(self, on_message: OnMessage) -> None:
        self._on_message = on_message

    async def stop(self) -> None:
        self._on_message = None

    def incoming(self, text: str, message_id: str | None = None, sender: str | None = None) -> Incoming:
        """``text`` as typed by ``sender`` (a username; the console's own user by default)."""
        made = self._incoming(text)  # ids unique across apps sharing one database
        if sender is not None:
            made = dataclasses.replace(made, sender=Sender(id=f"id-{sender}", name=sender))
        return made if message_id is None else dataclasses.replace(made, message_id=message_id)

    async def say(self, text: str, message_id: str | None = None, sender: str | None = None) -> None:
        assert self._on_message is not None, "start the app first"
        await self._on_message(self.incoming(text, message_id, sender))

    async def next_text(self, timeout: float = 5.0) -> str:
        return (await asyncio.wait_for(self.sent.get(), timeout)).text

    async def send(self, out: Outgoing) -> tuple[str, ...]:
        if self.fail_sends > 0:
            self.fail_sends -= 1
            raise AdapterError("server away")
        self.sent.put_nowait(out)
        self.posts += 1
        return (f"post-{self.posts}",)


async def ask(chat: RecordingAdapter, text: str, sender: str | None = None) -> str:
    """Say ``text`` (as ``sender``); the bot's answer, with whatever else it has sent by then appended."""
    await chat.say(text, sender=sender)
    answer = await chat.next_text()
    while not chat.sent.empty():
        answer += "\n" + chat.sent.get_nowait().text
    return answer
