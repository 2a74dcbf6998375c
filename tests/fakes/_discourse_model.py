"""Records, settings and small rules of the fake Discourse (no HTTP).

``SiteSettings`` holds the Discourse settings the fake enforces, with
Discourse's defaults; ``RateLimited`` and ``SlidingWindowLimiter`` mirror
``RateLimiter`` and its English messages; ``cook``/``raw_mentions``/``slug_for``
stand in for PrettyText and ``Slug``. Times come from an injected clock
(``ManualClock`` in tests) so nothing sleeps.
"""
from __future__ import annotations

import html
import math
import re
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import IntEnum

__all__ = [
    "COLLAPSED_TYPES",
    "Category",
    "Clock",
    "ForumError",
    "InvalidAccess",
    "ManualClock",
    "NewPost",
    "NotFound",
    "Notification",
    "NotificationLevel",
    "NotificationType",
    "Post",
    "PostRejected",
    "RateLimited",
    "SiteSettings",
    "SlidingWindowLimiter",
    "Topic",
    "TopicUser",
    "User",
    "cook",
    "raw_mentions",
    "slug_for",
    "system_clock",
    "time_left",
]

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to; call it to read the time."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 23, 15, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)


class NotificationType(IntEnum):
    """``Notification.types`` (app/models/notification.rb); the ones a bot meets."""

    MENTIONED = 1
    REPLIED = 2
    QUOTED = 3
    EDITED = 4
    LIKED = 5
    PRIVATE_MESSAGE = 6
    INVITED_TO_PRIVATE_MESSAGE = 7
    POSTED = 9
    GROUP_MENTIONED = 15
    WATCHING_FIRST_POST = 17
    BOOKMARK_REMINDER = 24
    WATCHING_CATEGORY_OR_TAG = 36


HIGH_PRIORITY_TYPES = frozenset({NotificationType.PRIVATE_MESSAGE, NotificationType.BOOKMARK_REMINDER})
# PostAlerter::COLLAPSED_NOTIFICATION_TYPES
COLLAPSED_TYPES = frozenset(
    {
        NotificationType.REPLIED,
        NotificationType.POSTED,
        NotificationType.PRIVATE_MESSAGE,
        NotificationType.WATCHING_CATEGORY_OR_TAG,
    }
)


class NotificationLevel(IntEnum):
    """``TopicUser.notification_levels``."""

    MUTED = 0
    REGULAR = 1
    TRACKING = 2
    WATCHING = 3


@dataclass(frozen=True)
class SiteSettings:
    """Discourse site settings the fake enforces, with Discourse's defaults.

    ``max_admin_api_reqs_per_minute`` is the global setting behind the
    ``admin_api_key_rate_limit`` 429 (None switches it off, e.g. for
    benchmarks); ``api_create_memo_seconds`` is the 120 s for which
    ``PostsController#create`` replays the answer to an identical API request.
    """

    title: str = "Coop Forum"
    min_post_length: int = 20
    min_first_post_length: int = 20
    min_personal_message_post_length: int = 10
    max_post_length: int = 32000
    min_topic_title_length: int = 15
    max_topic_title_length: int = 255
    min_personal_message_title_length: int = 2
    unique_posts_mins: int = 5
    max_consecutive_replies: int = 3
    rate_limit_create_post: int = 5
    rate_limit_new_user_create_post: int = 30
    rate_limit_create_topic: int = 15
    rate_limit_new_user_create_topic: int = 60
    max_admin_api_reqs_per_minute: int | None = 60
    api_create_memo_seconds: int = 120


class ForumError(Exception):
    """A request the forum refuses; the HTTP layer renders each kind."""


class NotFound(ForumError):
    pass


class InvalidAccess(ForumError):
    pass


class PostRejected(ForumError):
    """Validation failed: Discourse answers 422 with these ``errors``."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


class RateLimited(ForumError):
    """``RateLimiter::LimitExceeded``: Discourse answers 429."""

    def __init__(
        self, wait_seconds: int, *, limit_type: str | None = None, error_code: str | None = None
    ) -> None:
        super().__init__(f"rate limited for {wait_seconds}s ({limit_type or error_code})")
        self.wait_seconds = wait_seconds
        self.limit_type = limit_type
        self.error_code = error_code

    @property
    def description(self) -> str:
        left = time_left(self.wait_seconds)
        # English texts of rate_limiter.by_type.* and rate_limiter.too_many_requests
        # (the by_type wordings are from memory of server.en.yml, not re-checked).
        by_type = {
            "create_post": f"You’re replying too quickly. Please wait {left} before trying again.",
            "create_topic": f"You’re creating topics too quickly. Please wait {left} before trying again.",
        }
        if self.limit_type in by_type:
            return by_type[self.limit_type]
        return f"You’ve performed this action too many times. Please wait {left} before trying again."


def time_left(seconds: int) -> str:
    """``RateLimiter::LimitExceeded#time_left`` in English."""
    if seconds < 60:
        return "1 second" if seconds == 1 else f"{seconds} seconds"
    if seconds < 3600:
        minutes = seconds // 60
        return "1 minute" if minutes == 1 else f"{minutes} minutes"
    hours = seconds // 3600
    return "1 hour" if hours == 1 else f"{hours} hours"


