"""The Mattermost adapter: commands in channels, threads and DMs; replies in thread.

mattermostdriver does the setup calls (login, team and channel lookups) and,
through ``MattermostSocket``, the websocket. Hot calls (posting a reply,
fetching missed posts, user profiles) go through one pooled, non-blocking
``JsonClient``, since the driver's REST calls are synchronous ``requests``
calls that block the event loop (anchors §4).

Exactly once: after every (re)connect, posts missed in the watched channels
are fetched with ``GET /channels/{id}/posts?since=`` from a cursor persisted
per channel; the dispatcher's inbox claim drops any post seen twice, so a
command sent during an outage is answered once, even across a restart.
"""
from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from mattermostdriver import Driver

from bot.adapters.base import OnMessage
from bot.adapters.http import JsonClient
from bot.adapters.mattermost_socket import MattermostSocket
from bot.errors import AdapterError
from bot.messages import Incoming, Outgoing, Place, Reaction, Reply, Sender
from bot.rendering import render, split_message
from bot.storage import Store

log = logging.getLogger(__name__)

MAX_POST_LENGTH = 16383
PROFILE_TTL = 600.0
CURSOR_FLUSH_SECONDS = 2.0

# Answers a command at once: the replies for the command's own channel come back
# (to be shown in the HTTP response); the others are delivered as usual.
Respond = Callable[[Incoming], Awaitable[list[Outgoing]]]


def profile_zone(user: dict[str, Any]) -> str | None:
    """The zone a Mattermost profile uses: automatic or manual, per its own switch."""
    tz = user.get("timezone") or {}
    automatic = str(tz.get("useAutomaticTimezone", "")).lower() == "true"
    zone = tz.get("automaticTimezone") if automatic else tz.get("manualTimezone")
    return zone or None


