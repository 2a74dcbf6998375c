"""The fake Mattermost's WebSocket (``GET /api/v4/websocket``).

Behaviour from ``shared/specs/mattermost-websocket.md`` and the server code it
cites (``api4/websocket.go``, ``platform/web_hub.go``, ``web_conn.go``,
``websocket_router.go``):

* auth by the upgrade request's token (``hello`` at once) or by an
  ``authentication_challenge`` (``hello``, then ``{"status": "OK", "seq_reply": n}``);
  a bad header token does *not* refuse the upgrade: the socket just stays
  unauthenticated; a bad challenge token closes it;
* ``seq`` counts events per connection from 0 (``hello``); responses have none;
* a dropped connection stays known: events for its user queue up, and an
  upgrade authenticated by header with ``connection_id`` + ``sequence_number``
  resumes it (replay, same id, no ``hello``) while the wanted sequence is still
  among the last 128 sent; otherwise a fresh connection and ``hello``.
"""
from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes._mattermost_store import go_json
from tests.fakes.ids import new_id

__all__ = ["Connection", "Event", "WsHub", "broadcast"]

DEAD_QUEUE_SIZE = 128  # events kept for resuming (web_conn.go deadQueueSize)
SEND_QUEUE_SIZE = 256  # events held for a dropped connection before it is forgotten


def broadcast(*, user_id: str = "", channel_id: str = "", team_id: str = "",
              omit_users: dict[str, bool] | None = None) -> dict[str, Any]:
    """The ``broadcast`` object of an event, fields in ``WebsocketBroadcast`` order."""
    return {"omit_users": omit_users, "user_id": user_id, "channel_id": channel_id,
            "team_id": team_id, "connection_id": "", "omit_connection_id": ""}


@dataclass(frozen=True)
class Event:
    """A server event; ``precomputed`` ones are hub broadcasts, encoded as the hub does."""

    name: str
    data: dict[str, Any]
    broadcast: dict[str, Any]
    precomputed: bool = True

    def with_data(self, extra: dict[str, Any]) -> Event:
        return Event(self.name, {**self.data, **extra}, self.broadcast, self.precomputed)

    def encode(self, seq: int) -> str:
        data = dict(sorted(self.data.items()))  # Go marshals maps with sorted keys
        if self.precomputed:  # WebSocketEvent.precomputedJSONBuf
            return (f'{{"event": {go_json(self.name)}, "data": {go_json(data)}, '
                    f'"broadcast": {go_json(self.broadcast)}, "seq": {seq}}}')
        return go_json({"event": self.name, "data": data, "broadcast": self.broadcast,
                        "seq": seq}) + "\n"  # json.Encoder.Encode adds the newline


@dataclass(eq=False)
class Connection:
    connection_id: str
    user_id: str
    ws: web.WebSocketResponse | None
    transport: asyncio.Transport | None
    next_seq: int = 0
    sent: deque[tuple[int, str]] = field(default_factory=lambda: deque(maxlen=DEAD_QUEUE_SIZE))
    pending: list[Event] = field(default_factory=list)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def active(self) -> bool:
        return self.ws is not None and not self.ws.closed

    def can_resume_from(self, seq: int) -> bool:
        oldest = self.sent[0][0] if self.sent else self.next_seq
        return oldest <= seq <= self.next_seq


def _response(seq_reply: int, *, data: dict[str, Any] | None = None,
              error: tuple[str, str, int] | None = None) -> str:
    out: dict[str, Any] = {"status": "OK" if error is None else "FAIL"}
    if seq_reply:
        out["seq_reply"] = seq_reply
    if data:
        out["data"] = data
    if error is not None:
        err_id, message, status = error
        out["error"] = {"id": err_id, "message": message, "detailed_error": "", "status_code": status}
    return go_json(out)


_NO_ACTION = ("api.web_socket_router.no_action.app_error", "No websocket action.", 400)
_BAD_SEQ = ("api.web_socket_router.bad_seq.app_error", "Invalid sequence for WebSocket message.", 400)
_NOT_AUTHED = ("api.web_socket_router.not_authenticated.app_error",
               "No authentication for WebSocket connection.", 401)
