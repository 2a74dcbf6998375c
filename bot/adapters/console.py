"""The console adapter: a chat of one, on stdin and stdout.

Every line typed is a direct message to the bot (the prefix is optional);
replies are printed followed by a blank line. Status lines go to stderr, so
stdout holds only the conversation. Reading happens in a thread because stdin
may be a terminal, a pipe or a file, and asyncio's pipe reader takes only the
first two.

Lines are numbered from 1 in each session, as a forum numbers its posts, so
commands that read an earlier post ("agenda from 3") read the third line typed.
"""
from __future__ import annotations

import asyncio
import itertools
import sys
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timezone
from typing import IO, Any

from bot.adapters.base import OnMessage
from bot.messages import Incoming, Outgoing, Place, Reply, Sender, SourcePost
from bot.numbers import small_number
from bot.rendering import render

CHANNEL = "console"
REMEMBERED_LINES = 1000


class ConsoleAdapter:
    platform = "console"

    def __init__(self, *, user: str = "you", zone: str | None = None,
                 stdin: IO[str] | None = None, stdout: IO[str] | None = None,
                 on_eof: Callable[[], None] | None = None) -> None:
        self.sender = Sender(id=user, name=user, zone=zone)
        self._stdin = stdin or sys.stdin
        self._stdout = stdout or sys.stdout
        self._on_eof = on_eof
        self._place = Place(platform=self.platform, channel_id=CHANNEL, is_direct=True)
        self._session = uuid.uuid4().hex[:12]  # message ids must be unique across restarts
        self._counter = itertools.count(1)
        self._lines: OrderedDict[int, str] = OrderedDict()  # line number → text, the latest few
        self._task: asyncio.Task[None] | None = None

    async def start(self, on_message: OnMessage) -> None:
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[str | None] = asyncio.Queue()

        def read() -> None:
            for line in self._stdin:
                loop.call_soon_threadsafe(lines.put_nowait, line)
            loop.call_soon_threadsafe(lines.put_nowait, None)

        threading.Thread(target=read, name="console-stdin", daemon=True).start()
        self._task = asyncio.create_task(self._pump(lines, on_message))

    async def _pump(self, lines: asyncio.Queue[str | None], on_message: OnMessage) -> None:
        while (line := await lines.get()) is not None:
            if line.strip():
                await on_message(self._incoming(line.rstrip("\n")))
        if self._on_eof:
            self._on_eof()

    def _incoming(self, text: str) -> Incoming:
        number = next(self._counter)
        self._lines[number] = text
        if len(self._lines) > REMEMBERED_LINES:
            self._lines.popitem(last=False)
        return Incoming(
            platform=self.platform,
            message_id=f"{self._session}-{number}",
            sender=self.sender,
            place=self._place,
            text=text,
            received_at=datetime.now(timezone.utc),
        )

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()

    def render(self, reply: Reply) -> str:
        return render(reply, "plain")

    def reply_place(self, incoming: Incoming) -> Place:
        return self._place

    def announce_place(self) -> Place | None:
        return self._place

    async def read_post(self, place: Place, ref: str) -> SourcePost | None:
        """Line ``ref`` of this session (the first line typed is 1), if it is still remembered."""
        number = small_number(ref)
        text = self._lines.get(number) if number is not None else None
        return None if text is None else SourcePost(ref=str(number), text=text, author=self.sender.name)

    async def send(self, out: Outgoing) -> tuple[str, ...]:
        self._stdout.write(out.text + "\n\n")
        self._stdout.flush()
        return ()


def create(settings: Any, *, on_eof: Callable[[], None] | None = None, **_: Any) -> ConsoleAdapter:
    """Factory the app calls with the ``adapters.console`` settings; end of input stops the bot."""
    return ConsoleAdapter(user=settings.user, zone=settings.zone, on_eof=on_eof)
