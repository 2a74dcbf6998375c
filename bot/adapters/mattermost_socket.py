"""mattermostdriver's websocket, fixed where it falls short.

The driver's ``Websocket.connect`` loop (7.3.2) logs a clean close as a
failure, reconnects forever with a fixed delay, sends unsolicited pongs that
cannot detect a dead link, and lets an exception in the event handler tear the
connection down (anchors §2b). This subclass keeps the driver's options, token
and ``disconnect`` and replaces the loop: real pings, exponential backoff with
full jitter, a clean close handled as such (reconnect at once, no failure
counted), a bad frame logged and skipped, and an ``on_connect`` hook (called
with the new ``connection_id``) so the adapter can fetch what it missed. No
permessage-deflate: events are small, and inflating each costs more than the
bytes it saves on the link to the server.

The event handler is synchronous on purpose: it only parses and queues, so
reading never waits for a command to be handled and pings keep flowing.
"""
from __future__ import annotations

import asyncio
import json
import logging
import random
import ssl
from collections.abc import Callable
from typing import Any

import websockets
from mattermostdriver.websocket import Websocket
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosedOK, InvalidHandshake, WebSocketException

from bot.adapters.mattermost_events import Hello, MalformedEvent, Response, parse_frame
from bot.backoff import backoff_delay

log = logging.getLogger(__name__)

FrameHandler = Callable[[str | bytes], None]
ConnectHandler = Callable[[str], None]

PING_INTERVAL = 20.0  # a dead link is noticed within PING_INTERVAL + PING_TIMEOUT
PING_TIMEOUT = 20.0
OPEN_TIMEOUT = 10.0
_LOST = (OSError, asyncio.TimeoutError, WebSocketException, MalformedEvent)


class AuthenticationFailed(InvalidHandshake):
    """The server refused the token (FAIL reply, or the socket closed during the challenge)."""


class MattermostSocket(Websocket):  # type: ignore[misc]  # the driver ships no type hints
    def __init__(self, options: dict[str, Any], token: str, *, on_connect: ConnectHandler,
                 max_delay: float = 15.0, rng: random.Random | None = None) -> None:
        super().__init__(options, token)
        self._on_connect = on_connect
        self._max_delay = max_delay
        self._rng = rng
        self._ws: ClientConnection | None = None
        self.connection_id: str | None = None
        self.connected = asyncio.Event()

    def url(self) -> str:
        scheme = "wss" if self.options["scheme"] == "https" else "ws"
        return f"{scheme}://{self.options['url']}:{self.options['port']}{self.options['basepath']}/websocket"

    def _ssl(self) -> ssl.SSLContext | None:
        if self.options["scheme"] != "https":
            return None
        context = ssl.create_default_context()
        if not self.options.get("verify", True):
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    async def connect(self, event_handler: FrameHandler) -> None:
        """Stay connected until ``close()``; every frame after ``hello`` goes to ``event_handler``."""
        self._alive = True
        failures = 0
        while self._alive:
            try:
                await self._session(event_handler)
                failures = self._closed_cleanly()
            except ConnectionClosedOK:
                failures = self._closed_cleanly()
            except _LOST as err:
                failures = 1 if self.connected.is_set() else failures + 1
                log.warning("mattermost websocket lost (attempt %d): %s", failures, _describe(err))
            finally:
                self.connected.clear()
                self._ws = None
            if self._alive:
                await asyncio.sleep(backoff_delay(max(1, failures), base=0.5, cap=self._max_delay, rng=self._rng))

    def _closed_cleanly(self) -> int:
        """A close frame (the server restarting, or our own ``close``): not a failure."""
        if self._alive:
            log.info("mattermost websocket closed cleanly by the server; reconnecting")
        return 0

    async def close(self) -> None:
        """Stop for good: no reconnect; the current socket is closed with a close frame."""
        self.disconnect()
        if self._ws is not None:
            await self._ws.close()

    async def _session(self, event_handler: FrameHandler) -> None:
        async with websockets.connect(self.url(), ssl=self._ssl(), ping_interval=PING_INTERVAL,
                                      ping_timeout=PING_TIMEOUT, open_timeout=OPEN_TIMEOUT,
                                      close_timeout=2, max_size=2**24, compression=None) as ws:
            self._ws = ws
            self.connection_id = await self._authenticate(ws)
            self.connected.set()
            log.info("mattermost websocket connected (connection %s)", self.connection_id)
            self._on_connect(self.connection_id)
            async for message in ws:
                if not self._alive:
                    return
                _deliver(event_handler, message)

    async def _authenticate(self, ws: ClientConnection) -> str:
        """Send the challenge; ``hello`` means we are in (the OK reply may come before or after it)."""
        challenge = {"seq": 1, "action": "authentication_challenge", "data": {"token": self._token}}
        await ws.send(json.dumps(challenge))
        while True:
            try:
                frame = parse_frame(await asyncio.wait_for(ws.recv(), timeout=OPEN_TIMEOUT))
            except WebSocketException as err:  # the server closes the socket on a bad token
                raise AuthenticationFailed(f"socket closed during authentication: {_describe(err)}") from err
            if isinstance(frame, Hello):
                return frame.connection_id
            if isinstance(frame, Response) and not frame.ok:
                raise AuthenticationFailed("authentication refused")


def _deliver(handler: FrameHandler, message: str | bytes) -> None:
    try:
        handler(message)
    except Exception:  # one bad frame must not take the connection down
        log.exception("mattermost frame handler failed; frame skipped")


def _describe(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
