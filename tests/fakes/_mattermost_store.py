"""State of the fake Mattermost server and the JSON the real server renders for it.

Field names, their order and which ones Go omits when empty follow the
server's model structs (``server/public/model/{user,team,channel,post,
post_list,reaction}.go``). Query semantics follow ``sqlstore/post_store.go``:

* a reply bumps its root's ``update_at``; so does a reaction on a post;
* ``since`` returns every post of the channel with ``update_at > since`` (in
  ``order``, newest first) plus their thread roots (in ``posts`` only);
* ``after`` takes the *oldest* ``per_page`` posts after the cursor and lists
  them newest first; ``posts`` also carries their roots and whole threads.
"""
from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.ids import MillisClock, new_id

__all__ = [
    "Channel",
    "Post",
    "Reaction",
    "Store",
    "Team",
    "User",
    "go_json",
    "timezone_json",
]

MAX_MESSAGE_RUNES = 16383  # PostMessageMaxRunesV2 (65535 bytes / 4)


def go_json(value: Any) -> str:
    """Encode like Go's ``encoding/json``: compact, UTF-8, HTML characters escaped."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return text


def timezone_json(zone: str, *, automatic: bool = True) -> dict[str, str]:
    """A user's ``timezone`` map as Mattermost stores it: three *strings*."""
    return {
        "automaticTimezone": zone if automatic else "",
        "manualTimezone": "" if automatic else zone,
        "useAutomaticTimezone": "true" if automatic else "false",
    }


_DEFAULT_NOTIFY_PROPS = {
    "channel": "true", "comments": "never", "desktop": "mention", "desktop_sound": "true",
    "desktop_threads": "all", "email": "true", "email_threads": "all", "first_name": "false",
    "mention_keys": "", "push": "mention", "push_status": "away", "push_threads": "all",
}


@dataclass
class User:
    id: str
    username: str
    email: str
    create_at: int
    timezone: dict[str, str]
    first_name: str = ""
    last_name: str = ""
    nickname: str = ""
    roles: str = "system_user"
    locale: str = "en"
    is_bot: bool = False
    bot_description: str = ""
    password: str | None = None

    def to_json(self, *, as_self: bool) -> dict[str, Any]:
        """The sanitized user; ``as_self`` adds what only the user sees of itself."""
        out: dict[str, Any] = {
            "id": self.id, "create_at": self.create_at, "update_at": self.create_at,
            "delete_at": 0, "username": self.username, "auth_data": "", "auth_service": "",
            "email": self.email, "nickname": self.nickname, "first_name": self.first_name,
            "last_name": self.last_name, "position": "", "roles": self.roles,
        }
        if as_self:
            out["notify_props"] = dict(_DEFAULT_NOTIFY_PROPS)
            if self.password is not None:
                out["last_password_update"] = self.create_at
        out["locale"] = self.locale
        out["timezone"] = dict(sorted(self.timezone.items()))
        if self.is_bot:
            out["is_bot"] = True
            if self.bot_description:
                out["bot_description"] = self.bot_description
        out["disable_welcome_email"] = False
        return out


@dataclass
class Team:
    id: str
    name: str
    display_name: str
    create_at: int
    invite_id: str = field(default_factory=new_id)
    members: set[str] = field(default_factory=set)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "create_at": self.create_at, "update_at": self.create_at,
            "delete_at": 0, "display_name": self.display_name, "name": self.name,
            "description": "", "email": "", "type": "O", "company_name": "",
            "allowed_domains": "", "invite_id": self.invite_id, "allow_open_invite": False,
            "scheme_id": None, "group_constrained": None, "policy_id": None,
            "cloud_limits_archived": False,
        }


@dataclass
class Channel:
    id: str
    team_id: str
    type: str  # "O" open, "P" private, "D" direct, "G" group
    name: str
    display_name: str
    create_at: int
    creator_id: str = ""
    header: str = ""
    purpose: str = ""
    members: set[str] = field(default_factory=set)
    last_post_at: int = 0
    last_root_post_at: int = 0
    total_msg_count: int = 0
    total_msg_count_root: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "create_at": self.create_at, "update_at": self.create_at,
            "delete_at": 0, "team_id": self.team_id, "type": self.type,
            "display_name": self.display_name, "name": self.name, "header": self.header,
            "purpose": self.purpose, "last_post_at": self.last_post_at,
            "total_msg_count": self.total_msg_count, "extra_update_at": 0,
            "creator_id": self.creator_id, "scheme_id": None, "props": None,
            "group_constrained": None, "shared": None,
            "total_msg_count_root": self.total_msg_count_root, "policy_id": None,
            "last_root_post_at": self.last_root_post_at,
        }


