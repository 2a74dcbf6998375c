"""Mattermost's JSON read into typed values: websocket frames, posts, profiles.

Pure functions, no I/O. Everything the Mattermost adapter receives passes
through here, so a malformed frame fails in one place, with ``MalformedEvent``,
which the adapter logs and skips. Shapes follow the real server (see
``shared/specs/mattermost-websocket.md``): ``data.post``, ``data.reaction`` and
``data.mentions`` are JSON *strings* inside the event; ``seq`` counts events
per connection from 0 (``hello``); responses to our requests carry
``seq_reply`` and no ``seq``.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Union

import orjson

from bot.marks import read_mark
from bot.messages import Reaction

PLATFORM = "mattermost"
OUTBOX_PROP = "coopbot_outbox"  # the post's outbox row and part, in its props


class MalformedEvent(ValueError):
    """A frame or object that does not have the shape Mattermost gives it."""


@dataclass(frozen=True)
class Post:
    id: str
    channel_id: str
    user_id: str
    message: str
    create_at: int
    update_at: int = 0
    root_id: str = ""
    type: str = ""  # non-empty for system messages (joins, header changes…)
    from_bot: bool = False
    from_webhook: bool = False
    deleted: bool = False
    outbox_mark: tuple[int, int] | None = None  # (row, part) on the bot's own posts (``bot.marks``)

    @property
    def automated(self) -> bool:
        """Written by a bot account or an integration, not typed by a person."""
        return self.from_bot or self.from_webhook


@dataclass(frozen=True)
class Hello:
    connection_id: str
    seq: int | None


@dataclass(frozen=True)
class Posted:
    post: Post
    channel_type: str  # O, P, D or G
    channel_name: str
    sender_name: str  # "@ana"
    mentions: frozenset[str]  # user ids, only on the copy sent to a mentioned user
    seq: int | None


@dataclass(frozen=True)
class Reacted:
    reaction: Reaction
    seq: int | None


@dataclass(frozen=True)
class OtherEvent:
    name: str
    seq: int | None


@dataclass(frozen=True)
class Response:
    """The server's answer to one of our requests (``authentication_challenge``…)."""

    ok: bool
    seq_reply: int | None


Frame = Union[Hello, Posted, Reacted, OtherEvent, Response]


def parse_frame(raw: str | bytes, own_user: str | None = None) -> Frame:
    """One websocket message; raises ``MalformedEvent`` if it is not one Mattermost sends.

    A post by ``own_user`` (the bot's replies coming back) is not parsed past
    its author: it is returned as an ``OtherEvent`` that keeps its ``seq``.
    """
    message = _object(_loads(raw), "frame")
    if "event" not in message:
        if "status" in message:
            return Response(message.get("status") == "OK", _optional_int(message, "seq_reply"))
        raise MalformedEvent("neither an event nor a response")
    name = _text(message, "event")
    seq = _optional_int(message, "seq")
    data = _object(message.get("data") or {}, "data")
    if name == "hello":
        return Hello(_text(data, "connection_id"), seq)
    if name == "posted":
        if own_user is not None and _written_by(data.get("post"), own_user):
            return OtherEvent(name, seq)
        return Posted(
            post=parse_post(_embedded(data, "post")),
            channel_type=_text(data, "channel_type", default=""),
            channel_name=_text(data, "channel_name", default=""),
            sender_name=_text(data, "sender_name", default=""),
            mentions=_mentions(data),
            seq=seq,
        )
    if name in ("reaction_added", "reaction_removed"):
        return Reacted(parse_reaction(_embedded(data, "reaction"), added=name == "reaction_added"), seq)
    return OtherEvent(name, seq)


def parse_post(value: Any) -> Post:
    """A post object (as in ``data.post`` or a ``PostList``)."""
    post = _object(value, "post")
    props = post.get("props") or {}
    if not isinstance(props, Mapping):
        raise MalformedEvent("post.props is not an object")
    return Post(
        id=_text(post, "id"),
        channel_id=_text(post, "channel_id"),
        user_id=_text(post, "user_id"),
        message=_text(post, "message", default=""),
        create_at=_int(post, "create_at"),
        update_at=_int(post, "update_at", default=0),
        root_id=_text(post, "root_id", default=""),
        type=_text(post, "type", default=""),
        from_bot=_truthy(props.get("from_bot")),
        from_webhook=_truthy(props.get("from_webhook")),
        deleted=_int(post, "delete_at", default=0) > 0,
        outbox_mark=read_mark(props.get(OUTBOX_PROP)),
    )


def parse_reaction(value: Any, *, added: bool = True) -> Reaction:
    reaction = _object(value, "reaction")
    return Reaction(PLATFORM, _text(reaction, "post_id"), _text(reaction, "user_id"),
                    _text(reaction, "emoji_name"), added)


