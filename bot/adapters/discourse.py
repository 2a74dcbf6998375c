"""The Discourse adapter: @mentions in topics and private messages; replies in the topic.

Mentions come in two ways, and either is enough alone: polling the bot's
``/notifications.json`` (``discourse_poll``; one request per idle cycle) and a
signed webhook on the bot's server (``discourse_webhook``). Both give the
post id as the message id, so with both on the dispatcher's inbox claim
answers each post once.

pydiscourse does the one-off setup (who the bot is, whether it is staff,
category slugs) in a thread at start. Every recurring call goes through
``DiscourseApi``: a pooled, non-blocking client whose rate-limit gate is
ours (pydiscourse blocks the event loop's thread and sleeps through 429s
itself; see ``discourse_api``).

A post is for the bot when it @mentions it (outside quotes and code) or
replies to one of its posts, in a watched topic or category (all of them
if ``watch`` is empty), or when it is in a private message with the bot
(no prefix needed when the bot is the only other member). The reply goes
to the same topic with ``reply_to_post_number`` and quotes the line it
answers; reminders of a call scheduled in a topic are posted there too,
since the call keeps the topic id and post number as its place.

``read_post`` gives commands an earlier post of the same topic by its number
("agenda from 2"): ``GET /posts/by_number/{topic}/{n}.json`` through the same
pooled client and rate-limit gate, its raw Markdown without quoted posts and code blocks.

A non-staff bot meets Discourse's posting limits: one post every few seconds
(a 429, waited out through the outbox) and at most three consecutive posts
in a topic it did not start (a 422, logged and parked). Start warns about
this; making the bot a moderator lifts both.
"""
from __future__ import annotations

import asyncio
import time
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from pydiscourse import DiscourseClient
from pydiscourse.exceptions import DiscourseClientError

from bot.adapters.base import OnMessage
from bot.adapters.discourse_api import DiscourseApi
from bot.adapters.discourse_poll import NotificationPoller
from bot.adapters.discourse_text import (
    PRIVATE_ARCHETYPE,
    PRIVATE_MESSAGE,
    PostView,
    TopicInfo,
    command_line,
    mentions,
    outbox_mark,
    own_words,
    quote_block,
    watched,
    with_outbox_mark,
)
from bot.adapters.discourse_webhook import EventLog, WebhookReceiver
from bot.adapters.startup import Background, FirstAttempt, log_in, stop_for_refusal
from bot.errors import AdapterError, CoopbotError, RejectedError, SettingRefused
from bot.messages import Incoming, Outgoing, Place, Reply, Sender, SourcePost
from bot.numbers import small_number
from bot.rendering import render
from bot.storage import Store

log = logging.getLogger(__name__)

PLATFORM = "discourse"
MAX_POST_LENGTH = 32000  # max_post_length's default
REMEMBERED_POSTS = 4096
SETUP_MAX_DELAY = 60.0
CLOCK_SKEW = timedelta(minutes=5)  # the forum's clock may be behind ours: look back this much further
RECONCILE_PAGES = 50  # 20 posts each: how far back a topic is read for the bot's unmarked replies


class RecentPosts:
    """Posts recently handed to the dispatcher: id → post number, and the line each command is on."""

    def __init__(self, size: int = REMEMBERED_POSTS) -> None:
        self._size = size
        self._ids: OrderedDict[int, int] = OrderedDict()
        self._lines: OrderedDict[tuple[int, int], tuple[str, str]] = OrderedDict()

    def add(self, post: PostView, line: str) -> None:
        self._ids[post.id] = post.post_number
        self._lines[(post.topic_id, post.post_number)] = (post.username, line)
        while len(self._ids) > self._size:
            self._ids.popitem(last=False)
        while len(self._lines) > self._size:
            self._lines.popitem(last=False)

    def seen(self, post_id: int) -> bool:
        return post_id in self._ids

    def post_number(self, post_id: int) -> int | None:
        return self._ids.get(post_id)

    def line(self, topic_id: int, post_number: int) -> tuple[str, str] | None:
        return self._lines.get((topic_id, post_number))