class SlidingWindowLimiter:
    """``RateLimiter``: at most ``max_count`` actions per ``seconds`` per key."""

    def __init__(self, max_count: int, seconds: int, clock: Clock) -> None:
        self.max_count = max_count
        self.seconds = seconds
        self._clock = clock
        self._log: dict[object, deque[datetime]] = {}

    def performed(self, key: object, *, limit_type: str | None = None, error_code: str | None = None) -> None:
        now = self._clock()
        log = self._log.setdefault(key, deque())
        window = timedelta(seconds=self.seconds)
        while log and now - log[0] >= window:
            log.popleft()
        if len(log) >= self.max_count:
            wait = math.ceil((log[0] + window - now).total_seconds())
            raise RateLimited(max(wait, 1), limit_type=limit_type, error_code=error_code)
        log.append(now)


@dataclass
class User:
    id: int
    username: str
    name: str | None
    created_at: datetime
    admin: bool = False
    moderator: bool = False
    trust_level: int = 1
    timezone: str | None = "UTC"
    seen_notification_id: int = 0

    @property
    def staff(self) -> bool:
        return self.admin or self.moderator

    @property
    def avatar_template(self) -> str:
        return f"/letter_avatar_proxy/v4/letter/{self.username[0].lower()}/8e7dd6/{{size}}.png"


@dataclass
class Category:
    id: int
    name: str
    slug: str
    color: str = "0088CC"


@dataclass
class TopicUser:
    notification_level: NotificationLevel = NotificationLevel.REGULAR
    notifications_reason_id: int | None = None
    last_read_post_number: int = 0
    posted: bool = False


@dataclass
class Topic:
    id: int
    title: str
    slug: str
    user_id: int
    category_id: int | None
    archetype: str
    created_at: datetime
    allowed_user_ids: list[int] = field(default_factory=list)
    post_ids: list[int] = field(default_factory=list)
    topic_users: dict[int, TopicUser] = field(default_factory=dict)
    deleted_at: datetime | None = None
    closed: bool = False
    archived: bool = False
    views: int = 0

    @property
    def is_private_message(self) -> bool:
        return self.archetype == "private_message"

    @property
    def fancy_title(self) -> str:
        return html.escape(self.title, quote=False)


@dataclass
class Post:
    id: int
    topic_id: int
    post_number: int
    user_id: int
    raw: str
    cooked: str
    created_at: datetime
    updated_at: datetime
    created_monotonic: float
    reply_to_post_number: int | None = None
    reply_to_user_id: int | None = None
    last_editor_id: int | None = None
    deleted_at: datetime | None = None
    version: int = 1
    reply_count: int = 0
    post_type: int = 1
    hidden: bool = False
    user_deleted: bool = False
    wiki: bool = False
    edit_reason: str | None = None


@dataclass
class Notification:
    id: int
    user_id: int
    notification_type: NotificationType
    topic_id: int | None
    post_number: int | None
    data: dict[str, object]
    created_at: datetime
    read: bool = False

    @property
    def high_priority(self) -> bool:
        return self.notification_type in HIGH_PRIORITY_TYPES


@dataclass(frozen=True)
class NewPost:
    """The permitted parameters of ``POST /posts.json``."""

    raw: str
    topic_id: int | None = None
    title: str | None = None
    category_id: int | None = None
    archetype: str | None = None
    target_recipients: tuple[str, ...] = ()
    reply_to_post_number: int | None = None


def slug_for(title: str) -> str:
    """``Slug.for`` for ASCII titles: lower-case words joined by dashes."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return slug or "topic"


_CODE = re.compile(r"```.*?```|`[^`\n]*`", re.DOTALL)
# A [quote] block: PostStripper removes "aside.quote .mention" before mentions are read, so
# a name quoted from an earlier post notifies no one (lib/post_stripper.rb).
_QUOTE = re.compile(r"\[quote(?:=[^\]]*)?\].*?\[/quote\]", re.DOTALL | re.IGNORECASE)
_MENTION = re.compile(r"(?<![\w@/])@([A-Za-z0-9_][\w.\-]*[\w\-]|[A-Za-z0-9_])")


def raw_mentions(raw: str) -> list[str]:
    """Lower-cased ``@names`` outside code and quotes, in order, without repeats."""
    seen: dict[str, None] = {}
    for match in _MENTION.finditer(_QUOTE.sub(" ", _CODE.sub(" ", raw))):
        seen.setdefault(match.group(1).lower(), None)
    return list(seen)


def cook(raw: str, known_usernames: Iterable[str]) -> str:
    """A small stand-in for PrettyText: paragraphs, line breaks, mention links."""
    known = {name.lower() for name in known_usernames}

    def link(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.lower() not in known:
            return match.group(0)
        return f'<a class="mention" href="/u/{name.lower()}">@{name}</a>'

    paragraphs = [p for p in re.split(r"\n\s*\n", raw.strip()) if p.strip()]
    cooked = []
    for paragraph in paragraphs:
        text = _MENTION.sub(link, html.escape(paragraph, quote=False))
        cooked.append("<p>" + text.replace("\n", "<br>\n") + "</p>")
    return "\n".join(cooked)