@dataclass(frozen=True)
class Reaction:
    user_id: str
    post_id: str
    emoji_name: str
    create_at: int
    channel_id: str

    def to_json(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id, "post_id": self.post_id, "emoji_name": self.emoji_name,
            "create_at": self.create_at, "update_at": self.create_at, "delete_at": 0,
            "remote_id": "", "channel_id": self.channel_id,
        }


@dataclass
class Post:
    id: str
    channel_id: str
    user_id: str
    root_id: str
    message: str
    props: dict[str, Any]
    create_at: int
    update_at: int
    type: str = ""
    pending_post_id: str = ""
    reactions: list[Reaction] = field(default_factory=list)
    created_perf: float = field(default_factory=time.perf_counter)
    """``time.perf_counter()`` when the server stored the post (benchmarks)."""
    request_perf: float | None = None
    """``time.perf_counter()`` when the REST request that made it arrived."""

    @property
    def thread_root_id(self) -> str:
        return self.root_id or self.id


_HASHTAG = re.compile(r"(?<![\w#])#[A-Za-z][\w.\-]*\w")
_AT_NAME = re.compile(r"@([a-z0-9][a-z0-9._\-]*)", re.IGNORECASE)


class Store:
    """Users, teams, channels, posts and reactions, with the server's query rules."""

    def __init__(self, clock: MillisClock) -> None:
        self.clock = clock
        self.users: dict[str, User] = {}
        self.tokens: dict[str, str] = {}  # token -> user id
        self.teams: dict[str, Team] = {}
        self.channels: dict[str, Channel] = {}
        self.posts: dict[str, Post] = {}
        self.log: list[Post] = []  # creation order
        self._pending: dict[str, Post] = {}  # pending_post_id -> the post made for it

    # --- users, teams, channels -------------------------------------------------
    def add_user(self, username: str, *, timezone: dict[str, str], is_bot: bool = False,
                 password: str | None = None, first_name: str = "", last_name: str = "",
                 bot_description: str = "") -> User:
        if self.user_by_name(username) is not None:
            raise ValueError(f"user {username!r} exists already")
        user = User(id=new_id(), username=username.lower(), email=f"{username.lower()}@coop.test",
                    create_at=self.clock.now_ms(), timezone=timezone, first_name=first_name,
                    last_name=last_name, is_bot=is_bot, bot_description=bot_description,
                    password=password)
        self.users[user.id] = user
        return user

    def new_token(self, user: User) -> str:
        token = new_id()
        self.tokens[token] = user.id
        return token

    def user_for_token(self, token: str) -> User | None:
        user_id = self.tokens.get(token)
        return self.users.get(user_id) if user_id else None

    def user_by_name(self, username: str) -> User | None:
        wanted = username.lower()
        return next((u for u in self.users.values() if u.username == wanted), None)

    def add_team(self, name: str, display_name: str) -> Team:
        team = Team(id=new_id(), name=name, display_name=display_name, create_at=self.clock.now_ms())
        self.teams[team.id] = team
        return team

    def team_by_name(self, name: str) -> Team | None:
        return next((t for t in self.teams.values() if t.name == name), None)

    def add_channel(self, team: Team, name: str, display_name: str, *, type: str = "O",
                    members: Iterable[str] = ()) -> Channel:
        channel = Channel(id=new_id(), team_id=team.id, type=type, name=name,
                          display_name=display_name, create_at=self.clock.now_ms(),
                          members=set(members))
        self.channels[channel.id] = channel
        return channel

    def channel_by_name(self, team_id: str, name: str) -> Channel | None:
        return next((c for c in self.channels.values()
                     if c.team_id == team_id and c.name == name), None)

    def direct_channel(self, first: str, second: str) -> Channel:
        """The direct channel of two users, created on first use (name ``a__b``, ids sorted)."""
        name = "__".join(sorted((first, second)))
        existing = next((c for c in self.channels.values() if c.type == "D" and c.name == name), None)
        if existing is not None:
            return existing
        channel = Channel(id=new_id(), team_id="", type="D", name=name, display_name="",
                          create_at=self.clock.now_ms(), members={first, second})
        self.channels[channel.id] = channel
        return channel

    # --- posts and reactions ----------------------------------------------------------
    def repeated_post(self, pending_post_id: str, window_ms: int) -> Post | None:
        """The post already made for this ``pending_post_id`` within the window, if any.

        ``deduplicateCreatePost``: the server keeps each pending_post_id in a cache
        for 30 s (``PendingPostIDsCacheTTL``) and answers a repeat with that post.
        """
        if not pending_post_id:
            return None
        earlier = self._pending.get(pending_post_id)
        if earlier is None or self.clock.now_ms() - earlier.create_at > window_ms:
            return None
        return earlier

    def create_post(self, *, user: User, channel: Channel, message: str, root_id: str = "",
                    props: dict[str, Any] | None = None, pending_post_id: str = "",
                    post_type: str = "", request_perf: float | None = None) -> Post:
        props = dict(props or {})
        if user.is_bot:
            props["from_bot"] = "true"
        now = self.clock.now_ms()
        post = Post(id=new_id(), channel_id=channel.id, user_id=user.id, root_id=root_id,
                    message=message, props=props, create_at=now, update_at=now, type=post_type,
                    pending_post_id=pending_post_id, request_perf=request_perf)
        self.posts[post.id] = post
        self.log.append(post)
        if pending_post_id:
            self._pending[pending_post_id] = post
        channel.last_post_at = now
        channel.total_msg_count += 1
        if root_id:
            self.posts[root_id].update_at = now  # SaveMultiple: UPDATE Posts SET UpdateAt
        else:
            channel.last_root_post_at = now
            channel.total_msg_count_root += 1
        return post

    def add_reaction(self, user: User, post: Post, emoji_name: str) -> Reaction:
        reaction = Reaction(user_id=user.id, post_id=post.id, emoji_name=emoji_name,
                            create_at=self.clock.now_ms(), channel_id=post.channel_id)
        post.reactions = [r for r in post.reactions
                          if (r.user_id, r.emoji_name) != (user.id, emoji_name)] + [reaction]
        post.update_at = reaction.create_at  # updatePostForReactionsOnInsert
        return reaction

    def mentioned_user_ids(self, post: Post) -> list[str]:
        """Members a post mentions: ``@name``, ``@channel/@all/@here``; in a DM, the other one."""
        channel = self.channels[post.channel_id]
        others = channel.members - {post.user_id}
        if channel.type == "D":
            return sorted(others)
        names = {m.group(1).lower().rstrip("._-") for m in _AT_NAME.finditer(post.message)}
        if names & {"channel", "all", "here"}:
            return sorted(others)
        return sorted(uid for uid in others if self.users[uid].username in names)

    # --- JSON renderings --------------------------------------------------------------------
    def post_json(self, post: Post, *, echo_pending: bool = False) -> dict[str, Any]:
        """A post as ``PreparePostForClient`` renders it.

        ``pending_post_id`` is not stored (``db:"-"``): only the create answer and the
        ``posted`` event echo the client's (``echo_pending``); posts read back carry "".
        """
        metadata: dict[str, Any] = {}
        if post.reactions:
            metadata["reactions"] = [r.to_json() for r in post.reactions]
        out: dict[str, Any] = {
            "id": post.id, "create_at": post.create_at, "update_at": post.update_at,
            "edit_at": 0, "delete_at": 0, "is_pinned": False, "user_id": post.user_id,
            "channel_id": post.channel_id, "root_id": post.root_id, "original_id": "",
            "message": post.message, "type": post.type, "props": dict(sorted(post.props.items())),
            "hashtags": " ".join(_HASHTAG.findall(post.message)), "file_ids": [],
            "pending_post_id": post.pending_post_id if echo_pending else "",
        }
        if post.reactions:
            out["has_reactions"] = True
        out.update({"reply_count": self._reply_count(post), "last_reply_at": 0,
                    "participants": None, "metadata": metadata})
        return out

    def _reply_count(self, post: Post) -> int:
        root = post.thread_root_id
        return sum(1 for p in self.log if p.root_id == root)

    def _post_list(self, order: list[Post], extra: Iterable[Post] = (), *, next_id: str = "",
                   prev_id: str = "", has_next: bool | None = None) -> dict[str, Any]:
        posts = {p.id: p for p in extra}
        posts.update({p.id: p for p in order})
        out: dict[str, Any] = {
            "order": [p.id for p in order],
            "posts": {pid: self.post_json(p) for pid, p in posts.items()},
            "next_post_id": next_id, "prev_post_id": prev_id,
        }
        if has_next is not None:
            out["has_next"] = has_next
        out["first_inaccessible_post_time"] = 0
        return out

    # --- channel post queries (GET /channels/{id}/posts) ------------------------------------
    def _in_channel(self, channel_id: str) -> list[Post]:
        return [p for p in self.log if p.channel_id == channel_id]

    def _id_after_time(self, channel_id: str, create_at: int) -> str:
        later = [p for p in self._in_channel(channel_id) if p.create_at > create_at]
        return min(later, key=lambda p: p.create_at).id if later else ""

    def _id_before_time(self, channel_id: str, create_at: int) -> str:
        earlier = [p for p in self._in_channel(channel_id) if p.create_at < create_at]
        return max(earlier, key=lambda p: p.create_at).id if earlier else ""

    def _threads_of(self, channel_id: str, root_ids: set[str], whole_threads: bool) -> list[Post]:
        return [p for p in self._in_channel(channel_id)
                if p.id in root_ids or (whole_threads and p.root_id in root_ids)]

    def posts_since(self, channel_id: str, since: int) -> dict[str, Any]:
        changed = [p for p in self._in_channel(channel_id) if p.update_at > since][:1000]
        changed.sort(key=lambda p: p.create_at, reverse=True)
        roots = self._threads_of(channel_id, {p.root_id for p in changed if p.root_id}, False)
        return self._post_list(changed, roots)

    def posts_after(self, channel_id: str, after_id: str, page: int, per_page: int,
                    whole_threads: bool) -> dict[str, Any]:
        cursor = self.posts.get(after_id)
        newer = ([p for p in self._in_channel(channel_id) if p.create_at > cursor.create_at]
                 if cursor is not None else [])
        chunk = newer[page * per_page:(page + 1) * per_page]
        chunk.reverse()
        root_ids = {p.id for p in chunk} | {p.root_id for p in chunk if p.root_id}
        prev_id = after_id if page == 0 else (
            self._id_before_time(channel_id, chunk[-1].create_at) if chunk else "")
        next_id = "" if len(chunk) < per_page else self._id_after_time(channel_id, chunk[0].create_at)
        return self._post_list(chunk, self._threads_of(channel_id, root_ids, whole_threads),
                               next_id=next_id, prev_id=prev_id)

    def posts_before(self, channel_id: str, before_id: str, page: int, per_page: int,
                     whole_threads: bool) -> dict[str, Any]:
        cursor = self.posts.get(before_id)
        older = ([p for p in reversed(self._in_channel(channel_id)) if p.create_at < cursor.create_at]
                 if cursor is not None else [])
        chunk = older[page * per_page:(page + 1) * per_page]
        root_ids = {p.id for p in chunk} | {p.root_id for p in chunk if p.root_id}
        next_id = before_id if page == 0 else (
            self._id_after_time(channel_id, chunk[0].create_at) if chunk else "")
        prev_id = "" if len(chunk) < per_page else self._id_before_time(channel_id, chunk[-1].create_at)
        return self._post_list(chunk, self._threads_of(channel_id, root_ids, whole_threads),
                               next_id=next_id, prev_id=prev_id)

    def posts_page(self, channel_id: str, page: int, per_page: int,
                   whole_threads: bool) -> dict[str, Any]:
        newest_first = list(reversed(self._in_channel(channel_id)))
        chunk = newest_first[page * per_page:(page + 1) * per_page]
        root_ids = {p.root_id for p in chunk if p.root_id}
        next_id = self._id_after_time(channel_id, chunk[0].create_at) if chunk else ""
        prev_id = self._id_before_time(channel_id, chunk[-1].create_at) if chunk else ""
        return self._post_list(chunk, self._threads_of(channel_id, root_ids, whole_threads),
                               next_id=next_id, prev_id=prev_id)

    def thread(self, post: Post) -> dict[str, Any]:
        """``GET /posts/{id}/thread``: the asked post first, then the rest of its thread."""
        root = post.thread_root_id
        rest = [p for p in self.log if p.id != post.id and (p.id == root or p.root_id == root)]
        return self._post_list([post, *rest], has_next=False)
