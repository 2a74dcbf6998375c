"""A protocol-faithful fake Discourse: a real aiohttp server on 127.0.0.1.

    async with FakeDiscourse() as d:
        client = DiscourseClient(d.url, api_username=d.bot.username, api_key=d.api_key)
        topic = d.create_topic("Planning the winter assembly", posts=3)
        await d.user_posts("alice", topic.id, "@coopbot when is the call in Buenos Aires?")
        reply = await d.wait_for_post(username="coopbot")

It speaks Discourse's REST JSON (shapes in ``_discourse_json``), its error
envelopes, status codes and rate limits, and it delivers signed webhooks.
What it enforces and where each rule comes from is listed in
``_discourse_forum`` (posting, notifications) and ``_discourse_rest`` (auth,
API limits); the hooks below script the humans and the failures.

Auth is by ``Api-Key`` + ``Api-Username`` headers. ``d.api_key`` is an
"all users" key (any ``Api-Username``); a key bound to one user accepts only
that name. A bad pair answers 403 ``invalid_access``; no key at all is an
anonymous visitor (public reads work, writes answer 403 ``not_logged_in``).

Users: ``d.bot`` (``coopbot``, trust level 1, not staff unless
``bot_staff=True``), ``d.alice`` and ``d.bob`` (members), ``d.admin`` (``sam``).
Category ``d.general``. Ids of users, topics (from 1001), posts (from 5001)
and notifications come from separate ranges, so mixing them up finds nothing.

Not modelled: ``/c/{slug}/{id}.json``, ``topic_created`` webhooks, likes,
quotes, groups, whispers, uploads, webhook retries (real ones come minutes
later), edit notifications (type 4) and ``POST /topics/timings``.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from ._discourse_forum import Forum
from ._discourse_json import JSON, notification_json, post_json
from ._discourse_model import (
    Clock,
    ManualClock,
    NewPost,
    Notification,
    NotificationType,
    Post,
    SiteSettings,
    Topic,
    User,
    system_clock,
)
from ._discourse_rest import DiscourseRest, ForcedLimit, RecordedRequest, dumps

__all__ = [
    "Delivery",
    "FakeDiscourse",
    "ManualClock",
    "NotificationType",
    "RecordedRequest",
    "SiteSettings",
    "Webhook",
    "sign",
]

DISCOURSE_VERSION = "3.5.0"
WEBHOOK_EVENTS = {
    "post_created": "post",
    "post_edited": "post",
    "post_destroyed": "post",
    "notification_created": "notification",
}


def sign(secret: str, body: bytes) -> str:
    """The ``X-Discourse-Event-Signature`` value for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Webhook:
    id: int
    url: str
    secret: str
    events: frozenset[str]
    content_type: str = "application/json"


@dataclass(frozen=True)
class Delivery:
    """One POST the fake made to a webhook URL; ``status`` is None if it failed."""

    event_id: int
    url: str
    event_name: str
    headers: Mapping[str, str]
    body: bytes
    status: int | None
    error: str | None
    sent_monotonic: float