_BAD_ACTION = ("api.web_socket_router.bad_action.app_error", "Unknown WebSocket action.", 501)


class _Closed(Exception):
    """The server closed the socket while handling a client message."""


class WsHub:
    """All WebSocket connections of one fake server, active or dropped-but-resumable."""

    def __init__(self, *, server_version: str, user_for_token: Callable[[str], str | None],
                 channel_members: Callable[[str], set[str]]) -> None:
        self._server_version = server_version
        self._user_for_token = user_for_token
        self._channel_members = channel_members
        self._conns: dict[str, Connection] = {}
        self._sockets: dict[web.WebSocketResponse, asyncio.Transport | None] = {}
        self._changed = asyncio.Condition()

    # --- queries and test hooks ------------------------------------------------------------
    def active_user_ids(self) -> list[str]:
        return [c.user_id for c in self._conns.values() if c.active]

    def connection(self, connection_id: str) -> Connection | None:
        return self._conns.get(connection_id)

    async def wait_for_connection(self, user_id: str, timeout: float) -> Connection:
        def find() -> Connection | None:
            return next((c for c in self._conns.values() if c.user_id == user_id and c.active), None)
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: find() is not None), timeout)
        conn = find()
        assert conn is not None
        return conn

    async def publish(self, event: Event, user_ids: Iterable[str],
                      extra_for: Callable[[str], dict[str, Any]] | None = None) -> None:
        """Send ``event`` to every connection (also dropped ones) of ``user_ids``."""
        wanted = set(user_ids)
        for conn in [c for c in self._conns.values() if c.user_id in wanted]:
            extra = extra_for(conn.user_id) if extra_for else {}
            await self._deliver(conn, event.with_data(extra) if extra else event)

    async def send_raw(self, text: str, user_id: str | None = None) -> int:
        """Write ``text`` as is to every open socket (of ``user_id``); not counted in ``seq``."""
        sent = 0
        for ws in list(self._sockets):
            conn = self._conn_of(ws)
            if ws.closed or (user_id is not None and (conn is None or conn.user_id != user_id)):
                continue
            await ws.send_str(text)
            sent += 1
        return sent

    async def drop_all(self) -> None:
        """Abort every socket's TCP connection, as a crash or a cut cable would."""
        for transport in list(self._sockets.values()):
            if transport is not None:
                transport.abort()
        await self._wait_sockets_gone()

    async def close_all(self, code: int = 1001) -> None:
        """Close every socket with a close frame (1001 = going away)."""
        for ws in list(self._sockets):
            await ws.close(code=code, message=b"")
        await self._wait_sockets_gone()

    def forget_all(self) -> None:
        """A restarted server knows no connection: nothing can be resumed."""
        self._conns.clear()

    async def _wait_sockets_gone(self) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: not self._sockets), 5)

    def _conn_of(self, ws: web.WebSocketResponse) -> Connection | None:
        return next((c for c in self._conns.values() if c.ws is ws), None)

    # --- the endpoint -------------------------------------------------------------------------
    async def serve(self, request: web.Request, header_user_id: str | None) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True, timeout=2.0)
        await ws.prepare(request)
        self._sockets[ws] = request.transport
        conn: Connection | None = None
        try:
            if header_user_id is not None:
                conn = await self._register(ws, request.transport, header_user_id,
                                            request.query.get("connection_id", ""),
                                            request.query.get("sequence_number"))
            async for msg in ws:
                if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    continue
                text = msg.data if msg.type == WSMsgType.TEXT else msg.data.decode("utf-8", "replace")
                conn = await self._on_client_message(ws, request.transport, conn, text)
        except _Closed:
            await ws.close()
        finally:
            if conn is not None and conn.ws is ws:
                conn.ws = conn.transport = None  # dropped: kept for resuming
            async with self._changed:
                self._sockets.pop(ws, None)
                self._changed.notify_all()
        return ws

    async def _register(self, ws: web.WebSocketResponse, transport: asyncio.Transport | None,
                        user_id: str, connection_id: str, sequence: str | None) -> Connection:
        if connection_id:
            if sequence is None or not sequence.lstrip("-").isdigit():
                raise _Closed  # PopulateWebConnConfig refuses a resume without a sequence
            old = self._conns.get(connection_id)
            if old is not None and old.user_id == user_id and not old.active \
                    and old.can_resume_from(int(sequence)):
                await self._resume(old, ws, transport, int(sequence))
                return old
        conn = Connection(connection_id=new_id(), user_id=user_id, ws=ws, transport=transport)
        self._conns[conn.connection_id] = conn
        hello = Event("hello", {"connection_id": conn.connection_id,
                                "server_version": self._server_version},
                      broadcast(user_id=user_id), precomputed=False)
        await self._deliver(conn, hello)
        async with self._changed:
            self._changed.notify_all()
        return conn

    async def _resume(self, conn: Connection, ws: web.WebSocketResponse,
                      transport: asyncio.Transport | None, sequence: int) -> None:
        async with conn.lock:
            conn.ws, conn.transport = ws, transport
            for seq, text in list(conn.sent):
                if seq >= sequence:
                    await ws.send_str(text)
            queued, conn.pending = conn.pending, []
        for event in queued:
            await self._deliver(conn, event)
        async with self._changed:
            self._changed.notify_all()

    async def _deliver(self, conn: Connection, event: Event) -> None:
        async with conn.lock:
            if not conn.active:
                conn.pending.append(event)
                if len(conn.pending) > SEND_QUEUE_SIZE:  # hub: queue full -> connection removed
                    self._conns.pop(conn.connection_id, None)
                return
            seq = conn.next_seq
            conn.next_seq += 1
            text = event.encode(seq)
            conn.sent.append((seq, text))
            assert conn.ws is not None
            try:
                await conn.ws.send_str(text)
            except ConnectionError:
                pass  # the event stays in the dead queue; a resume replays it

    async def _on_client_message(self, ws: web.WebSocketResponse,
                                 transport: asyncio.Transport | None,
                                 conn: Connection | None, text: str) -> Connection | None:
        try:
            request = json.loads(text)
        except ValueError:
            raise _Closed from None  # the read pump stops on undecodable input
        if not isinstance(request, dict):
            raise _Closed
        action, seq = request.get("action"), request.get("seq")
        seq_reply = seq if isinstance(seq, int) else 0
        if not isinstance(action, str) or not action:
            await ws.send_str(_response(seq_reply, error=_NO_ACTION))
            return conn
        if not isinstance(seq, int) or seq <= 0:
            await ws.send_str(_response(seq_reply, error=_BAD_SEQ))
            return conn
        raw_data = request.get("data")
        data: dict[str, Any] = raw_data if isinstance(raw_data, dict) else {}
        if action == "authentication_challenge":
            if conn is not None:
                return conn  # a second challenge is ignored
            token = data.get("token")
            user_id = self._user_for_token(token) if isinstance(token, str) else None
            if user_id is None:
                raise _Closed
            conn = await self._register(ws, transport, user_id, "", None)
            await ws.send_str(_response(seq))
            return conn
        if conn is None:
            await ws.send_str(_response(seq, error=_NOT_AUTHED))
        elif action == "user_typing":
            await self._typing(conn, data)
            await ws.send_str(_response(seq))
        elif action == "get_statuses":
            statuses = {uid: "online" for uid in self.active_user_ids()}
            await ws.send_str(_response(seq, data=statuses))
        else:
            await ws.send_str(_response(seq, error=_BAD_ACTION))
        return conn

    async def _typing(self, conn: Connection, data: dict[str, Any]) -> None:
        channel_id = data.get("channel_id")
        if not isinstance(channel_id, str):
            return
        parent_id = data.get("parent_id") if isinstance(data.get("parent_id"), str) else ""
        event = Event("typing", {"parent_id": parent_id, "user_id": conn.user_id},
                      broadcast(channel_id=channel_id, omit_users={conn.user_id: True}))
        await self.publish(event, self._channel_members(channel_id) - {conn.user_id})
