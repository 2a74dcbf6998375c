"""The Mattermost adapter: commands in channels, threads and DMs; replies in thread.

mattermostdriver does the setup calls (login, the team) and, through
``MattermostSocket``, the websocket. Hot calls (posting a reply, listing
channels, fetching missed posts, user profiles) go through one pooled,
non-blocking ``JsonClient``: the driver's REST calls are synchronous
``requests`` calls that block the event loop (anchors §4).

The websocket reader only parses frames and queues them; one worker handles
the queue in order, so a slow reply never stalls reading and a command is
handled after the ones typed before it.

Exactly once: after every (re)connect, and whenever the event sequence shows
a gap, the posts missed in the watched channels are fetched with ``GET
/channels/{id}/posts?since=`` from a cursor kept per channel (persisted, so
this also covers a restart) and handled oldest first. A post is never handled
twice: ids handled in this process are remembered, and the dispatcher's inbox
claim drops what an earlier process already answered.
"""
from __future__ import annotations

import asyncio
import hmac
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Union
from urllib.parse import urlsplit

from mattermostdriver import Driver
from mattermostdriver.exceptions import NoAccessTokenProvided, NotEnoughPermissions, ResourceNotFound

from bot.adapters.base import OnMessage
from bot.adapters.http import JsonClient
from bot.adapters.mattermost_events import (
    OUTBOX_PROP,
    ChannelInfo,
    MalformedEvent,
    Post,
    Posted,
    Profile,
    Reacted,
    parse_channels,
    parse_frame,
    parse_profile,
    posts_in_listing,
)
from bot.adapters.mattermost_socket import MattermostSocket
from bot.adapters.recent import RecentIds
from bot.adapters.startup import Background, FirstAttempt, log_in, stop_for_refusal
from bot.errors import AdapterError, CoopbotError, RateLimited, RejectedError, SettingRefused
from bot.marks import mark, posted_parts
from bot.messages import Incoming, Outgoing, Place, Reaction, Reply, Sender
from bot.rendering import render, split_message
from bot.storage import Store

if TYPE_CHECKING:  # aiohttp.web is loaded only with the server on (bot.server)
    from aiohttp import web

log = logging.getLogger(__name__)

MAX_POST_LENGTH = 16383  # model.PostMessageMaxRunesV2
PROFILE_TTL = 600.0
CURSOR_FLUSH_SECONDS = 2.0
SINCE_LIMIT = 1000  # GET /channels/{id}/posts?since= returns at most this many posts
SINCE_PAGES = 20
RECENT_IDS = 20_000
CATCH_UP_RETRY = 5.0
READY_TIMEOUT = 10.0
CLOCK_SKEW_MS = 300_000  # the server's clock may be behind ours: look back this much further
BY_NAME = "name:"  # a queued post's channel before the bot has learnt its id: the channel's name after this

Monotonic = Callable[[], float]

# Answers a command at once: the replies for the command's own channel come back
# (to be shown in the HTTP response); the others are delivered as usual.
Respond = Callable[[Incoming], Awaitable[list[Outgoing]]]


@dataclass(frozen=True)
class CatchUp:
    """A job: fetch and handle what was missed (after a (re)connect or a sequence gap)."""

    reason: str


Job = Union[Posted, Reacted, CatchUp]


@dataclass(frozen=True)
class Me:
    id: str
    username: str
    team_id: str


class Cursors:
    """Where catching up starts in each channel: the ``create_at`` of the newest post handled there.

    Kept in memory and written to the store every few seconds and on stop; a
    cursor a little behind only means re-reading posts the inbox then drops.
    A channel with no cursor of its own (a DM opened while the bot was away)
    starts at the watermark: the newest post handled anywhere, or the first
    start of the bot.
    """

    PREFIX = "mattermost:"
    WATERMARK = "mattermost:*"

    def __init__(self, store: Store) -> None:
        self._store = store
        self._values: dict[str, int] = {}
        self._dirty: set[str] = set()
        self._watermark: int | None = None

    def _load_watermark(self) -> int:
        if self._watermark is None:
            with self._store.unit() as unit:
                saved = unit.cursors.get(self.WATERMARK)
                if saved is None:  # first start: no history to catch up on
                    saved = str(int(time.time() * 1000))
                    unit.cursors.set(self.WATERMARK, saved)
            self._watermark = int(saved)
        return self._watermark

    def get(self, channel_id: str) -> int:
        if channel_id not in self._values:
            with self._store.unit() as unit:
                saved = unit.cursors.get(self.PREFIX + channel_id)
            self._values[channel_id] = int(saved) if saved else self._load_watermark()
        return self._values[channel_id]

    def advance(self, channel_id: str, create_at: int) -> None:
        if create_at > self.get(channel_id):
            self._values[channel_id] = create_at
            self._dirty.add(channel_id)
        if create_at > self._load_watermark():
            self._watermark = create_at

    def flush(self) -> None:
        if not self._dirty:
            return
        dirty, self._dirty = self._dirty, set()
        with self._store.unit() as unit:
            for channel_id in dirty:
                unit.cursors.set(self.PREFIX + channel_id, str(self._values[channel_id]))
            unit.cursors.set(self.WATERMARK, str(self._load_watermark()))


