"""The fake Discourse's REST routes: auth, rate limits, counters, handlers.

Auth follows ``Auth::DefaultCurrentUserProvider`` for header keys: a key "for
all users" takes any ``Api-Username``, a key bound to a user only that name;
anything else is 403 ``invalid_access``, no key is an anonymous visitor.
Every authenticated request then counts against the admin API limiter
(``max_admin_api_reqs_per_minute``, error code ``admin_api_key_rate_limit``).
A number parameter that is not a number, or a body that is not JSON, is 400
``invalid_parameters``.
"""
from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from ._discourse_forum import Forum
from ._discourse_json import (
    JSON,
    error_body,
    notification_json,
    post_json,
    topic_list_json,
    topic_posts_json,
    topic_view_json,
)
from ._discourse_model import (
    InvalidAccess,
    NewPost,
    NotFound,
    Post,
    PostRejected,
    RateLimited,
    SlidingWindowLimiter,
    Topic,
    User,
    time_left,
)
from ._discourse_user_json import user_json

__all__ = ["DiscourseRest", "ForcedLimit", "RecordedRequest", "dumps"]

INVALID_API_CREDENTIALS = (
    "You are not permitted to view the requested resource. The API username or key is invalid."
)
INVALID_ACCESS = "You are not permitted to view the requested resource."
NOT_LOGGED_IN = "You need to be logged in to do that."
NOT_FOUND = "The requested URL or resource could not be found."
INVALID_PARAMETERS = "You supplied invalid parameters to the request."
VIEWER = web.RequestKey[User | None]("viewer")