class MattermostAdapter:
    platform = "mattermost"

    def __init__(self, *, url: str, token: str, team: str, channels: list[str],
                 announce_channel: str | None, slash_token: str | None, store: Store,
                 max_reconnect_delay: float = 15.0) -> None:
        parts = urlsplit(url)
        self.driver = Driver({
            "url": parts.hostname or "localhost", "scheme": parts.scheme or "https",
            "port": parts.port or (443 if parts.scheme == "https" else 80),
            "basepath": parts.path.rstrip("/") + "/api/v4", "token": token, "timeout": 15,
        })
        self.rest = JsonClient(url.rstrip("/") + "/api/v4", {"Authorization": f"Bearer {token}"})
        self._token = token
        self._team_name = team
        self._channel_names = channels
        self._announce_name = announce_channel
        self._slash_token = slash_token
        self._store = store
        self._max_delay = max_reconnect_delay
        self.me: dict[str, Any] = {}
        self.watched: set[str] = set()
        self._direct: set[str] = set()
        self._announce: Place | None = None
        self._cursors: dict[str, int] = {}
        self._dirty: set[str] = set()
        self._profiles: dict[str, tuple[float, dict[str, Any]]] = {}
        self._on_message: OnMessage | None = None
        self.on_reaction: Callable[[Reaction], Awaitable[None]] | None = None
        self._socket: MattermostSocket | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.ready = asyncio.Event()

    # lifecycle -----------------------------------------------------------------

    async def start(self, on_message: OnMessage) -> None:
        self._on_message = on_message
        self._spawn(self._run())
        self._spawn(self._flush_cursors_forever())
        try:  # ready as soon as the first connection is up; a server that is away is waited for in the background
            await asyncio.wait_for(self.ready.wait(), timeout=10)
        except asyncio.TimeoutError:
            log.warning("mattermost not reachable yet; still trying in the background")

    async def _run(self) -> None:
        attempt = 0
        while not self.me:
            try:
                await self._setup()
            except Exception as err:  # any failure of the driver's sync calls: retry with backoff
                attempt += 1
                log.warning("mattermost setup failed (attempt %d): %s", attempt, type(err).__name__)
                await asyncio.sleep(min(15.0, 0.5 * 2 ** attempt))
        self._socket = MattermostSocket(self.driver.options, self._token, on_connect=self._caught_up,
                                        max_delay=self._max_delay)
        await self._socket.connect(self._on_event)

    async def _setup(self) -> None:
        me = await asyncio.to_thread(self.driver.login)
        team = await asyncio.to_thread(self.driver.teams.get_team_by_name, self._team_name)
        mine = await asyncio.to_thread(self.driver.channels.get_channels_for_user, me["id"], team["id"])
        by_name = {c["name"]: c for c in mine}
        wanted = self._channel_names or [c["name"] for c in mine]
        missing = [n for n in wanted if n not in by_name]
        if missing:
            log.warning("mattermost: the bot is not a member of %s", ", ".join(missing))
        self.watched = {by_name[n]["id"] for n in wanted if n in by_name}
        self._direct = {c["id"] for c in mine if c.get("type") == "D"}
        self.watched |= self._direct
        if self._announce_name and self._announce_name in by_name:
            self._announce = Place(self.platform, by_name[self._announce_name]["id"])
        self._load_cursors()
        self.me = me
        log.info("mattermost: logged in as @%s, watching %d channels", me.get("username"), len(self.watched))

    def _load_cursors(self) -> None:
        now_ms = int(time.time() * 1000)
        with self._store.unit() as unit:
            for channel in self.watched:
                saved = unit.cursors.get(f"mattermost:{channel}")
                self._cursors[channel] = int(saved) if saved else now_ms  # first start: no history
                self._dirty.add(channel)

    async def stop(self) -> None:
        if self._socket:
            self._socket.disconnect()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._flush_cursors()
        await self.rest.close()

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # catching up -----------------------------------------------------------------

    async def _caught_up(self) -> None:
        """After each (re)connect: every post missed in the watched channels, oldest first."""
        missed: list[dict[str, Any]] = []
        for channel in sorted(self.watched):
            since = self._cursors.get(channel)
            if since is None:
                continue
            try:
                listing = await self.rest.request("GET", f"/channels/{channel}/posts", params={"since": str(since)})
            except AdapterError as err:
                log.warning("mattermost: catching up on %s failed: %s", channel, err)
                continue
            posts = (listing or {}).get("posts") or {}
            missed += [p for p in posts.values() if p.get("create_at", 0) > since and not p.get("delete_at")]
        for post in sorted(missed, key=lambda p: p.get("create_at", 0)):
            await self._handle_post(post, channel_type=None, sender_name=None)
        self.ready.set()

    def _advance(self, channel: str, create_at: int) -> None:
        if create_at > self._cursors.get(channel, 0):
            self._cursors[channel] = create_at
            self._dirty.add(channel)

    async def _flush_cursors_forever(self) -> None:
        while True:
            await asyncio.sleep(CURSOR_FLUSH_SECONDS)
            self._flush_cursors()

    def _flush_cursors(self) -> None:
        if not self._dirty:
            return
        dirty, self._dirty = self._dirty, set()
        with self._store.unit() as unit:
            for channel in dirty:
                unit.cursors.set(f"mattermost:{channel}", str(self._cursors[channel]))

    # events -----------------------------------------------------------------------

    async def _on_event(self, raw: str) -> None:
        try:
            event = json.loads(raw)
            name = event.get("event")
            data = event.get("data") or {}
            if name == "posted":
                post = json.loads(data["post"])
                await self._handle_post(post, data.get("channel_type"), data.get("sender_name"))
            elif name in ("reaction_added", "reaction_removed"):
                await self._handle_reaction(json.loads(data["reaction"]), added=name == "reaction_added")
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            log.warning("mattermost: malformed event skipped: %s", type(err).__name__)

    async def _handle_post(self, post: dict[str, Any], channel_type: str | None, sender_name: str | None) -> None:
        channel = post["channel_id"]
        is_direct = channel_type == "D"
        if is_direct:
            self.watched.add(channel)
            self._direct.add(channel)
        elif channel not in self.watched:
            return
        self._advance(channel, int(post.get("create_at", 0)))
        if post.get("user_id") == self.me.get("id") or str((post.get("props") or {}).get("from_bot")) == "true":
            return
        if post.get("type"):  # system messages: joins, header changes…
            return
        user = await self._profile(post["user_id"])
        is_direct = is_direct or channel in self._direct
        incoming = Incoming(
            platform=self.platform, message_id=post["id"],
            sender=Sender(id=post["user_id"], name=(sender_name or "@" + user.get("username", "")).lstrip("@"),
                          zone=profile_zone(user), is_bot=bool(user.get("is_bot"))),
            place=Place(self.platform, channel, thread_id=post.get("root_id") or None, is_direct=is_direct),
            text=post.get("message", ""), received_at=datetime.now(timezone.utc),
            bot_mention="@" + self.me.get("username", ""),
        )
        if self._on_message:
            await self._on_message(incoming)

    async def _handle_reaction(self, reaction: dict[str, Any], *, added: bool) -> None:
        if reaction.get("user_id") == self.me.get("id") or self.on_reaction is None:
            return
        await self.on_reaction(Reaction(self.platform, reaction["post_id"], reaction["user_id"],
                                        reaction["emoji_name"], added))

    async def _profile(self, user_id: str) -> dict[str, Any]:
        cached = self._profiles.get(user_id)
        if cached and time.monotonic() - cached[0] < PROFILE_TTL:
            return cached[1]
        try:
            user = await self.rest.request("GET", f"/users/{user_id}")
        except AdapterError as err:
            log.warning("mattermost: profile of %s unavailable: %s", user_id, err)
            return cached[1] if cached else {}
        self._profiles[user_id] = (time.monotonic(), user)
        return dict(user)

    # sending ------------------------------------------------------------------------

    def render(self, reply: Reply) -> str:
        return render(reply, "markdown")

    def reply_place(self, incoming: Incoming) -> Place:
        thread = incoming.place.thread_id or (None if incoming.message_id.startswith("slash:") else incoming.message_id)
        return Place(self.platform, incoming.place.channel_id, thread_id=thread, is_direct=incoming.place.is_direct)

    def announce_place(self) -> Place | None:
        return self._announce

    async def send(self, out: Outgoing) -> None:
        for piece in split_message(out.text, MAX_POST_LENGTH):
            body = {"channel_id": out.channel_id, "message": piece, "root_id": out.thread_id or ""}
            await self.rest.request("POST", "/posts", json_body=body)

    # slash command ---------------------------------------------------------------------

    def routes(self, respond: Respond, prefix: str) -> list[web.RouteDef]:
        async def slash(request: web.Request) -> web.Response:
            return await self._slash(request, respond, prefix)
        return [web.post("/mattermost/command", slash)]

    async def _slash(self, request: web.Request, respond: Respond, prefix: str) -> web.Response:
        form = await request.post()
        given = str(form.get("token", "")) or request.headers.get("Authorization", "").removeprefix("Token ")
        if not self._slash_token or not hmac.compare_digest(given.encode(), self._slash_token.encode()):
            log.warning("mattermost: slash command with a wrong token refused")
            return web.json_response({"response_type": "ephemeral", "text": "Invalid token."}, status=401)
        user = await self._profile(str(form.get("user_id", "")))
        channel = str(form.get("channel_id", ""))
        incoming = Incoming(
            platform=self.platform, message_id=f"slash:{form.get('trigger_id') or uuid.uuid4().hex}",
            sender=Sender(id=str(form.get("user_id", "")), name=str(form.get("user_name", "")), zone=profile_zone(user)),
            place=Place(self.platform, channel, thread_id=str(form.get("root_id") or "") or None),
            text=prefix + str(form.get("text", "")), received_at=datetime.now(timezone.utc),
        )
        here = await respond(incoming)
        ephemeral = bool(here) and all(i.ephemeral for i in here)
        return web.json_response({
            "response_type": "ephemeral" if ephemeral else "in_channel",
            "text": "\n\n".join(i.text for i in here),
        })


def create(settings: Any, *, store: Store, **_: Any) -> MattermostAdapter:
    """Factory the app calls with the ``adapters.mattermost`` settings."""
    return MattermostAdapter(
        url=settings.url, token=settings.token.get_secret_value(), team=settings.team,
        channels=list(settings.channels), announce_channel=settings.announce_channel,
        slash_token=settings.slash_token.get_secret_value() if settings.slash_token else None,
        store=store,
    )
