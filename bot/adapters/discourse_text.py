"""Discourse posts and notifications as coopbot sees them: pure parsing, no I/O.

``PostView`` is the part of a post the adapter needs, read from either a
webhook payload (``{"post": {...}}``) or ``GET /posts/{id}.json``; both use
the same keys. ``command_line`` finds the line a command is on (the first
line that @mentions the bot, outside quotes and code); ``quote_block`` quotes
that line back in the reply, which also makes every reply's text unique, so
Discourse's "too similar" check and its 120 s replay of identical API posts
never swallow an answer.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from bot.marks import mark, read_mark

REGULAR_POST = 1  # post_type: 2 moderator action, 3 small action, 4 whisper
MENTIONED, REPLIED, PRIVATE_MESSAGE = 1, 2, 6  # Notification.types the bot acts on
ANSWERED_TYPES = frozenset({MENTIONED, REPLIED, PRIVATE_MESSAGE})
PRIVATE_ARCHETYPE = "private_message"
MAX_QUOTED = 300

_QUOTE = re.compile(r"\[quote(?:=[^\]]*)?\](?:(?!\[quote[=\]]).)*?\[/quote\]", re.IGNORECASE | re.DOTALL)
_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_QUOTE_TAGS = re.compile(r"\[/?quote[^\]]*\]", re.IGNORECASE)
_OUTBOX_COMMENT = re.compile(r"<!-- coopbot:([0-9]+/[0-9]+) -->\s*\Z")


@dataclass(frozen=True)
class PostView:
    id: int
    topic_id: int
    post_number: int
    user_id: int
    username: str
    raw: str
    created_at: datetime | None = None
    version: int = 1
    post_type: int = REGULAR_POST
    hidden: bool = False
    deleted: bool = False
    reply_to_username: str | None = None
    archetype: str | None = None  # webhook payloads only
    category_id: int | None = None  # webhook payloads only
    category_slug: str | None = None  # webhook payloads only

    @property
    def answerable(self) -> bool:
        """A visible, regular post (not a whisper, small action or deleted post)."""
        return self.post_type == REGULAR_POST and not self.hidden and not self.deleted


@dataclass(frozen=True)
class NotificationView:
    id: int
    notification_type: int
    topic_id: int | None
    post_number: int | None
    original_post_id: int | None
    created_at: datetime | None


@dataclass(frozen=True)
class TopicInfo:
    id: int
    archetype: str
    category_id: int | None
    participants: tuple[str, ...] = ()  # lower-cased usernames of a private message's members

    @property
    def is_private(self) -> bool:
        return self.archetype == PRIVATE_ARCHETYPE


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, str)) and str(value).lstrip("-").isdigit() else None


def post_view(data: Mapping[str, Any]) -> PostView:
    """A post from its JSON; raises ValueError if a key the bot needs is missing."""
    try:
        reply_to = data.get("reply_to_user") or {}
        return PostView(
            id=int(data["id"]), topic_id=int(data["topic_id"]), post_number=int(data["post_number"]),
            user_id=int(data["user_id"]), username=str(data["username"]), raw=str(data.get("raw") or ""),
            created_at=parse_time(data.get("created_at")), version=int(data.get("version") or 1),
            post_type=int(data.get("post_type") or REGULAR_POST), hidden=bool(data.get("hidden")),
            deleted=bool(data.get("deleted_at")) or bool(data.get("user_deleted")),
            reply_to_username=str(reply_to["username"]) if reply_to.get("username") else None,
            archetype=data.get("topic_archetype"), category_id=_int_or_none(data.get("category_id")),
            category_slug=data.get("category_slug"),
        )
    except (KeyError, TypeError) as err:
        raise ValueError(f"not a post: {err!r}") from err


def notification_view(data: Mapping[str, Any]) -> NotificationView:
    """A notification from its JSON; raises ValueError if it has no id or type."""
    try:
        extra = data.get("data") or {}
        return NotificationView(
            id=int(data["id"]), notification_type=int(data["notification_type"]),
            topic_id=_int_or_none(data.get("topic_id")), post_number=_int_or_none(data.get("post_number")),
            original_post_id=_int_or_none(extra.get("original_post_id")),
            created_at=parse_time(data.get("created_at")),
        )
    except (KeyError, TypeError) as err:
        raise ValueError(f"not a notification: {err!r}") from err


def topic_info(data: Mapping[str, Any]) -> TopicInfo:
    """What ``GET /t/{id}.json`` says about membership and category; ValueError if it is not a topic."""
    try:
        allowed = (data.get("details") or {}).get("allowed_users") or []
        return TopicInfo(
            id=int(data["id"]), archetype=str(data.get("archetype") or "regular"),
            category_id=_int_or_none(data.get("category_id")),
            participants=tuple(str(u.get("username", "")).lower() for u in allowed),
        )
    except (KeyError, TypeError, AttributeError) as err:
        raise ValueError(f"not a topic: {err!r}") from err


def with_outbox_mark(raw: str, outbox_id: int | None, limit: int) -> str:
    """The raw, cut to fit ``limit``, ending in the HTML comment that marks it as outbox row ``outbox_id``."""
    comment = f"\n\n<!-- coopbot:{mark(outbox_id, 0)} -->" if outbox_id is not None else ""
    room = limit - len(comment)
    return (raw if len(raw) <= room else raw[: room - 1] + "…") + comment


def outbox_mark(raw: str) -> tuple[int, int] | None:
    """The (row, part) a post of the bot's ends with, if any."""
    found = _OUTBOX_COMMENT.search(raw)
    return read_mark(found.group(1)) if found else None