def dumps(data: object) -> str:
    """Compact JSON, as Discourse's MultiJson writes it."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    route: str
    status: int
    api_username: str | None
    received_monotonic: float


@dataclass(frozen=True)
class ForcedLimit:
    """A switched-on 429: for the next ``remaining`` requests, or all if None."""

    remaining: int | None
    wait_seconds: int
    error_code: str | None


class _Rejected(Exception):
    """Raised inside the middleware to answer with a ready response."""

    def __init__(self, response: web.Response) -> None:
        self.response = response


def _json_response(data: object, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.json_response(data, status=status, headers=headers, dumps=dumps)


def _error(status: int, message: str, error_type: str) -> web.Response:
    return _json_response(error_body([message], error_type), status)


def _rate_limited(exc: RateLimited) -> web.Response:
    headers = {"Retry-After": str(exc.wait_seconds)}
    if exc.error_code:
        headers["Discourse-Rate-Limit-Error-Code"] = exc.error_code
    extras = {"wait_seconds": exc.wait_seconds, "time_left": time_left(exc.wait_seconds)}
    return _json_response(error_body([exc.description], "rate_limit", extras), 429, headers)


class DiscourseRest:
    """Routes of one fake forum; ``requests`` counts them by route pattern."""

    def __init__(self, forum: Forum, api_keys: dict[str, str | None]) -> None:
        self.forum = forum
        self.settings = forum.settings
        self.api_keys = api_keys
        self.requests: Counter[str] = Counter()
        self.request_log: list[RecordedRequest] = []
        self.forced_limit: ForcedLimit | None = None
        per_minute = self.settings.max_admin_api_reqs_per_minute or 1
        self._admin_limiter = SlidingWindowLimiter(per_minute, 60, forum.clock)
        self._create_memo: dict[tuple[object, ...], tuple[datetime, int, JSON]] = {}

    def application(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        self._add_routes(app.router)
        return app

    def _add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/notifications.json", self._get_notifications)
        for path in ("/notifications/mark-read.json", "/notifications/mark-read"):
            router.add_put(path, self._mark_read)
        router.add_get(r"/t/{topic_id:\d+}.json", self._get_topic)
        router.add_get(r"/t/{slug}/{topic_id:\d+}.json", self._get_topic)
        router.add_get(r"/t/{topic_id:\d+}/posts.json", self._get_topic_posts)
        router.add_get(r"/posts/{post_id:\d+}.json", self._get_post)
        router.add_get(r"/posts/by_number/{topic_id:\d+}/{post_number:\d+}.json", self._get_post_by_number)
        router.add_get(r"/posts/by_number/{topic_id:\d+}/{post_number:\d+}", self._get_post_by_number)
        router.add_get("/posts.json", self._get_latest_posts)
        for path in ("/posts.json", "/posts"):
            router.add_post(path, self._create_post)
        router.add_get("/latest.json", self._get_latest_topics)
        for prefix in ("/u", "/users"):  # UsersController#show answers under both (pydiscourse uses /users)
            router.add_get(prefix + "/{username}.json", self._get_user)

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        received = time.perf_counter()
        resource = request.match_info.route.resource
        route = f"{request.method} {resource.canonical if resource else request.path}"
        self.requests[route] += 1
        username = request.headers.get("Api-Username")
        try:
            request[VIEWER] = self._authenticate(request)
            response: web.StreamResponse = await handler(request)
        except _Rejected as rejected:
            response = rejected.response
        except RateLimited as exc:
            response = _rate_limited(exc)
        except NotFound:
            response = _error(404, NOT_FOUND, "not_found")
        except InvalidAccess:
            response = _error(403, INVALID_ACCESS, "invalid_access")
        except web.HTTPNotFound:
            response = _error(404, NOT_FOUND, "not_found")
        except ValueError:  # a number parameter that is not one: Discourse::InvalidParameters
            response = _error(400, INVALID_PARAMETERS, "invalid_parameters")
        record = RecordedRequest(request.method, request.path, route, response.status, username, received)
        self.request_log.append(record)
        return response

    def _authenticate(self, request: web.Request) -> User | None:
        """``Auth::DefaultCurrentUserProvider`` for header keys, then the admin API limiter."""
        key = request.headers.get("Api-Key")
        if key is None:
            return None
        username = request.headers.get("Api-Username")
        user: User | None = None
        if key in self.api_keys:
            bound = self.api_keys[key]
            if bound is None:
                user = self.forum.user_named(username) if username else None
            elif username is None or username.lower() == bound.lower():
                user = self.forum.user_named(bound)
        if user is None:
            raise _Rejected(_error(403, INVALID_API_CREDENTIALS, "invalid_access"))
        if (forced := self.forced_limit) is not None:
            if forced.remaining is not None:
                left = forced.remaining - 1
                still = ForcedLimit(left, forced.wait_seconds, forced.error_code)
                self.forced_limit = still if left else None
            raise RateLimited(forced.wait_seconds, error_code=forced.error_code)
        if self.settings.max_admin_api_reqs_per_minute:
            self._admin_limiter.performed("admin_api_min", error_code="admin_api_key_rate_limit")
        return user

    @staticmethod
    def _viewer(request: web.Request) -> User | None:
        return request[VIEWER]

    def _logged_in(self, request: web.Request) -> User:
        viewer = self._viewer(request)
        if viewer is None:
            raise _Rejected(_error(403, NOT_LOGGED_IN, "not_logged_in"))
        return viewer

    def _visible_topic(self, topic_id: int, viewer: User | None) -> Topic:
        topic = self.forum.topics.get(topic_id)
        if topic is None or (topic.deleted_at is not None and not (viewer and viewer.staff)):
            raise NotFound(f"topic {topic_id}")
        if not self.forum.can_see_topic(viewer, topic):
            raise InvalidAccess(f"topic {topic_id}")
        return topic

    def _visible_post(self, post: Post | None, viewer: User | None) -> Post:
        if post is None or (post.deleted_at is not None and not (viewer and viewer.staff)):
            raise NotFound("post")
        self._visible_topic(post.topic_id, viewer)
        return post

    async def _get_notifications(self, request: web.Request) -> web.Response:
        """``NotificationsController#index``."""
        viewer = self._logged_in(request)
        query = request.query
        if query.get("recent"):
            limit = min(max(int(query.get("limit", 15)), 1), 60)
            # Notification.prioritized: unread high priority, then unread, then newest
            items = sorted(
                self.forum.visible_notifications(viewer),
                key=lambda n: (n.read or not n.high_priority, n.read, -n.created_at.timestamp(), -n.id),
            )[:limit]
            if items and "silent" not in query:
                mine = (n.id for n in self.forum.notifications if n.user_id == viewer.id)
                viewer.seen_notification_id = max(mine)
            return _json_response(
                {
                    "notifications": [notification_json(self.forum, n) for n in items],
                    "seen_notification_id": viewer.seen_notification_id,
                }
            )
        user = viewer
        if "username" in query and query["username"].lower() != viewer.username.lower():
            other = self.forum.user_named(query["username"])
            if other is None:
                raise NotFound(query["username"])
            if not viewer.admin:
                raise InvalidAccess("notifications of another user")
            user = other
        limit = min(max(int(query.get("limit", 60)), 1), 60)
        offset = max(int(query.get("offset", 0)), 0)
        items = sorted(
            self.forum.visible_notifications(user), key=lambda n: (n.created_at, n.id), reverse=True
        )
        if query.get("filter") in ("read", "unread"):
            items = [n for n in items if n.read == (query["filter"] == "read")]
        more = f"/notifications?{'filter=' + query['filter'] + '&' if query.get('filter') else ''}"
        more += f"limit={limit}&offset={offset + limit}&username={user.username}"
        return _json_response(
            {
                "notifications": [notification_json(self.forum, n) for n in items[offset : offset + limit]],
                "total_rows_notifications": len(items),
                "seen_notification_id": user.seen_notification_id,
                "load_more_notifications": more,
            }
        )

    async def _mark_read(self, request: web.Request) -> web.Response:
        """``NotificationsController#mark_read``: one notification by ``id``, or all."""
        viewer = self._logged_in(request)
        params = await self._params(request)
        mine = [n for n in self.forum.notifications if n.user_id == viewer.id]
        if "id" in params:
            for n in mine:
                if n.id == int(params["id"]):
                    n.read = True
        else:
            for n in mine:
                n.read = True
            viewer.seen_notification_id = max((n.id for n in mine), default=viewer.seen_notification_id)
        return _json_response({"success": "OK"})

    async def _get_topic(self, request: web.Request) -> web.Response:
        viewer = self._viewer(request)
        topic = self._visible_topic(int(request.match_info["topic_id"]), viewer)
        chunk = 1000 if request.query.get("print") == "true" else 20
        return _json_response(topic_view_json(self.forum, topic, viewer, chunk_size=chunk))

    async def _get_topic_posts(self, request: web.Request) -> web.Response:
        """``TopicsController#posts``: by ``post_ids[]``, or 20 after/before ``post_number``."""
        viewer = self._viewer(request)
        topic = self._visible_topic(int(request.match_info["topic_id"]), viewer)
        posts = self.forum.topic_posts(topic, viewer)
        ids = {int(i) for i in request.query.getall("post_ids[]", [])}
        if ids:
            posts = [p for p in posts if p.id in ids]
        elif "post_number" in request.query:
            number = int(request.query["post_number"])
            if request.query.get("asc") == "true":
                posts = [p for p in posts if p.post_number > number][:20]
            else:
                posts = [p for p in posts if p.post_number < number][-20:]
        else:
            posts = posts[:20]
        return _json_response(topic_posts_json(self.forum, topic, viewer, posts))

    async def _get_post(self, request: web.Request) -> web.Response:
        viewer = self._viewer(request)
        post = self._visible_post(self.forum.posts.get(int(request.match_info["post_id"])), viewer)
        return _json_response(post_json(self.forum, post, viewer, "show"))

    async def _get_post_by_number(self, request: web.Request) -> web.Response:
        viewer = self._viewer(request)
        topic = self._visible_topic(int(request.match_info["topic_id"]), viewer)
        post = self.forum.post_by_number(topic, int(request.match_info["post_number"]))
        return _json_response(post_json(self.forum, self._visible_post(post, viewer), viewer, "show"))

    async def _get_latest_posts(self, request: web.Request) -> web.Response:
        """``PostsController#latest``: public posts, newest first, 50 at a time."""
        viewer = self._viewer(request)
        before = int(request.query.get("before", 0)) or None
        posts = [
            p
            for p in sorted(self.forum.posts.values(), key=lambda p: p.id, reverse=True)
            if p.deleted_at is None
            and not self.forum.topics[p.topic_id].is_private_message
            and self.forum.topics[p.topic_id].deleted_at is None
            and (before is None or p.id < before)
        ][:50]
        return _json_response({"latest_posts": [post_json(self.forum, p, viewer, "latest") for p in posts]})

    async def _get_latest_topics(self, request: web.Request) -> web.Response:
        viewer = self._viewer(request)
        per_page = min(int(request.query.get("per_page", 30)), 100)
        topics = [
            t
            for t in self.forum.topics.values()
            if not t.is_private_message and t.deleted_at is None and self.forum.topic_posts(t, None)
        ]
        topics.sort(key=lambda t: self.forum.last_visible_post(t).created_at, reverse=True)
        return _json_response(topic_list_json(self.forum, topics[:per_page], viewer, per_page=per_page))

    async def _get_user(self, request: web.Request) -> web.Response:
        user = self.forum.user_named(request.match_info["username"])
        if user is None:
            raise NotFound("user")
        return _json_response(user_json(self.forum, user, self._viewer(request)))

    async def _create_post(self, request: web.Request) -> web.Response:
        """``PostsController#create`` as called through the API.

        Identical API requests (same user, parameters, IP and user agent) within
        120 s get the first answer again (``DistributedMemoizer``): a retried
        POST does not post twice and does not meet the "too similar" check.
        """
        viewer = self._logged_in(request)
        params = await self._params(request)
        permitted = (
            "raw", "topic_id", "title", "archetype", "category", "target_recipients",
            "target_usernames", "reply_to_post_number",
        )  # fmt: skip
        signature = (
            viewer.id,
            tuple(sorted((k, str(params[k])) for k in permitted if k in params)),
            request.remote,
            request.headers.get("User-Agent"),
        )
        now = self.forum.clock()
        memo = self._create_memo.get(signature)
        if memo is not None and memo[0] > now:
            return _json_response(memo[2], memo[1])
        recipients = str(params.get("target_recipients") or params.get("target_usernames") or "")
        new_post = NewPost(
            raw=str(params.get("raw", "")),
            topic_id=_int_or_none(params.get("topic_id")),
            title=str(params["title"]) if "title" in params else None,
            category_id=_int_or_none(params.get("category")),
            archetype=str(params["archetype"]) if "archetype" in params else None,
            target_recipients=tuple(name.strip() for name in recipients.split(",") if name.strip()),
            reply_to_post_number=_int_or_none(params.get("reply_to_post_number")),
        )
        try:
            post = self.forum.create_post(viewer, new_post)
            status, body = 200, post_json(self.forum, post, viewer, "create")
        except PostRejected as exc:
            status, body = 422, {"action": "create_post", "errors": exc.errors}
        expires = now + timedelta(seconds=self.settings.api_create_memo_seconds)
        self._create_memo[signature] = (expires, status, body)
        return _json_response(body, status)

    @staticmethod
    async def _params(request: web.Request) -> dict[str, Any]:
        """Rails-style params: query string merged with a JSON or form body."""
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                body = await request.json()
                if isinstance(body, dict):
                    params.update(body)
            else:
                params.update((await request.post()).items())
        return params

def _int_or_none(value: object) -> int | None:
    if value is None or value == "":
        return None
    return int(str(value))