class Profiles:
    """User profiles (name, zone, bot flag), fetched once and kept for ``ttl`` seconds."""

    def __init__(self, rest: JsonClient, ttl: float = PROFILE_TTL, clock: Monotonic = time.monotonic) -> None:
        self._rest = rest
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[float, Profile]] = {}

    async def get(self, user_id: str) -> Profile:
        cached = self._cache.get(user_id)
        if cached and self._clock() - cached[0] < self._ttl:
            return cached[1]
        try:
            profile = parse_profile(await self._rest.request("GET", f"/users/{user_id}"))
        except (AdapterError, MalformedEvent) as err:
            log.warning("mattermost: profile of %s unavailable: %s", user_id, err)
            return cached[1] if cached else Profile(user_id, "", None)
        self._cache[user_id] = (self._clock(), profile)
        return profile


class MattermostAdapter:
    platform = "mattermost"

    def __init__(self, *, url: str, token: str, team: str, channels: Iterable[str] = (),
                 announce_channel: str | None = None, slash_token: str | None = None, store: Store,
                 reconnect_max_delay: float = 15.0, catch_up_retry: float = CATCH_UP_RETRY,
                 verify_tls: bool = True, clock: Monotonic = time.monotonic) -> None:
        parts = urlsplit(url)
        self.driver = Driver({
            "url": parts.hostname or "localhost", "scheme": parts.scheme or "https",
            "port": parts.port or (443 if parts.scheme == "https" else 80),
            "basepath": parts.path.rstrip("/") + "/api/v4", "token": token, "timeout": 15,
            "verify": verify_tls,
        })
        self.rest = JsonClient(url.rstrip("/") + "/api/v4", {"Authorization": f"Bearer {token}"})
        self._token = token
        self._site = url.rstrip("/")
        self._team_name = team
        self._channel_names = tuple(channels)
        self._announce_name = announce_channel
        self._slash_token = slash_token
        self._max_delay = reconnect_max_delay
        self._catch_up_retry = catch_up_retry
        self._clock = clock
        self._cursors = Cursors(store)
        self._profiles = Profiles(self.rest, clock=clock)
        self._recent = RecentIds(RECENT_IDS)
        self._jobs: asyncio.Queue[Job] = asyncio.Queue()
        self._channels: dict[str, ChannelInfo] = {}  # watched, by id
        self._behind: set[str] = set()  # channels whose catching up failed: their cursor must wait
        self._announce: Place | None = None
        self._listed = False  # the bot's channels have been listed once: a channel not among them is not its
        self._expected_seq: int | None = None
        self._blocked_until = 0.0  # a 429 told us to wait until then (on self._clock)
        self._posted_parts: dict[int, dict[int, str]] = {}  # outbox id -> pieces known to be posted -> post id
        self._on_message: OnMessage | None = None
        self._socket: MattermostSocket | None = None
        self._tasks = Background()
        self._first_login = FirstAttempt()
        self.me: Me | None = None
        self.on_reaction: Callable[[Reaction], Awaitable[None]] | None = None
        self.on_reconnect: Callable[[], None] | None = None  # the app wakes its outbox with this
        self.on_fatal: Callable[[CoopbotError], None] | None = None  # the app stops with this
        self._retry_planned = False
        self.ready = asyncio.Event()

    # lifecycle -----------------------------------------------------------------

    async def start(self, on_message: OnMessage) -> None:
        """Returns once the first catch-up is done, or after a while if the server is away.

        Raises ``SettingRefused`` if the first login is refused (a wrong token).
        """
        self._on_message = on_message
        self._tasks.spawn(self._run())
        await self._first_login.wait()
        self._tasks.spawn(self._work())
        self._tasks.spawn(self._flush_cursors_forever())
        try:
            await asyncio.wait_for(self.ready.wait(), timeout=READY_TIMEOUT)
        except asyncio.TimeoutError:
            log.warning("mattermost not reachable yet; still trying in the background")

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close()
        await self._tasks.cancel()
        self._cursors.flush()
        await self.rest.close()

    def health(self) -> str | None:
        if self.me is None:
            return "not logged in yet"
        if self._socket is None or not self._socket.connected.is_set():
            return "websocket not connected"
        return None

    async def _run(self) -> None:
        try:
            self.me = await log_in("mattermost login", self._login, first=self._first_login, cap=self._max_delay)
        except SettingRefused as refused:
            stop_for_refusal(refused, self.on_fatal)
            return
        self._socket = MattermostSocket(self.driver.options, self._token, on_connect=self._connected,
                                        max_delay=self._max_delay)
        await self._socket.connect(self._on_frame)

    async def _login(self) -> Me:
        return await asyncio.to_thread(self._login_sync)

    def _login_sync(self) -> Me:
        try:
            user = self.driver.login()
        except (NoAccessTokenProvided, NotEnoughPermissions) as err:
            raise SettingRefused("adapters.mattermost.token", "Mattermost", _status(err), str(err)) from None
        try:
            team = self.driver.teams.get_team_by_name(self._team_name)
        except (ResourceNotFound, NotEnoughPermissions) as err:
            answer = f"no team {self._team_name!r} the bot can see: {err}"
            raise SettingRefused("adapters.mattermost.team", "Mattermost", _status(err), answer) from None
        log.info("mattermost: logged in as @%s in team %s", user["username"], self._team_name)
        return Me(user["id"], user["username"], team["id"])

    # the websocket: parse and queue, nothing more -------------------------------------

    def _connected(self, connection_id: str) -> None:
        self._expected_seq = 1  # hello was 0
        self._jobs.put_nowait(CatchUp(f"connected ({connection_id})"))

    def _on_frame(self, raw: str | bytes) -> None:
        try:  # our own replies coming back are not parsed: nothing to do (a catch-up re-reads and drops them)
            frame = parse_frame(raw, self.me.id if self.me else None)
        except MalformedEvent as err:
            log.warning("mattermost: malformed frame skipped: %s", err)
            return
        seq = getattr(frame, "seq", None)
        if seq is not None:
            self._check_sequence(seq)
        if isinstance(frame, Posted) and self.me is not None and frame.post.user_id == self.me.id:
            return  # laid out otherwise, so parsed after all
        if isinstance(frame, (Posted, Reacted)):
            self._jobs.put_nowait(frame)

    def _check_sequence(self, seq: int) -> None:
        if self._expected_seq is not None and seq != self._expected_seq:
            log.warning("mattermost: event %d arrived, %d expected; catching up", seq, self._expected_seq)
            self._jobs.put_nowait(CatchUp("sequence gap"))
        self._expected_seq = seq + 1

    # the worker: one job at a time, in order -----------------------------------------

    async def _work(self) -> None:
        while True:
            job = await self._jobs.get()
            try:
                await self._do(job)
            except Exception:  # one job must not stop the worker; it is logged with its traceback
                log.exception("mattermost: %s failed", type(job).__name__)

    async def _do(self, job: Job) -> None:
        if isinstance(job, CatchUp):
            await self._catch_up(job.reason)
        elif isinstance(job, Posted):
            where = self._channels.get(job.post.channel_id) or self._newly_watched(job)
            mentioned = self.me is not None and self.me.id in job.mentions
            if where is not None or mentioned:
                elsewhere = ChannelInfo(job.post.channel_id, job.channel_name, job.channel_type)
                await self._handle_post(job.post, where or elsewhere, job.sender_name)
        elif self.on_reaction is not None and self.me is not None and job.reaction.user_id != self.me.id:
            await self.on_reaction(job.reaction)

    # catching up -------------------------------------------------------------------------

    async def _catch_up(self, reason: str) -> None:
        """Every post missed in the watched channels, oldest first; then the outbox is woken."""
        await self._refresh_channels()
        missed: list[Post] = []
        for channel_id in list(self._channels):
            try:
                missed += await self._missed_in(channel_id)
                self._behind.discard(channel_id)
            except (AdapterError, MalformedEvent) as err:
                log.warning("mattermost: catching up on %s failed: %s", channel_id, err)
                self._fall_behind(channel_id)
        unseen = sum(1 for post in missed if post.id not in self._recent)
        for post in sorted(missed, key=lambda p: (p.create_at, p.id)):
            await self._handle_post(post, self._channels[post.channel_id])
        log.info("mattermost: caught up (%s): %d posts not seen before, in %d channels", reason, unseen,
                 len(self._channels))
        self.ready.set()
        if self.on_reconnect is not None:
            self.on_reconnect()

    def _fall_behind(self, channel_id: str) -> None:
        """Hold the channel's cursor where it is and catch up again soon: nothing after it is skipped."""
        self._behind.add(channel_id)
        if not self._retry_planned:
            self._retry_planned = True
            self._tasks.spawn(self._retry_later())

    async def _retry_later(self) -> None:
        await asyncio.sleep(self._catch_up_retry)
        self._retry_planned = False
        self._jobs.put_nowait(CatchUp("retry"))

    async def _refresh_channels(self) -> None:
        """The channels to watch: the configured ones (or all), every DM and group, and where to announce."""
        assert self.me is not None
        try:
            mine = parse_channels(await self.rest.request("GET", f"/users/{self.me.id}/teams/{self.me.team_id}/channels"))
        except (AdapterError, MalformedEvent) as err:
            log.warning("mattermost: listing channels failed, keeping the last list: %s", err)
            return
        by_name = {c.name: c for c in mine if c.type in ("O", "P")}
        missing = [n for n in self._channel_names if n not in by_name]
        if missing:
            log.warning("mattermost: the bot is not a member of %s", ", ".join(missing))
        wanted = [by_name[n] for n in self._channel_names if n in by_name] if self._channel_names else list(by_name.values())
        self._channels = {c.id: c for c in [*wanted, *(c for c in mine if c.type in ("D", "G"))]}
        announce = by_name.get(self._announce_name or "")
        self._announce = Place(self.platform, announce.id, channel_name=announce.name) if announce else None
        self._listed = True

    def _newly_watched(self, event: Posted) -> ChannelInfo | None:
        """A channel the bot joined since the last listing: a DM or group, or any channel when all are watched."""
        if event.channel_type in ("D", "G") or (not self._channel_names and event.channel_type in ("O", "P")):
            channel = ChannelInfo(event.post.channel_id, event.channel_name, event.channel_type)
            self._channels[channel.id] = channel
            return channel
        return None

    async def _missed_in(self, channel_id: str) -> list[Post]:
        cursor = self._cursors.get(channel_id)
        # `since` is exclusive; a post in the cursor's own millisecond may be unseen
        return [p for p in await self._posts_since(channel_id, cursor - 1) if p.create_at >= cursor and not p.deleted]

    async def _posts_since(self, channel_id: str, since: int) -> list[Post]:
        """Posts of the channel created or changed after ``since`` (ms), each once, page after page."""
        found: list[Post] = []
        for _ in range(SINCE_PAGES):
            listing = await self.rest.request("GET", f"/channels/{channel_id}/posts", params={"since": str(since)})
            posts = posts_in_listing(listing)
            found += posts
            if len(posts) < SINCE_LIMIT:
                break
            since = max(p.update_at for p in posts)
        return list({p.id: p for p in found}.values())

    async def _flush_cursors_forever(self) -> None:
        while True:
            await asyncio.sleep(CURSOR_FLUSH_SECONDS)
            self._cursors.flush()

    # one post ---------------------------------------------------------------------------

    async def _handle_post(self, post: Post, where: ChannelInfo, sender_name: str = "") -> None:
        if post.id not in self._recent:
            if not self._ignored(post) and self._on_message is not None:
                try:
                    await self._on_message(await self._incoming(post, where, sender_name))
                except Exception:  # the core failed (the database?): this post is fetched and tried again
                    log.exception("mattermost: post %s in %s failed; will retry", post.id, post.channel_id)
                    self._fall_behind(post.channel_id)
                    return
            self._recent.add(post.id)
        if post.channel_id in self._channels and post.channel_id not in self._behind:
            self._cursors.advance(post.channel_id, post.create_at)

    def _ignored(self, post: Post) -> bool:
        """Our own posts, other bots' and integrations', system messages, deleted posts."""
        own = self.me is not None and post.user_id == self.me.id
        return own or post.automated or bool(post.type) or post.deleted

    async def _incoming(self, post: Post, where: ChannelInfo, sender_name: str) -> Incoming:
        profile = await self._profiles.get(post.user_id)
        return Incoming(
            platform=self.platform, message_id=post.id,
            sender=Sender(id=post.user_id, name=(sender_name.lstrip("@") or profile.username or post.user_id),
                          zone=profile.zone, is_bot=profile.is_bot),
            place=Place(self.platform, post.channel_id, thread_id=post.root_id or None,
                        is_direct=where.is_direct, channel_name=where.name or None),
            text=post.message, received_at=datetime.now(timezone.utc),
            bot_mention="@" + self.me.username if self.me else None,
            link=f"{self._site}/{self._team_name}/pl/{post.id}",  # Mattermost's permalink
        )

    # sending ------------------------------------------------------------------------

    def render(self, reply: Reply) -> str:
        return render(reply, "markdown")

    def reply_place(self, incoming: Incoming) -> Place:
        thread = incoming.place.thread_id or (None if incoming.message_id.startswith("slash:") else incoming.message_id)
        return Place(self.platform, incoming.place.channel_id, thread_id=thread, is_direct=incoming.place.is_direct,
                     channel_name=incoming.place.channel_name)

    def announce_place(self) -> Place | None:
        """The announce channel; before the bot has logged in and listed its channels (the server is
        away at start), the channel by name, so what is posted there is queued and sent once it is known."""
        if self._announce is None and self._announce_name:
            return Place(self.platform, BY_NAME + self._announce_name, channel_name=self._announce_name)
        return self._announce

    def _channel_id(self, queued: str) -> str:
        """The id of a channel a post was queued for, which may be a name (``BY_NAME``)."""
        if not queued.startswith(BY_NAME):
            return queued
        if self._announce is not None and queued == BY_NAME + (self._announce.channel_name or ""):
            return self._announce.channel_id
        if not self._listed:
            raise AdapterError(f"mattermost: channel {queued[len(BY_NAME):]!r} not known until its channels are listed")
        raise RejectedError(404, f"mattermost: the bot is not a member of {queued[len(BY_NAME):]!r}")

    async def send(self, out: Outgoing) -> tuple[str, ...]:
        """Post ``out``, split on line boundaries if long; a retry skips the pieces already posted
        (found by reconciling, or by an attempt of this process); returns the posts' ids."""
        self._respect_rate_limit()
        pieces = split_message(out.text, MAX_POST_LENGTH)
        posted = self._posted_parts.setdefault(out.outbox_id, {}) if out.outbox_id is not None else {}
        for index, piece in enumerate(pieces):
            if index not in posted:
                posted[index] = await self._post(out, piece, index)
        if out.outbox_id is not None:
            self._posted_parts.pop(out.outbox_id, None)
        return tuple(posted[index] for index in range(len(pieces)))

    async def reconcile(self, unsent: Sequence[Outgoing]) -> set[int]:
        """Of replies a previous process queued: those whose every piece is among the bot's own
        posts in their channel since they were queued (found by the mark in their props)."""
        if self.me is None:
            raise AdapterError("mattermost: not logged in yet")
        by_channel: dict[str, list[Outgoing]] = {}
        for out in unsent:
            try:
                channel_id = self._channel_id(out.channel_id)
            except RejectedError:
                continue  # never posted: sending it says why
            by_channel.setdefault(channel_id, []).append(out)
        complete: set[int] = set()
        for channel_id, items in by_channel.items():
            since = min(_millis(out.queued_at) for out in items) - CLOCK_SKEW_MS
            posts = await self._posts_since(channel_id, since)
            found = posted_parts([(p.outbox_mark, p.id) for p in posts if p.user_id == self.me.id and p.outbox_mark])
            for out in items:
                assert out.outbox_id is not None
                parts = found.get(out.outbox_id, {})
                if len(split_message(out.text, MAX_POST_LENGTH)) <= len(parts):
                    complete.add(out.outbox_id)
                elif parts:
                    self._posted_parts[out.outbox_id] = parts
        return complete

    def _respect_rate_limit(self) -> None:
        wait = self._blocked_until - self._clock()
        if wait > 0:
            raise RateLimited(wait, "mattermost rate limit still in force")

    async def _post(self, out: Outgoing, message: str, index: int) -> str:
        """Post one piece; returns the new post's id."""
        body: dict[str, Any] = {"channel_id": self._channel_id(out.channel_id), "message": message,
                                "root_id": out.thread_id or ""}
        if out.outbox_id is not None and self.me is not None:
            # The mark finds the post again after a crash, however long ago (``reconcile``). Within
            # 30 s the server also answers a repeat with the post it already made
            # (deduplicateCreatePost on pending_post_id; the key is global, hence the bot's id in it).
            body["props"] = {OUTBOX_PROP: mark(out.outbox_id, index)}
            body["pending_post_id"] = f"{self.me.id}:{out.outbox_id}.{index}"
        try:
            created = await self.rest.request("POST", "/posts", json_body=body)
        except RateLimited as err:
            self._blocked_until = self._clock() + err.retry_after
            raise
        return str(created.get("id", "")) if isinstance(created, dict) else ""

    # slash command ---------------------------------------------------------------------

    def routes(self, respond: Respond, prefix: str) -> list[web.RouteDef]:
        from aiohttp import web

        async def slash(request: web.Request) -> web.Response:
            return await self._slash(request, respond, prefix)
        return [web.post("/mattermost/command", slash)]

    async def _slash(self, request: web.Request, respond: Respond, prefix: str) -> web.Response:
        from aiohttp import web

        form = await request.post()
        fields = {key: str(value) for key, value in form.items()}
        if not slash_token_ok(self._slash_token, fields.get("token", ""), request.headers.get("Authorization", "")):
            log.warning("mattermost: slash command with a wrong token refused")
            return web.json_response({"response_type": "ephemeral", "text": "Invalid token."}, status=401)
        incoming = await self._slash_incoming(fields, prefix)
        return web.json_response(slash_response(await respond(incoming)))

    async def _slash_incoming(self, form: Mapping[str, str], prefix: str) -> Incoming:
        user_id = form.get("user_id", "")
        profile = await self._profiles.get(user_id)
        channel_id = form.get("channel_id", "")
        where = self._channels.get(channel_id)
        return Incoming(
            platform=self.platform, message_id=f"slash:{form.get('trigger_id') or uuid.uuid4().hex}",
            sender=Sender(id=user_id, name=form.get("user_name", "") or profile.username, zone=profile.zone),
            place=Place(self.platform, channel_id, thread_id=form.get("root_id") or None,
                        is_direct=where.is_direct if where else False, channel_name=form.get("channel_name") or None),
            text=prefix + form.get("text", "").strip(), received_at=datetime.now(timezone.utc),
        )


