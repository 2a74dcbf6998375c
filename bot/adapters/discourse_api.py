"""Discourse's REST API on the hot path: pooled, non-blocking, and patient when told to wait.

Every recurring call (the notification poll, fetching a post, a topic's
membership, a profile, posting a reply) goes through one keep-alive
``JsonClient``. pydiscourse is not used here: its calls are blocking
``requests`` calls, and on a 429 it sleeps ``wait_seconds + 1`` inside the
call, up to four times, then gives up with ``DiscourseRateLimitedError``,
so the next call lands inside the same window. Here the wait belongs to
the adapter: a 429's ``Retry-After`` (or ``extras.wait_seconds``) closes a
``Gate``, and until it reopens calls fail at once with ``RateLimited``
without touching the network, so the outbox (for replies) and the poll
loop (for reads) retry when the window is over.

A 429 on a read closes the whole API (Discourse's per-key limits count
every request); a 429 on a post closes only posting (the per-user "one
post every N seconds" limit), and reads go on.
"""
from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from bot.adapters.http import JsonClient
from bot.adapters.discourse_text import (
    NotificationView,
    PostView,
    TopicInfo,
    notification_view,
    post_view,
    topic_info,
)
from bot.errors import RateLimited, RejectedError

log = logging.getLogger(__name__)

API, POSTING = "api", "posting"
NOTIFICATION_PAGE = 20
TOPIC_TTL = 300.0
PROFILE_TTL = 3600.0

V = TypeVar("V")


class Gate:
    """When Discourse said we may call again, per kind of call."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._until: dict[str, float] = {}

    def close(self, kind: str, seconds: float) -> None:
        self._until[kind] = max(self._until.get(kind, 0.0), self._clock() + seconds)

    def remaining(self, *kinds: str) -> float:
        now = self._clock()
        return max((self._until.get(kind, 0.0) - now for kind in kinds), default=0.0)


class TtlCache(Generic[V]):
    """A small bounded map whose entries expire, for topics and profiles."""

    def __init__(self, ttl: float, size: int = 2048, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._size = size
        self._clock = clock
        self._items: OrderedDict[Any, tuple[float, V]] = OrderedDict()

    def get(self, key: Any) -> tuple[bool, V | None]:
        hit = self._items.get(key)
        if hit is None or self._clock() - hit[0] > self._ttl:
            return False, None
        return True, hit[1]

    def put(self, key: Any, value: V) -> None:
        self._items[key] = (self._clock(), value)
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)


class DiscourseApi:
    def __init__(self, url: str, api_key: str, api_username: str, *, gate: Gate | None = None) -> None:
        self.username = api_username
        self.gate = gate or Gate()
        self._client = JsonClient(url, {"Api-Key": api_key, "Api-Username": api_username,
                                        "Accept": "application/json"})
        self._topics: TtlCache[TopicInfo | None] = TtlCache(TOPIC_TTL)
        self._zones: TtlCache[str | None] = TtlCache(PROFILE_TTL)

    async def _call(self, method: str, path: str, *, json_body: Any = None,
                    params: Mapping[str, str] | None = None) -> Any:
        posting = method == "POST"
        kinds = (API, POSTING) if posting else (API,)
        if (wait := self.gate.remaining(*kinds)) > 0:
            raise RateLimited(wait, f"{method} {path}: still waiting out Discourse's rate limit")
        try:
            return await self._client.request(method, path, json_body=json_body, params=params)
        except RateLimited as err:
            self.gate.close(POSTING if posting else API, err.retry_after)
            raise

    async def _get_or_none(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        """GET, with None for a resource that is gone or hidden from the bot (404, 403)."""
        try:
            return await self._call("GET", path, params=params)
        except RejectedError as err:
            if err.status in (403, 404):
                return None
            raise

    # reads ------------------------------------------------------------------------

    async def notifications(self, offset: int = 0) -> list[NotificationView]:
        """One page of the bot's notifications, newest first."""
        params = {"limit": str(NOTIFICATION_PAGE)}
        if offset:
            params["offset"] = str(offset)
        body = await self._call("GET", "/notifications.json", params=params)
        found = []
        for item in (body or {}).get("notifications") or []:
            try:
                found.append(notification_view(item))
            except ValueError:
                log.warning("discourse: malformed notification skipped")
        return found

    async def post(self, post_id: int) -> PostView | None:
        body = await self._get_or_none(f"/posts/{post_id}.json")
        return post_view(body) if body else None

    async def post_by_number(self, topic_id: int, post_number: int) -> PostView | None:
        body = await self._get_or_none(f"/posts/by_number/{topic_id}/{post_number}.json")
        return post_view(body) if body else None

    async def post_ids_after(self, topic_id: int, post_number: int) -> list[tuple[int, int]]:
        """(post number, post id) of up to 20 posts after ``post_number``, in order."""
        body = await self._get_or_none(f"/t/{topic_id}/posts.json",
                                       {"post_number": str(post_number), "asc": "true"})
        posts = ((body or {}).get("post_stream") or {}).get("posts") or []
        return [(int(p["post_number"]), int(p["id"])) for p in posts]

    async def posts_before(self, topic_id: int, post_number: int) -> list[PostView]:
        """Up to 20 posts just before ``post_number``, in order, without their raw text."""
        body = await self._get_or_none(f"/t/{topic_id}/posts.json", {"post_number": str(post_number)})
        posts = ((body or {}).get("post_stream") or {}).get("posts") or []
        return [post_view(p) for p in posts]

    async def highest_post_number(self, topic_id: int) -> int | None:
        """The topic's last post number, read now (not cached); None if the bot cannot see it."""
        body = await self._get_or_none(f"/t/{topic_id}.json")
        number = (body or {}).get("highest_post_number")
        return number if isinstance(number, int) else None

    async def topic(self, topic_id: int) -> TopicInfo | None:
        """Archetype, category and members of a topic (cached); None if the bot cannot see it."""
        found, info = self._topics.get(topic_id)
        if not found:
            body = await self._get_or_none(f"/t/{topic_id}.json")
            info = topic_info(body) if body else None
            self._topics.put(topic_id, info)
        return info

    async def user_zone(self, username: str) -> str | None:
        """The zone in a member's preferences, if the bot may see it (cached)."""
        found, zone = self._zones.get(username.lower())
        if not found:
            body = await self._get_or_none(f"/u/{username}.json")
            user = (body or {}).get("user") or {}
            zone = (user.get("user_option") or {}).get("timezone") or user.get("timezone") or None
            self._zones.put(username.lower(), zone)
        return zone

    # writes -----------------------------------------------------------------------

    async def create_post(self, topic_id: int, raw: str, reply_to_post_number: int | None) -> int:
        """Post in a topic; returns the new post's id."""
        body: dict[str, Any] = {"topic_id": topic_id, "raw": raw}
        if reply_to_post_number is not None:
            body["reply_to_post_number"] = reply_to_post_number
        answer = await self._call("POST", "/posts.json", json_body=body)
        return int((answer or {}).get("id") or 0)

    async def close(self) -> None:
        await self._client.close()