def posts_in_listing(listing: Any) -> list[Post]:
    """The posts of a ``PostList`` (``GET /channels/{id}/posts``), oldest first.

    Only the posts named in ``order`` count: ``posts`` also carries thread roots
    that did not change. A post that cannot be read is left out, not fatal.
    """
    if listing is None:
        return []
    body = _object(listing, "post list")
    posts = body.get("posts") or {}
    order = body.get("order") or []
    if not isinstance(posts, Mapping) or not isinstance(order, list):
        raise MalformedEvent("post list without posts/order")
    found = []
    for post_id in order:
        try:
            found.append(parse_post(posts[post_id]))
        except (KeyError, TypeError, MalformedEvent):
            continue
    return sorted(found, key=lambda p: (p.create_at, p.id))


@dataclass(frozen=True)
class Profile:
    """What the bot needs from a user's profile."""

    id: str
    username: str
    zone: str | None
    is_bot: bool = False


def parse_profile(value: Any) -> Profile:
    user = _object(value, "user")
    return Profile(_text(user, "id"), _text(user, "username", default=""), profile_zone(user),
                   _truthy(user.get("is_bot")))


@dataclass(frozen=True)
class ChannelInfo:
    id: str
    name: str
    type: str  # O open, P private, D direct, G group

    @property
    def is_direct(self) -> bool:
        return self.type == "D"


def parse_channels(value: Any) -> list[ChannelInfo]:
    """``GET /users/{id}/teams/{team_id}/channels``: the channels the bot is a member of."""
    if not isinstance(value, list):
        raise MalformedEvent("channel list is not a list")
    channels = []
    for item in value:
        channel = _object(item, "channel")
        channels.append(ChannelInfo(_text(channel, "id"), _text(channel, "name", default=""),
                                    _text(channel, "type", default="O")))
    return channels


def profile_zone(user: Mapping[str, Any]) -> str | None:
    """The zone a Mattermost profile uses: automatic or manual, per its own switch."""
    tz = user.get("timezone")
    if not isinstance(tz, Mapping):
        return None
    automatic = _truthy(tz.get("useAutomaticTimezone"))
    zone = tz.get("automaticTimezone") if automatic else tz.get("manualTimezone")
    return zone if isinstance(zone, str) and zone else None


# --- small readers --------------------------------------------------------------------------

_MISSING: Any = object()


_AUTHOR = '"user_id":"'
_MESSAGE = '"message":"'


def _written_by(post: Any, user_id: str) -> bool:
    """Whether the post, still as JSON text, is by ``user_id``; read without parsing it.

    Mattermost writes ``user_id`` before ``message``, so the first ``"user_id":"``
    ahead of the message is the author's; if the text is laid out otherwise the
    answer is False and the post is parsed in full.
    """
    if not isinstance(post, str):
        return False
    at = post.find(_AUTHOR)
    message = post.find(_MESSAGE)
    if at < 0 or 0 <= message < at:
        return False
    start = at + len(_AUTHOR)
    return post.startswith(user_id, start) and post.startswith('"', start + len(user_id))


def _loads(raw: str | bytes) -> Any:
    try:
        return orjson.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        raise MalformedEvent(f"not JSON: {type(err).__name__}") from None


def _object(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MalformedEvent(f"{what} is not an object")
    return value


def _embedded(data: Mapping[str, Any], key: str) -> Any:
    """A field the server sends as a JSON string (``post``, ``reaction``); an object is accepted too."""
    value = data.get(key)
    if isinstance(value, (str, bytes)):
        return _loads(value)
    if value is None:
        raise MalformedEvent(f"data.{key} is missing")
    return value


def _mentions(data: Mapping[str, Any]) -> frozenset[str]:
    raw = data.get("mentions")
    if not raw:
        return frozenset()
    ids = _loads(raw) if isinstance(raw, (str, bytes)) else raw
    if not isinstance(ids, list):
        raise MalformedEvent("data.mentions is not a list")
    return frozenset(i for i in ids if isinstance(i, str))


def _text(obj: Mapping[str, Any], key: str, default: str = _MISSING) -> str:
    value = obj.get(key, default)
    if value is _MISSING:
        raise MalformedEvent(f"{key} is missing")
    if value is None and default is not _MISSING:
        return default
    if not isinstance(value, str):
        raise MalformedEvent(f"{key} is not a string")
    return value


def _int(obj: Mapping[str, Any], key: str, default: int = _MISSING) -> int:
    value = obj.get(key, default)
    if value is _MISSING:
        raise MalformedEvent(f"{key} is missing")
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedEvent(f"{key} is not an integer")
    return value


def _optional_int(obj: Mapping[str, Any], key: str) -> int | None:
    value = obj.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _truthy(value: Any) -> bool:
    """Mattermost writes flags as ``true`` or ``"true"``."""
    return value is True or (isinstance(value, str) and value.lower() == "true")