class DiscourseAdapter:
    platform = PLATFORM

    def __init__(self, *, url: str, api_key: str, api_username: str, store: Store, poll_interval: float,
                 webhook_secret: str | None = None, watch_topics: tuple[int, ...] = (),
                 watch_categories: tuple[str, ...] = (), digest_topic: int | None = None,
                 languages: tuple[str, ...] = ()) -> None:
        self.url = url.rstrip("/")
        self.username = api_username
        self._api_key = api_key
        self.api = DiscourseApi(self.url, api_key, api_username)
        self.recent = RecentPosts()
        host = urlsplit(self.url).netloc or self.url
        self.poller = NotificationPoller(self.api, store, cursor_name=f"discourse:{host}:notifications",
                                         interval=poll_interval, on_post=self._polled, handled=self.recent.post_number)
        self.webhook = (WebhookReceiver(webhook_secret, EventLog(store), self._pushed)
                        if webhook_secret else None)
        self._watch_topics = watch_topics
        self._watch_categories = watch_categories
        self._needs_category = bool(watch_categories or languages)
        self._needs_slugs = any(not name.isdigit() for name in watch_categories + languages)
        self._languages = languages
        self._announce = Place(PLATFORM, str(digest_topic)) if digest_topic else None
        self._slugs: dict[int, str] = {}
        self.staff: bool | None = None
        self._on_message: OnMessage | None = None
        self.on_reconnect: Callable[[], None] | None = None  # set by the app: retry failed replies at once
        self.on_fatal: Callable[[CoopbotError], None] | None = None  # set by the app: stop with this
        self.poller.on_recovered = self._recovered
        self._tasks = Background()
        self._first_login = FirstAttempt()
        self.ready = asyncio.Event()
        self._pushed_at = float("-inf")  # when a webhook last delivered a post (monotonic)

    # lifecycle ---------------------------------------------------------------------

    async def start(self, on_message: OnMessage) -> None:
        """Returns once the poll cursor is in place, or after a while if the forum is away.

        Raises ``SettingRefused`` if the first sign-in is refused (a wrong API key).
        """
        self._on_message = on_message
        self._tasks.spawn(self._run())
        await self._first_login.wait()
        try:  # ready once the poll cursor is in place; a forum that is away is waited for in the background
            await asyncio.wait_for(self.ready.wait(), timeout=10)
        except asyncio.TimeoutError:
            log.warning("discourse not reachable yet; still trying in the background")

    async def _run(self) -> None:
        try:
            await log_in("discourse setup", self._setup, first=self._first_login, cap=SETUP_MAX_DELAY)
        except SettingRefused as refused:
            stop_for_refusal(refused, self.on_fatal)
            return
        await log_in("discourse first poll", self.poller.prime, cap=SETUP_MAX_DELAY)
        self.ready.set()
        await self.poller.run()

    async def _setup(self) -> None:
        """Who the bot is and the category slugs, with pydiscourse (blocking, so in a thread)."""
        client = DiscourseClient(self.url, api_username=self.username, api_key=self._api_key, timeout=15)
        try:
            me = await asyncio.to_thread(client.user, self.username)
        except DiscourseClientError as err:
            status = getattr(err.response, "status_code", 0)
            if status in (401, 403):
                raise SettingRefused("adapters.discourse.api_key", "Discourse", status,
                                     f"{err} (for api_username {self.username!r})") from None
            raise
        self.staff = bool(me.get("admin") or me.get("moderator"))
        if self._needs_slugs:
            self._slugs = await asyncio.to_thread(_category_slugs, client)
        if self._announce is not None and self._languages:
            await self._name_digest_topic(int(self._announce.channel_id))
        log.info("discourse: signed in as @%s (%s), polling every %.1fs%s", me.get("username", self.username),
                 "staff" if self.staff else "not staff", self.poller.interval,
                 ", webhook on" if self.webhook else "")
        if not self.staff:
            log.warning("discourse: @%s is not staff, so Discourse allows it one post every few seconds and at "
                        "most 3 consecutive posts in a topic it did not start; make it a moderator, and start "
                        "the digest topic as the bot", self.username)

    async def _name_digest_topic(self, topic_id: int) -> None:
        """The digest topic's category (slug, else id), the key of its language in ``languages``."""
        topic = await self.api.topic(topic_id)
        if topic is None or topic.category_id is None:
            log.warning("discourse: digest_topic %d is not a topic the bot can see", topic_id)
            return
        name = self._slugs.get(topic.category_id) or str(topic.category_id)
        self._announce = Place(PLATFORM, str(topic_id), channel_name=name)

    async def stop(self) -> None:
        await self._tasks.cancel()
        await self.api.close()

    def health(self) -> str | None:
        """Connected while the last poll, or a webhook delivered since it, succeeded."""
        if not self.ready.is_set():
            return "not signed in yet"
        failure = self.poller.last_failure
        if failure is not None and failure[0] > self._pushed_at:
            return f"last poll failed: {failure[1]}"
        return None

    def _recovered(self) -> None:
        log.info("discourse: the forum answers again")
        if self.on_reconnect:
            self.on_reconnect()

    # incoming ------------------------------------------------------------------------

    async def _polled(self, post: PostView, notification_type: int) -> None:
        await self._accept(post, private=notification_type == PRIVATE_MESSAGE)

    async def _pushed(self, post: PostView) -> None:
        self._pushed_at = time.monotonic()
        await self._accept(post, private=post.archetype == PRIVATE_ARCHETYPE)

    async def _accept(self, post: PostView, *, private: bool) -> None:
        """Hand a post to the dispatcher if it is a command for the bot."""
        if (not post.answerable or post.username.lower() == self.username.lower()
                or self.recent.seen(post.id) or self._on_message is None):
            return
        addressed = mentions(post.raw, self.username) or (post.reply_to_username or "").lower() == self.username.lower()
        if not (private or addressed):
            return  # most webhook deliveries: a post that is not for the bot, decided without a request
        topic = await self._topic(post, private)
        if topic is None or not self._allowed(post, topic):
            return
        line = command_line(post.raw, self.username)
        if line is None:
            return
        incoming = await self._incoming(post, topic, line)
        await self._on_message(incoming)
        self.recent.add(post, line)

    async def _topic(self, post: PostView, private: bool) -> TopicInfo | None:
        """What the post's topic is; asked of Discourse only when it matters (private, or by category)."""
        if private or (self._needs_category and post.category_id is None):
            return await self.api.topic(post.topic_id)
        return TopicInfo(post.topic_id, post.archetype or "regular", post.category_id)

    def _allowed(self, post: PostView, topic: TopicInfo) -> bool:
        if topic.is_private:
            return self.username.lower() in topic.participants
        slug = post.category_slug or self._slugs.get(topic.category_id or 0)
        return watched(topic.id, topic.category_id, slug, self._watch_topics, self._watch_categories)

    def _category_name(self, post: PostView, topic: TopicInfo) -> str | None:
        """The category's slug if known, else its id: the key of ``languages``."""
        if topic.category_id is None:
            return None
        return post.category_slug or self._slugs.get(topic.category_id) or str(topic.category_id)

    async def _incoming(self, post: PostView, topic: TopicInfo, line: str) -> Incoming:
        direct = topic.is_private and len(topic.participants) == 2
        category = self._category_name(post, topic)
        return Incoming(
            platform=PLATFORM, message_id=str(post.id),
            sender=Sender(id=str(post.user_id), name=post.username, zone=await self._zone(post.username),
                          is_bot=post.user_id < 1),  # system (-1) and discobot (-2)
            place=Place(PLATFORM, str(post.topic_id), thread_id=str(post.post_number), is_direct=direct,
                        channel_name=category),
            text=line, received_at=datetime.now(timezone.utc), bot_mention="@" + self.username,
            link=f"{self.url}/t/{post.topic_id}/{post.post_number}",  # Discourse redirects it to the slugged URL
        )

    async def _zone(self, username: str) -> str | None:
        try:
            return await self.api.user_zone(username)
        except AdapterError as err:
            log.info("discourse: profile of @%s unavailable: %s", username, err)
            return None

    async def read_post(self, place: Place, ref: str) -> SourcePost | None:
        """Post number ``ref`` of the topic at ``place``; None if it is not there or not a regular,
        visible post (a whisper, a small action, a hidden or deleted post)."""
        number, topic = small_number(ref), small_number(place.channel_id)
        if number is None or topic is None or number < 1:
            return None
        try:
            post = await self.api.post_by_number(topic, number)
        except ValueError as err:  # an answer that is not a post
            raise AdapterError(f"post {number} of topic {topic}: {err}") from err
        if post is None or not post.answerable:
            return None
        return SourcePost(ref=str(number), text=own_words(post.raw), author=post.username)

    # sending ----------------------------------------------------------------------------

    def render(self, reply: Reply) -> str:
        return render(reply, "discourse")

    def reply_place(self, incoming: Incoming) -> Place:
        return incoming.place  # the same topic, replying to the command's post

    def announce_place(self) -> Place | None:
        return self._announce

    async def send(self, out: Outgoing) -> tuple[str, ...]:
        """Post ``out`` in its topic; returns the new post's id (what editing it takes: ``PUT /posts/{id}``)."""
        topic = int(out.channel_id)
        reply_to = int(out.thread_id) if out.thread_id else None
        quote = await self._quote(topic, reply_to) if reply_to else ""
        raw = with_outbox_mark(quote + out.text, out.outbox_id, MAX_POST_LENGTH)
        try:
            post_id = await self.api.create_post(topic, raw, reply_to)
        except RejectedError as err:
            hint = "; a non-staff bot may post at most 3 times in a row in a topic" if err.status == 422 else ""
            log.error("discourse: topic %s refused the bot's post for good (%s)%s", topic, err, hint)
            raise
        return (str(post_id),) if post_id else ()

    async def reconcile(self, unsent: Sequence[Outgoing]) -> set[int]:
        """Of replies a previous process queued: those among the bot's own posts in their topic
        since they were queued (found by the HTML comment that ends each)."""
        by_topic: dict[int, list[Outgoing]] = {}
        for out in unsent:
            topic = small_number(out.channel_id)
            if topic is not None:
                by_topic.setdefault(topic, []).append(out)
        complete: set[int] = set()
        for topic, items in by_topic.items():
            since = min(out.queued_at or datetime.now(timezone.utc) for out in items) - CLOCK_SKEW
            marked = await self._own_marks(topic, since)
            complete |= {out.outbox_id for out in items if out.outbox_id in marked}
        return complete

    async def _own_marks(self, topic_id: int, since: datetime) -> set[int]:
        """Outbox rows of the bot's posts in a topic created since ``since``, newest pages first."""
        number = await self.api.highest_post_number(topic_id)
        rows: set[int] = set()
        for _ in range(RECONCILE_PAGES):
            posts = await self.api.posts_before(topic_id, number + 1) if number else []
            recent = [p for p in posts if p.created_at is None or p.created_at >= since]
            for post in recent:
                if post.username.lower() == self.username.lower():
                    full = await self.api.post(post.id)  # a topic's listing has no raw text
                    found = outbox_mark(full.raw) if full else None
                    if found:
                        rows.add(found[0])
            if len(recent) < len(posts) or not posts:
                break
            number = min(p.post_number for p in posts) - 1
        return rows

    async def _quote(self, topic_id: int, post_number: int) -> str:
        """The quote of the line answered: remembered from intake, else read back (after a restart)."""
        known = self.recent.line(topic_id, post_number)
        if known is None:
            post = await self.api.post_by_number(topic_id, post_number)
            line = command_line(post.raw, self.username) if post else None
            known = (post.username, line) if post and line else None
        return quote_block(known[0], post_number, topic_id, known[1]) if known else ""

    # webhook ----------------------------------------------------------------------------

    def routes(self, respond: Callable[[Incoming], Awaitable[list[Outgoing]]], prefix: str) -> list[web.RouteDef]:
        return self.webhook.routes() if self.webhook else []


def _category_slugs(client: DiscourseClient) -> dict[int, str]:
    """Category id → slug, for ``watch.categories`` and ``languages`` written as slugs; {} if not listed."""
    try:
        categories = client.categories()
    except Exception as err:  # noqa: BLE001 - optional: ids still work, and webhook payloads carry slugs
        log.warning("discourse: categories not listed (%s); use category ids in watch/languages", err)
        return {}
    return {int(c["id"]): str(c["slug"]) for c in categories if "id" in c and "slug" in c}


def create(settings: Any, *, store: Store, **_: Any) -> DiscourseAdapter:
    """Factory the app calls with the ``adapters.discourse`` settings."""
    return DiscourseAdapter(
        url=str(settings.url), api_key=settings.api_key.get_secret_value(), api_username=settings.api_username,
        store=store, poll_interval=settings.poll_interval.total_seconds(),
        webhook_secret=settings.webhook_secret.get_secret_value() if settings.webhook_secret else None,
        watch_topics=tuple(settings.watch.topics), watch_categories=tuple(settings.watch.categories),
        digest_topic=settings.digest_topic, languages=tuple(settings.languages),
    )
