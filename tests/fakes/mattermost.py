"""A protocol-faithful fake Mattermost server: REST API v4 and WebSocket, on loopback.

    async with FakeMattermost() as mm:
        driver_options = {"url": "127.0.0.1", "port": mm.port, "scheme": "http",
                          "token": mm.bot_token}
        ...
        trigger = await mm.user_posts("ana", "town-square", "!ping")
        reply = await mm.wait_for_post(user_id=mm.bot.id, after=trigger["id"])

Shapes, status codes and headers follow the real server (``mattermost/mattermost``
code, see ``shared/specs/mattermost-websocket.md``), which differs from the
official OpenAPI file in a few places; ``tests/test_fake_mattermost.py`` lists
them. Seeded with team ``coop``, bot ``coopbot`` (personal access token
``mm.bot_token``), humans ``ana`` (Buenos Aires) and ``ben`` (London), channels
``town-square`` and ``off-topic``.
"""
from __future__ import annotations

import asyncio
import math
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

from tests.fakes._mattermost_rest import SERVER_VERSION, RestApi, check_root
from tests.fakes._mattermost_slash import SlashCommands, SlashResult
from tests.fakes._mattermost_store import Channel, Post, Store, Team, User, go_json, timezone_json
from tests.fakes._mattermost_ws import Event, WsHub, broadcast
from tests.fakes.ids import MillisClock

__all__ = ["DEFAULT_PASSWORD", "FakeMattermost", "ReplyTiming", "RequestRecord", "SlashResult"]

DEFAULT_PASSWORD = "correct-horse-battery"

UserRef = User | str  # a User, or a username
ChannelRef = Channel | str  # a Channel, or a channel name (or id)


@dataclass(frozen=True)
class RequestRecord:
    method: str
    route: str  # the route template, e.g. "/api/v4/channels/{channel_id}/posts"
    path: str
    status: int
    arrived_perf: float


@dataclass(frozen=True)
class ReplyTiming:
    trigger_post_id: str
    reply_post_id: str
    seconds: float  # trigger stored -> reply's POST /posts arrived, both server-side
    reply_perf: float  # when the reply's POST /posts arrived (time.perf_counter)


@dataclass
class _RateWindow:
    limit: int
    seconds: float
    started: float
    used: int = 0


@dataclass
class _Waiters:
    posted: asyncio.Condition = field(default_factory=asyncio.Condition)
    cursors: dict[str, int] = field(default_factory=dict)  # user id -> next log index