@lru_cache(maxsize=8)
def mention_pattern(username: str) -> re.Pattern[str]:
    """``@username`` as Discourse reads a mention: not inside an e-mail address or a longer name."""
    return re.compile(rf"(?<![\w@/.])@{re.escape(username)}(?![\w-]|\.[\w-])", re.IGNORECASE)


def without_quotes(raw: str) -> str:
    """The raw without quoted posts: the author's own words."""
    text = raw
    while True:  # innermost quotes first, so nested quotes go too
        stripped = _QUOTE.sub("", text)
        if stripped == text:
            return text
        text = stripped


def own_words(raw: str) -> str:
    """The raw without quoted posts and code blocks: what the author wrote as text."""
    return without_quotes(_FENCE.sub("", raw))


def readable_text(raw: str) -> str:
    """The raw without quoted posts and code, where a mention is not a call to the bot."""
    return _INLINE_CODE.sub("", own_words(raw))


def mentions(raw: str, username: str) -> bool:
    return mention_pattern(username).search(readable_text(raw)) is not None


def command_line(raw: str, username: str) -> str | None:
    """The line that mentions the bot, else the first non-blank line; None for an empty post.

    The router reads the command after the mention (or the prefix, or the
    whole line in a direct message); later lines are conversation.
    """
    lines = [line.strip() for line in readable_text(raw).splitlines() if line.strip()]
    pattern = mention_pattern(username)
    return next((line for line in lines if pattern.search(line)), lines[0] if lines else None)


def quote_block(username: str, post_number: int, topic_id: int, line: str) -> str:
    """Discourse's quote markup around the line a reply answers."""
    text = _QUOTE_TAGS.sub("", line).strip()
    if len(text) > MAX_QUOTED:
        text = text[: MAX_QUOTED - 1].rstrip() + "…"
    return f'[quote="{username}, post:{post_number}, topic:{topic_id}"]\n{text}\n[/quote]\n\n'


def watched(topic_id: int, category_id: int | None, category_slug: str | None,
            topics: Iterable[int], categories: Iterable[str]) -> bool:
    """True if the configured watch list is empty or names this topic or its category (id or slug)."""
    topics, categories = set(topics), {c.lower() for c in categories}
    if not topics and not categories:
        return True
    if topic_id in topics:
        return True
    names = {str(category_id)} if category_id is not None else set()
    if category_slug:
        names.add(category_slug.lower())
    return bool(names & categories)