def _millis(at: datetime | None) -> int:
    return int((at or datetime.now(timezone.utc)).timestamp() * 1000)


def _status(err: Exception) -> int:
    """The HTTP status behind one of mattermostdriver's exceptions (it keeps only the class)."""
    return {NoAccessTokenProvided: 401, NotEnoughPermissions: 403, ResourceNotFound: 404}.get(type(err), 0)


def slash_token_ok(expected: str | None, field: str, authorization: str) -> bool:
    """The command's token, from the form or the ``Authorization: Token …`` header, compared in constant time."""
    given = field or authorization.removeprefix("Token ").strip()
    return bool(expected) and bool(given) and hmac.compare_digest(given.encode(), (expected or "").encode())


def slash_response(items: list[Outgoing]) -> dict[str, str]:
    """Mattermost's command response: errors only for the caller (ephemeral), results for the channel."""
    ephemeral = not items or all(item.ephemeral for item in items)
    return {"response_type": "ephemeral" if ephemeral else "in_channel",
            "text": "\n\n".join(item.text for item in items)}


def create(settings: Any, *, store: Store, **_: Any) -> MattermostAdapter:
    """Factory the app calls with the ``adapters.mattermost`` settings."""
    return MattermostAdapter(
        url=settings.url, token=settings.token.get_secret_value(), team=settings.team,
        channels=settings.channels, announce_channel=settings.announce_channel,
        slash_token=settings.slash_token.get_secret_value() if settings.slash_token else None,
        store=store, reconnect_max_delay=settings.reconnect_max_delay.total_seconds(),
    )