class FakeMattermost:
    """An aiohttp server on 127.0.0.1 (port 0) speaking Mattermost API v4."""

    def __init__(self, *, team_name: str = "coop", bot_username: str = "coopbot",
                 clock: Callable[[], float] = time.time, seed: bool = True,
                 pending_post_window: float = 30.0) -> None:
        self.clock = MillisClock(clock)
        self.pending_post_window = pending_post_window  # seconds a resent pending_post_id is answered with its post
        self.store = Store(self.clock)
        self.hub = WsHub(server_version=SERVER_VERSION, user_for_token=self.user_id_for_token,
                         channel_members=lambda cid: set(self.store.channels[cid].members)
                         if cid in self.store.channels else set())
        self.requests: Counter[str] = Counter()  # "GET /api/v4/users/{user_id}" -> count
        self.request_log: list[RequestRecord] = []
        self._waiters = _Waiters()
        self._rate: _RateWindow | None = None
        self._down: Literal["refuse", "503"] | None = None
        self._runner: web.AppRunner | None = None
        self._site: web.SockSite | None = None
        self.port = 0
        self.team: Team = self.store.add_team(team_name, team_name.capitalize())
        self.bot: User = self._add_member(self.store.add_user(
            bot_username, timezone=timezone_json("", automatic=True), is_bot=True,
            bot_description="Coordination bot"))
        self.bot_token = self.store.new_token(self.bot)
        self.slash = SlashCommands(self)
        self._rest = RestApi(self)
        if seed:
            self.add_user("ana", "America/Argentina/Buenos_Aires")
            self.add_user("ben", "Europe/London", automatic=False)
            self.add_channel("town-square", "Town Square")
            self.add_channel("off-topic", "Off-Topic")

    # --- lifecycle ------------------------------------------------------------------------
    async def __aenter__(self) -> FakeMattermost:
        app = web.Application(middlewares=[self._rest.front])
        self._rest.add_routes(app)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None,
                                     shutdown_timeout=0.5)
        await self._runner.setup()
        await self._start_site(0)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.hub.drop_all()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _start_site(self, port: int) -> None:
        assert self._runner is not None
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        self.port = sock.getsockname()[1]
        self._site = web.SockSite(self._runner, sock)
        await self._site.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- setting up data --------------------------------------------------------------------
    def add_user(self, username: str, zone: str = "America/Argentina/Buenos_Aires", *,
                 automatic: bool = True, password: str = DEFAULT_PASSWORD,
                 first_name: str = "", last_name: str = "") -> User:
        """A human in the team and in every open channel; ``zone`` is an IANA name."""
        user = self.store.add_user(username, timezone=timezone_json(zone, automatic=automatic),
                                   password=password, first_name=first_name, last_name=last_name)
        self._add_member(user)
        for channel in self.store.channels.values():
            if channel.type == "O":
                channel.members.add(user.id)
        return user

    def _add_member(self, user: User) -> User:
        self.team.members.add(user.id)
        return user

    def add_channel(self, name: str, display_name: str | None = None, *, private: bool = False,
                    members: Iterable[UserRef] | None = None) -> Channel:
        """A channel of the team; members default to everyone in the team."""
        ids = ({self.user(m).id for m in members} if members is not None
               else set(self.team.members))
        return self.store.add_channel(self.team, name, display_name or name,
                                      type="P" if private else "O", members=ids)

    def add_to_channel(self, user: UserRef, channel: ChannelRef) -> None:
        self.channel(channel).members.add(self.user(user).id)

    def direct_channel(self, first: UserRef, second: UserRef) -> Channel:
        return self.store.direct_channel(self.user(first).id, self.user(second).id)

    def token_for(self, user: UserRef) -> str:
        """A new session token for ``user`` (what logging in would give)."""
        return self.store.new_token(self.user(user))

    def user(self, ref: UserRef) -> User:
        if isinstance(ref, User):
            return ref
        found = self.store.user_by_name(ref) or self.store.users.get(ref)
        if found is None:
            raise KeyError(f"no user {ref!r}")
        return found

    def channel(self, ref: ChannelRef) -> Channel:
        if isinstance(ref, Channel):
            return ref
        found = self.store.channel_by_name(self.team.id, ref) or self.store.channels.get(ref)
        if found is None:
            raise KeyError(f"no channel {ref!r}")
        return found

    # --- what people do -----------------------------------------------------------------------
    async def user_posts(self, user: UserRef, channel: ChannelRef, message: str, *,
                         root_id: str | None = None, props: dict[str, Any] | None = None
                         ) -> dict[str, Any]:
        """``user`` posts ``message`` (in the thread of ``root_id``); broadcast as the server does."""
        author, where = self.user(user), self.channel(channel)
        if root_id:
            check_root(self.store, root_id, where)
        post = self.store.create_post(user=author, channel=where, message=message,
                                      root_id=root_id or "", props=props)
        await self.announce_post(post)
        return self.store.post_json(post)

    async def user_reacts(self, user: UserRef, post_id: str, emoji_name: str) -> dict[str, Any]:
        reaction = self.store.add_reaction(self.user(user), self.store.posts[post_id], emoji_name)
        event = Event("reaction_added", {"reaction": go_json(reaction.to_json())},
                      broadcast(channel_id=reaction.channel_id))
        await self.hub.publish(event, self.store.channels[reaction.channel_id].members)
        return reaction.to_json()

    async def send_raw_ws(self, text: str, user: UserRef | None = None) -> int:
        """Write ``text`` verbatim to the open sockets (of ``user``); returns how many."""
        return await self.hub.send_raw(text, None if user is None else self.user(user).id)

    async def drop_websockets(self) -> None:
        """Cut every WebSocket's TCP connection without a close frame."""
        await self.hub.drop_all()

    async def close_websockets_cleanly(self, code: int = 1001) -> None:
        await self.hub.close_all(code)

    async def wait_for_websocket(self, user: UserRef, timeout: float = 5.0) -> str:
        """Wait until ``user`` has an authenticated WebSocket; returns its connection id."""
        conn = await self.hub.wait_for_connection(self.user(user).id, timeout)
        return conn.connection_id

    async def run_slash(self, url: str, token: str, user: UserRef, channel: ChannelRef,
                        text: str, *, command: str = "/coop", root_id: str = "") -> SlashResult:
        """POST the slash-command request Mattermost sends to ``url`` and apply the reply."""
        return await self.slash.run(url, token, self.user(user), self.channel(channel), text,
                                    command=command, root_id=root_id)

    # --- what tests observe -------------------------------------------------------------------
    def get_post(self, post_id: str) -> dict[str, Any]:
        return self.store.post_json(self.store.posts[post_id])

    def posts_by(self, user: UserRef) -> list[dict[str, Any]]:
        user_id = self.user(user).id
        return [self.store.post_json(p) for p in self.store.log if p.user_id == user_id]

    async def wait_for_post(self, *, user_id: str | None = None, channel_id: str | None = None,
                            after: str | None = None, root_id: str | None = None,
                            timeout: float = 5.0) -> dict[str, Any]:
        """The next post matching the filters (``root_id``: a reply in that post's thread).

        "Next" is after ``after`` (a post id) when given; otherwise after the post
        this method last returned for the same ``user_id``, so consecutive calls
        see every post once even when the bot answers before the call is made.
        """
        key = user_id or "*"
        start = (self.store.log.index(self.store.posts[after]) + 1 if after
                 else self._waiters.cursors.get(key, 0))

        def find() -> int | None:
            for index in range(start, len(self.store.log)):
                post = self.store.log[index]
                if (user_id is None or post.user_id == user_id) and \
                        (channel_id is None or post.channel_id == channel_id) and \
                        (root_id is None or post.root_id == root_id):
                    return index
            return None

        async with self._waiters.posted:
            try:
                await asyncio.wait_for(self._waiters.posted.wait_for(lambda: find() is not None),
                                       timeout)
            except TimeoutError:
                recent = [(p.user_id, p.message[:40]) for p in self.store.log[-5:]]
                raise TimeoutError(f"no post by {user_id} within {timeout}s; last: {recent}") from None
        index = find()
        assert index is not None
        self._waiters.cursors[key] = index + 1
        return self.store.post_json(self.store.log[index])

    def reply_timings(self, user: UserRef | None = None) -> list[ReplyTiming]:
        """Pair each REST post of ``user`` (the bot) with the post it answers.

        The trigger is the latest earlier post by someone else in the same
        channel (and thread, for a threaded reply) not paired yet.
        """
        replier = self.user(user or self.bot).id
        used: set[str] = set()
        out: list[ReplyTiming] = []
        for index, reply in enumerate(self.store.log):
            if reply.user_id != replier or reply.request_perf is None:
                continue
            for trigger in reversed(self.store.log[:index]):
                same_place = trigger.channel_id == reply.channel_id and (
                    not reply.root_id or trigger.thread_root_id == reply.root_id)
                if same_place and trigger.user_id != replier and trigger.id not in used:
                    used.add(trigger.id)
                    out.append(ReplyTiming(trigger.id, reply.id,
                                           reply.request_perf - trigger.created_perf, reply.request_perf))
                    break
        return out

    def request_count(self, route: str | None = None, method: str | None = None) -> int:
        return sum(1 for r in self.request_log if (route is None or r.route == route)
                   and (method is None or r.method == method))

    def reset_requests(self) -> None:
        self.requests.clear()
        self.request_log.clear()

    # --- failure modes ------------------------------------------------------------------------
    def rate_limit(self, limit: int, reset_seconds: float) -> None:
        """Allow ``limit`` API requests per window of ``reset_seconds``, then answer 429."""
        self._rate = _RateWindow(limit, reset_seconds, self.clock.seconds())

    def rate_limit_off(self) -> None:
        self._rate = None

    async def go_down(self, mode: Literal["refuse", "503"] = "refuse") -> None:
        """Stop serving: ``refuse`` closes the port, ``503`` answers every request with 503.

        Either way all WebSockets are cut and, as after a restart, none can be resumed.
        """
        if self._down is not None:
            raise RuntimeError("already down")
        self._down = mode
        await self.hub.drop_all()
        self.hub.forget_all()
        if mode == "refuse":
            assert self._site is not None and self._runner is not None and self._runner.server
            await self._site.stop()
            for handler in self._runner.server.connections:
                handler.force_close()  # keep-alive connections die with the process

    async def come_back(self) -> None:
        """Serve again, on the same port."""
        if self._down == "refuse":
            await self._start_site(self.port)
        self._down = None

    # --- plumbing -------------------------------------------------------------------------------
    def user_id_for_token(self, token: str) -> str | None:
        user = self.store.user_for_token(token)
        return user.id if user else None

    @property
    def down_mode(self) -> Literal["refuse", "503"] | None:
        return self._down

    def record_request(self, method: str, route: str, path: str, status: int,
                       arrived_perf: float) -> None:
        self.requests[f"{method} {route}"] += 1
        self.request_log.append(RequestRecord(method, route, path, status, arrived_perf))

    async def announce_post(self, post: Post) -> None:
        """Broadcast ``posted`` (``SendNotifications``) and wake ``wait_for_post``."""
        channel = self.store.channels[post.channel_id]
        author = self.store.users[post.user_id]
        mentioned = set(self.store.mentioned_user_ids(post))
        event = Event("posted", {
            "channel_display_name": f"@{author.username}" if channel.type == "D" else channel.display_name,
            "channel_name": channel.name, "channel_type": channel.type,
            "post": go_json(self.store.post_json(post, echo_pending=True)), "sender_name": f"@{author.username}",
            "set_online": True, "team_id": channel.team_id,
        }, broadcast(channel_id=channel.id))
        await self.hub.publish(event, channel.members,
                               lambda uid: {"mentions": go_json([uid])} if uid in mentioned else {})
        async with self._waiters.posted:
            self._waiters.posted.notify_all()

    async def publish_ephemeral(self, user_id: str, post: dict[str, Any]) -> None:
        event = Event("ephemeral_message", {"post": go_json(post)}, broadcast(user_id=user_id))
        await self.hub.publish(event, [user_id])

    def rate_check(self, headers: dict[str, str]) -> web.Response | None:
        """Count one API request against the window; fill ``headers``; the 429 if over."""
        window = self._rate
        if window is None:
            return None
        now = self.clock.seconds()
        if now >= window.started + window.seconds:
            window.started, window.used = now, 0
        window.used += 1
        reset = str(max(1, math.ceil(window.started + window.seconds - now)))
        headers.update({"X-Ratelimit-Limit": str(window.limit),
                        "X-Ratelimit-Remaining": str(max(0, window.limit - window.used)),
                        "X-Ratelimit-Reset": reset})
        if window.used <= window.limit:
            return None
        headers["Retry-After"] = reset
        return web.Response(status=429, body=b"limit exceeded\n", headers={
            "Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff"})