class FakeDiscourse:
    """The fake forum and its server; see the module docstring."""

    def __init__(
        self,
        *,
        settings: SiteSettings | None = None,
        clock: Clock = system_clock,
        bot_username: str = "coopbot",
        bot_staff: bool = False,
    ) -> None:
        self.settings = settings or SiteSettings()
        self.forum = Forum(self.settings, clock)
        self.bot = self.forum.add_user(bot_username, name="Coop Bot", admin=bot_staff, trust_level=1)
        self.alice = self.forum.add_user("alice", name="Alice Moreau", trust_level=2, timezone="Europe/Paris")
        self.bob = self.forum.add_user(
            "bob", name="Bob Quispe", trust_level=2, timezone="America/Argentina/Buenos_Aires"
        )
        self.admin = self.forum.add_user("sam", name="Sam Admin", admin=True, trust_level=4)
        self.general = self.forum.add_category("General")
        self.api_key = "coopbot-test-all-users-api-key-0001"
        self.api_keys: dict[str, str | None] = {self.api_key: None}
        self.rest = DiscourseRest(self.forum, self.api_keys)
        self.requests = self.rest.requests
        self.request_log = self.rest.request_log
        self.deliveries: list[Delivery] = []
        self.webhooks: list[Webhook] = []
        self._next_event_id = 1
        self._pending: set[asyncio.Task[Delivery]] = set()
        self._claimed: set[int] = set()
        self._seeding = False
        self._waiters: list[tuple[Callable[[Post], bool], asyncio.Future[Post]]] = []
        self._server: TestServer | None = None
        self._session: aiohttp.ClientSession | None = None
        self.forum.on_post_created.append(self._post_created)
        self.forum.on_post_edited.append(lambda post: self._emit_post("post_edited", post))
        self.forum.on_post_destroyed.append(lambda post: self._emit_post("post_destroyed", post))
        self.forum.on_notification_created.append(self._notification_created)

    # -- lifecycle --------------------------------------------------------------

    async def __aenter__(self) -> FakeDiscourse:
        self._server = TestServer(self.rest.application(), host="127.0.0.1", port=0)
        await self._server.start_server()
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for task in list(self._pending):
            task.cancel()
        await asyncio.gather(*self._pending, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        if self._server is not None:
            await self._server.close()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeDiscourse is not running; use 'async with FakeDiscourse() as d'")
        return str(self._server.make_url("")).rstrip("/")

    # -- scripting hooks ----------------------------------------------------------

    def add_user(self, username: str, **kwargs: Any) -> User:
        return self.forum.add_user(username, **kwargs)

    def add_api_key(self, key: str, username: str | None = None) -> None:
        """Add an API key; bound to ``username``, or for all users if None."""
        self.api_keys[key] = username

    def user(self, username: str) -> User:
        user = self.forum.user_named(username)
        if user is None:
            raise KeyError(username)
        return user

    def create_topic(
        self, title: str, *, category_id: int | None = None, posts: int = 1, username: str = "alice"
    ) -> Topic:
        """Seed a topic with ``posts`` posts quickly: no validation, webhooks or waiters."""
        author = self.user(username)
        self._seeding = True
        try:
            return self._seed_topic(author, title, category_id, posts)
        finally:
            self._seeding = False

    def _seed_topic(self, author: User, title: str, category_id: int | None, posts: int) -> Topic:
        first = self.forum.create_post(
            author,
            NewPost(raw=f"{title}: opening post.", title=title, category_id=category_id or self.general.id),
            enforce=False,
        )
        topic = self.forum.topics[first.topic_id]
        for number in range(2, posts + 1):
            raw = f"Post {number} of the thread, on its agenda."
            self.forum.create_post(author, NewPost(raw=raw, topic_id=topic.id), enforce=False)
        return topic

    async def user_posts(
        self, username: str, topic_id: int, raw: str, reply_to_post_number: int | None = None
    ) -> Post:
        """A human replies in a topic: notifications, then webhooks (awaited)."""
        post = self.forum.create_post(
            self.user(username),
            NewPost(raw=raw, topic_id=topic_id, reply_to_post_number=reply_to_post_number),
            enforce=False,
        )
        await self.drain_deliveries()
        return post

    async def user_creates_topic(
        self, username: str, title: str, raw: str, category_id: int | None = None
    ) -> Post:
        post = self.forum.create_post(
            self.user(username),
            NewPost(raw=raw, title=title, category_id=category_id or self.general.id),
            enforce=False,
        )
        await self.drain_deliveries()
        return post

    async def user_sends_pm(self, username: str, recipients: Iterable[str], title: str, raw: str) -> Post:
        post = self.forum.create_post(
            self.user(username),
            NewPost(raw=raw, title=title, archetype="private_message", target_recipients=tuple(recipients)),
            enforce=False,
        )
        await self.drain_deliveries()
        return post

    async def user_edits(self, post_id: int, raw: str, editor: str | None = None) -> Post:
        """Edit a post (``post_edited``); only newly mentioned users are notified."""
        post = self.forum.posts[post_id]
        self.forum.edit_post(post, raw, self.user(editor) if editor else self.forum.users[post.user_id])
        await self.drain_deliveries()
        return post

    async def user_deletes(self, post_id: int, by: str = "sam") -> Post:
        """Staff deletes a post (``post_destroyed``); post 1 takes its topic along."""
        post = self.forum.delete_post(self.forum.posts[post_id], self.user(by))
        await self.drain_deliveries()
        return post

    def start_rate_limiting(
        self,
        wait_seconds: int = 10,
        *,
        requests: int | None = None,
        error_code: str | None = "admin_api_key_rate_limit",
    ) -> None:
        """Answer the next ``requests`` authenticated requests (all if None) with 429."""
        self.rest.forced_limit = ForcedLimit(requests, wait_seconds, error_code)

    def stop_rate_limiting(self) -> None:
        self.rest.forced_limit = None

    def reset_counters(self) -> None:
        self.requests.clear()
        self.request_log.clear()

    @property
    def requests_total(self) -> int:
        return sum(self.requests.values())

    def posts_by(self, username: str) -> list[Post]:
        user = self.user(username)
        return [p for p in self.forum.posts.values() if p.user_id == user.id]

    def notifications_for(self, username: str) -> list[Notification]:
        return self.forum.visible_notifications(self.user(username))

    async def wait_for_post(
        self, username: str | None = None, *, topic_id: int | None = None, timeout: float = 5.0
    ) -> Post:
        """The oldest matching post not yet returned by this method, waiting if none."""
        author = self.user(username) if username else None

        def matches(post: Post) -> bool:
            return (
                post.id not in self._claimed
                and (author is None or post.user_id == author.id)
                and (topic_id is None or post.topic_id == topic_id)
            )

        found = next((p for p in self.forum.posts.values() if matches(p)), None)
        if found is not None:
            self._claimed.add(found.id)
            return found
        waiter: asyncio.Future[Post] = asyncio.get_running_loop().create_future()
        entry = (matches, waiter)
        self._waiters.append(entry)
        try:
            async with asyncio.timeout(timeout):
                return await waiter
        finally:
            self._waiters.remove(entry)

    # -- webhooks -------------------------------------------------------------------

    def add_webhook(
        self,
        url: str,
        secret: str = "",
        events: Iterable[str] = ("post_created",),
        content_type: str = "application/json",
    ) -> Webhook:
        """Register a webhook as an admin would; Discourse wants secrets of 12+ characters."""
        wanted = frozenset(events)
        if unknown := wanted - WEBHOOK_EVENTS.keys():
            raise ValueError(f"unsupported webhook events: {sorted(unknown)}")
        if secret and len(secret) < 12:
            raise ValueError("Discourse rejects webhook secrets shorter than 12 characters")
        hook = Webhook(len(self.webhooks) + 1, url, secret, wanted, content_type)
        self.webhooks.append(hook)
        return hook

    async def deliver_raw(self, url: str, body: bytes, headers: Mapping[str, str]) -> Delivery:
        """POST exactly these bytes and headers (forged, unsigned, replayed deliveries)."""
        return await self._send(url, body, dict(headers), 0, headers.get("X-Discourse-Event", ""))

    async def redeliver(self, delivery: Delivery) -> Delivery:
        """Replay a recorded delivery byte for byte, same event id and signature."""
        return await self._send(
            delivery.url, delivery.body, dict(delivery.headers), delivery.event_id, delivery.event_name
        )

    async def ping(self, hook: Webhook) -> Delivery:
        """``{"ping": "OK"}`` with event type and name ``ping``, as the admin UI's Ping."""
        body = dumps({"ping": "OK"}).encode()
        event_id = self._event_id()
        headers = self._headers(hook, event_id, "ping", "ping", body)
        return await self._send(hook.url, body, headers, event_id, "ping")

    async def drain_deliveries(self) -> None:
        """Wait until every delivery started so far (and any they caused) is done."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    def _event_id(self) -> int:
        event_id = self._next_event_id
        self._next_event_id += 1
        return event_id

    def _headers(
        self, hook: Webhook, event_id: int, event_type: str, event_name: str, body: bytes
    ) -> dict[str, str]:
        headers = {
            "Accept": "*/*",
            "Connection": "close",
            "Content-Type": hook.content_type,
            "User-Agent": f"Discourse/{DISCOURSE_VERSION}",
            "X-Discourse-Instance": self.url,
            "X-Discourse-Event-Id": str(event_id),
            "X-Discourse-Event-Type": event_type,
            "X-Discourse-Event": event_name,
        }
        if hook.secret:
            headers["X-Discourse-Event-Signature"] = sign(hook.secret, body)
        return headers

    def _emit_post(self, event_name: str, post: Post) -> None:
        self._emit(event_name, post_json(self.forum, post, None, "webhook"))

    def _post_created(self, post: Post) -> None:
        if self._seeding:
            self._claimed.add(post.id)
            return
        for matches, waiter in self._waiters:
            if not waiter.done() and matches(post):
                self._claimed.add(post.id)
                waiter.set_result(post)
                break
        self._emit_post("post_created", post)

    def _notification_created(self, notification: Notification) -> None:
        if any("notification_created" in h.events for h in self.webhooks):
            self._emit("notification_created", notification_json(self.forum, notification))

    def _emit(self, event_name: str, payload: JSON) -> None:
        if self._seeding:
            return
        event_type = WEBHOOK_EVENTS[event_name]
        for hook in self.webhooks:
            if event_name not in hook.events:
                continue
            body = dumps({event_type: payload}).encode()
            event_id = self._event_id()
            headers = self._headers(hook, event_id, event_type, event_name, body)
            sending = self._send(hook.url, body, headers, event_id, event_name)
            task = asyncio.get_running_loop().create_task(sending)
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _send(
        self, url: str, body: bytes, headers: dict[str, str], event_id: int, event_name: str
    ) -> Delivery:
        if self._session is None:
            raise RuntimeError("FakeDiscourse is not running")
        status: int | None = None
        error: str | None = None
        sent = time.perf_counter()
        try:
            timeout = aiohttp.ClientTimeout(total=20)  # WebHookEmitter's open/read/write timeouts
            async with self._session.post(url, data=body, headers=headers, timeout=timeout) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = repr(exc)
        delivery = Delivery(event_id, url, event_name, headers, body, status, error, sent)
        self.deliveries.append(delivery)
        return delivery
