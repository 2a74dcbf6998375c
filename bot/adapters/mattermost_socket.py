"""mattermostdriver's websocket, fixed where it falls short.

The driver's ``Websocket.connect`` loop (7.3.2) logs a clean close as a
failure, reconnects forever with a fixed delay, sends unsolicited pongs that
cannot detect a dead link, and lets an exception in the event handler tear the
connection down. This subclass keeps the driver's options, token and
``disconnect`` and replaces the loop: real pings, exponential backoff with
jitter, a clean close handled as such, one bad event logged and skipped, and
an ``on_connect`` hook so the adapter can fetch what it missed while away.
"""
from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

import websockets
from mattermostdriver.websocket import Websocket
from websockets.exceptions import ConnectionClosedOK, InvalidHandshake, WebSocketException

log = logging.getLogger(__name__)

EventHandler = Callable[[str], Awaitable[None]]


def reconnect_delay(attempt: int, *, base: float = 0.5, cap: float = 15.0,
                    rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter: attempt 1 waits up to ``base``, doubling to ``cap``."""
    ceiling = min(cap, base * 2 ** max(0, attempt - 1))
    return (rng or random).uniform(0, ceiling)


class MattermostSocket(Websocket):  # type: ignore[misc]  # the driver ships no type hints
    def __init__(self, options: dict[str, Any], token: str, *,
                 on_connect: Callable[[], Awaitable[None]], max_delay: float = 15.0) -> None:
        super().__init__(options, token)
        self._on_connect = on_connect
        self._max_delay = max_delay
        self.connection_id: str | None = None
        self.connected = asyncio.Event()

    def url(self) -> str:
        scheme = "wss" if self.options["scheme"] == "https" else "ws"
        return f"{scheme}://{self.options['url']}:{self.options['port']}{self.options['basepath']}/websocket"

    async def connect(self, event_handler: EventHandler) -> None:
        """Stay connected until ``disconnect()``; every event goes to ``event_handler``."""
        self._alive = True
        failures = 0
        while self._alive:
            try:
                async with websockets.connect(self.url(), ping_interval=20, ping_timeout=20,
                                              open_timeout=10, max_size=2**24) as ws:
                    await self._authenticate(ws)
                    failures = 0
                    self.connected.set()
                    await self._on_connect()
                    await self._read(ws, event_handler)
                log.info("mattermost websocket closed cleanly by the server")
            except ConnectionClosedOK:
                log.info("mattermost websocket closed cleanly by the server")
            except (OSError, asyncio.TimeoutError, WebSocketException, InvalidHandshake) as err:
                failures += 1
                log.warning("mattermost websocket lost (attempt %d): %s", failures, type(err).__name__)
            finally:
                self.connected.clear()
            if self._alive:
                await asyncio.sleep(reconnect_delay(failures + 1, cap=self._max_delay))

    async def _authenticate(self, ws: Any) -> None:
        challenge = {"seq": 1, "action": "authentication_challenge", "data": {"token": self._token}}
        await ws.send(json.dumps(challenge))
        while True:  # hello and the OK reply may come in either order; hello means we are in
            message = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
            if message.get("event") == "hello":
                self.connection_id = (message.get("data") or {}).get("connection_id")
                return
            if message.get("status") == "FAIL":
                raise InvalidHandshake(f"authentication refused: {message.get('error')}")

    async def _read(self, ws: Any, event_handler: EventHandler) -> None:
        async for message in ws:
            if not self._alive:
                return
            try:
                await event_handler(message)
            except Exception:  # one bad event must not take the connection down
                log.exception("mattermost event handler failed; event skipped")
