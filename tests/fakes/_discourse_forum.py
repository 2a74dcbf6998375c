"""The fake Discourse forum's state and rules, without HTTP.

Each rule names the Discourse code it imitates (paths in discourse/discourse):

- post validation: ``lib/validators/post_validator.rb`` (length, "too similar",
  consecutive replies; staff skip the last two) and Rails' English messages;
- per-user posting limits: ``RateLimiter`` on ``create_post``/``create_topic``
  (one per ``rate_limit_create_*`` seconds, staff exempt);
- notifications: ``app/services/post_alerter.rb`` (mentions first, then the
  reply target, then the watching topic author; PM participants get
  ``private_message`` instead; ``replied``/``posted``/``private_message``
  collapse to one per topic pointing at the first unread post);
- deletion: ``PostDestroyer`` as run by staff (``deleted_at`` set, the post's
  notifications removed). A regular author's self-deletion (text withdrawn
  for 24 hours) is not modelled.

Times come from an injected clock so tests can move time without sleeping.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from ._discourse_model import (
    COLLAPSED_TYPES,
    Category,
    Clock,
    InvalidAccess,
    NewPost,
    NotFound,
    Notification,
    NotificationLevel,
    NotificationType,
    Post,
    PostRejected,
    SiteSettings,
    SlidingWindowLimiter,
    Topic,
    TopicUser,
    User,
    cook,
    raw_mentions,
    slug_for,
    system_clock,
)

__all__ = ["Forum"]


class Forum:
    """Users, categories, topics, posts and notifications, with Discourse's rules."""

    def __init__(self, settings: SiteSettings, clock: Clock = system_clock) -> None:
        self.settings = settings
        self.clock = clock
        self.users: dict[int, User] = {}
        self.categories: dict[int, Category] = {}
        self.topics: dict[int, Topic] = {}
        self.posts: dict[int, Post] = {}
        self.notifications: list[Notification] = []
        self.on_post_created: list[Callable[[Post], None]] = []
        self.on_post_edited: list[Callable[[Post], None]] = []
        self.on_post_destroyed: list[Callable[[Post], None]] = []
        self.on_notification_created: list[Callable[[Notification], None]] = []
        # Distinct id ranges, so a topic id used as a post id finds nothing.
        self._next_id = {"user": 1, "category": 1, "topic": 1001, "post": 5001, "notification": 1}
        self._recent_raws: dict[tuple[int, str], datetime] = {}
        # RateLimiter::OnCreateRecord: one post (topic) per rate_limit_create_post (_topic) seconds
        self._post_limiter = SlidingWindowLimiter(1, settings.rate_limit_create_post, clock)
        self._new_user_post_limiter = SlidingWindowLimiter(1, settings.rate_limit_new_user_create_post, clock)
        self._topic_limiter = SlidingWindowLimiter(1, settings.rate_limit_create_topic, clock)
        self._new_user_topic_limiter = SlidingWindowLimiter(
            1, settings.rate_limit_new_user_create_topic, clock
        )

    def _new_id(self, kind: str) -> int:
        value = self._next_id[kind]
        self._next_id[kind] = value + 1
        return value

    # -- users and categories -------------------------------------------------

    def add_user(
        self,
        username: str,
        *,
        name: str | None = None,
        admin: bool = False,
        moderator: bool = False,
        trust_level: int = 1,
        timezone: str | None = "UTC",
    ) -> User:
        if self.user_named(username) is not None:
            raise ValueError(f"username {username!r} is taken")
        user = User(
            id=self._new_id("user"),
            username=username,
            name=name,
            created_at=self.clock(),
            admin=admin,
            moderator=moderator,
            trust_level=trust_level,
            timezone=timezone,
        )
        self.users[user.id] = user
        return user

    def user_named(self, username: str) -> User | None:
        lower = username.lower()
        return next((u for u in self.users.values() if u.username.lower() == lower), None)

    def add_category(self, name: str, slug: str | None = None) -> Category:
        category = Category(id=self._new_id("category"), name=name, slug=slug or slug_for(name))
        self.categories[category.id] = category
        return category

    # -- reading --------------------------------------------------------------

    def can_see_topic(self, viewer: User | None, topic: Topic) -> bool:
        if topic.deleted_at is not None and not (viewer and viewer.staff):
            return False
        if topic.is_private_message:
            return viewer is not None and (viewer.admin or viewer.id in topic.allowed_user_ids)
        return True

    def topic_posts(self, topic: Topic, viewer: User | None) -> list[Post]:
        """Posts in stream order; staff also see deleted ones."""
        posts = [self.posts[pid] for pid in topic.post_ids]
        if viewer is not None and viewer.staff:
            return posts
        return [p for p in posts if p.deleted_at is None]

    def first_post(self, topic: Topic) -> Post:
        return self.posts[topic.post_ids[0]]

    def last_visible_post(self, topic: Topic) -> Post:
        return self.topic_posts(topic, None)[-1]

    def post_by_number(self, topic: Topic, post_number: int) -> Post | None:
        posts = (self.posts[pid] for pid in topic.post_ids)
        return next((p for p in posts if p.post_number == post_number), None)

    def topic_user(self, topic: Topic, user: User) -> TopicUser | None:
        return topic.topic_users.get(user.id)

    def visible_notifications(self, user: User) -> list[Notification]:
        """``Notification.visible``: notifications whose topic still exists."""
        result = []
        for n in self.notifications:
            if n.user_id != user.id:
                continue
            topic = self.topics.get(n.topic_id) if n.topic_id is not None else None
            if n.topic_id is not None and (topic is None or topic.deleted_at is not None):
                continue
            result.append(n)
        return result

    # -- writing --------------------------------------------------------------

    def create_post(self, author: User, request: NewPost, *, enforce: bool = True) -> Post:
        """Create a post (and its topic if ``topic_id`` is None), then alert users.

        With ``enforce`` the post is validated and rate limited as
        ``PostCreator`` does for an API request; hooks that script human
        activity pass ``enforce=False``.
        """
        now = self.clock()
        topic: Topic | None = None
        recipients: list[User] = []
        if request.topic_id is not None:
            topic = self.topics.get(request.topic_id)
            if topic is None or topic.deleted_at is not None:
                raise NotFound(f"topic {request.topic_id}")
            if not self.can_see_topic(author, topic):
                raise InvalidAccess(f"{author.username} cannot see topic {topic.id}")
        is_pm = topic.is_private_message if topic else request.archetype == "private_message"
        if topic is None:
            recipients = self._check_new_topic(author, request, is_pm, enforce)
        if enforce:
            self._validate_body(author, request.raw, topic, is_pm)
            if not author.staff:
                new_user = author.trust_level == 0
                if topic is None:
                    limiter = self._new_user_topic_limiter if new_user else self._topic_limiter
                    limiter.performed(author.id, limit_type="create_topic")
                limiter = self._new_user_post_limiter if new_user else self._post_limiter
                limiter.performed(author.id, limit_type="create_post")
        if topic is None:
            topic = self._create_topic(author, request, is_pm, recipients, now)
        post = self._append_post(author, topic, request.raw, request.reply_to_post_number, now)
        self._recent_raws[(author.id, request.raw.strip())] = now
        self._alert(post, new_record=True, editor=author)
        for listener in self.on_post_created:
            listener(post)
        return post

    def _check_new_topic(self, author: User, request: NewPost, is_pm: bool, enforce: bool) -> list[User]:
        title = (request.title or "").strip()
        errors: list[str] = []
        recipients: list[User] = []
        if is_pm:
            for name in request.target_recipients:
                user = self.user_named(name)
                if user is None:
                    raise PostRejected([f"Sorry, there is no user named '{name}'."])  # wording not checked
                if user.id != author.id:
                    recipients.append(user)
        elif request.category_id is not None and request.category_id not in self.categories:
            raise PostRejected(["Category can't be blank"])  # wording not checked
        if enforce:
            settings = self.settings
            low = settings.min_personal_message_title_length if is_pm else settings.min_topic_title_length
            if not title:
                errors.append("Title can't be blank")
            elif len(title) < low:
                errors.append(f"Title is too short (minimum is {low} characters)")
            elif len(title) > settings.max_topic_title_length:
                errors.append(f"Title is too long (maximum is {settings.max_topic_title_length} characters)")
        if errors:
            raise PostRejected(errors)
        return recipients

    def _validate_body(self, author: User, raw: str, topic: Topic | None, is_pm: bool) -> None:
        settings = self.settings
        if is_pm:
            low = settings.min_personal_message_post_length
        elif topic is None or not topic.post_ids:
            low = settings.min_first_post_length
        else:
            low = settings.min_post_length
        stripped = raw.strip()
        errors: list[str] = []
        if not stripped:
            errors.append("Body can't be blank")
        elif len(stripped) < low:
            errors.append(f"Body is too short (minimum is {low} characters)")
        elif len(stripped) > settings.max_post_length:
            errors.append(f"Body is too long (maximum is {settings.max_post_length} characters)")
        if not author.staff and stripped and settings.unique_posts_mins > 0:
            posted_at = self._recent_raws.get((author.id, stripped))
            window = timedelta(minutes=settings.unique_posts_mins)
            if posted_at is not None and self.clock() - posted_at < window:
                errors.append("Body is too similar to what you recently posted")
        if topic is not None and not is_pm and not author.staff and self._too_many_consecutive(author, topic):
            count = settings.max_consecutive_replies
            # server.en.yml max_consecutive_replies (from memory, not re-checked)
            errors.append(
                f"No more than {count} consecutive replies are allowed. "
                "Please edit your previous reply, or wait for someone to reply to you."
            )
        if errors:
            raise PostRejected(errors)

    def _too_many_consecutive(self, author: User, topic: Topic) -> bool:
        limit = self.settings.max_consecutive_replies
        if limit == 0 or self.first_post(topic).user_id == author.id:
            return False
        last = [p for p in self.topic_posts(topic, None) if not p.hidden][-limit:]
        return len(last) >= limit and all(p.user_id == author.id for p in last)

    def _create_topic(
        self, author: User, request: NewPost, is_pm: bool, recipients: list[User], now: datetime
    ) -> Topic:
        title = (request.title or "").strip()
        category_id = None if is_pm else (request.category_id or min(self.categories))
        topic = Topic(
            id=self._new_id("topic"),
            title=title,
            slug=slug_for(title),
            user_id=author.id,
            category_id=category_id,
            archetype="private_message" if is_pm else "regular",
            created_at=now,
        )
        # The creator watches (reason 1, created_topic); PM recipients watch too.
        topic.topic_users[author.id] = TopicUser(NotificationLevel.WATCHING, notifications_reason_id=1)
        if is_pm:
            topic.allowed_user_ids = [author.id] + [u.id for u in recipients]
            for user in recipients:
                topic.topic_users[user.id] = TopicUser(NotificationLevel.WATCHING, notifications_reason_id=1)
        self.topics[topic.id] = topic
        return topic

    def _append_post(
        self, author: User, topic: Topic, raw: str, reply_to_post_number: int | None, now: datetime
    ) -> Post:
        number = max((self.posts[pid].post_number for pid in topic.post_ids), default=0) + 1
        reply_to_user_id = None
        if reply_to_post_number is not None:
            parent = self.post_by_number(topic, reply_to_post_number)
            if parent is not None:
                parent.reply_count += 1
                reply_to_user_id = parent.user_id
        post = Post(
            id=self._new_id("post"),
            topic_id=topic.id,
            post_number=number,
            user_id=author.id,
            raw=raw,
            cooked=cook(raw, (u.username for u in self.users.values())),
            created_at=now,
            updated_at=now,
            created_monotonic=time.perf_counter(),
            reply_to_post_number=reply_to_post_number,
            reply_to_user_id=reply_to_user_id,
            last_editor_id=author.id,
        )
        self.posts[post.id] = post
        topic.post_ids.append(post.id)
        tu = topic.topic_users.setdefault(author.id, TopicUser())
        # notification_level_when_replying defaults to tracking
        if tu.notification_level < NotificationLevel.TRACKING:
            tu.notification_level = NotificationLevel.TRACKING
            tu.notifications_reason_id = 4
        tu.last_read_post_number = max(tu.last_read_post_number, number)
        tu.posted = True
        return post

    def edit_post(self, post: Post, raw: str, editor: User) -> Post:
        post.raw = raw
        post.cooked = cook(raw, (u.username for u in self.users.values()))
        post.version += 1
        post.updated_at = self.clock()
        post.last_editor_id = editor.id
        self._alert(post, new_record=False, editor=editor)
        for listener in self.on_post_edited:
            listener(post)
        return post

    def delete_post(self, post: Post, by: User) -> Post:
        now = self.clock()
        post.deleted_at = now
        post.updated_at = now
        topic = self.topics[post.topic_id]
        if post.post_number == 1:
            topic.deleted_at = now
        here = (post.topic_id, post.post_number)
        self.notifications = [n for n in self.notifications if (n.topic_id, n.post_number) != here]
        for listener in self.on_post_destroyed:
            listener(post)
        return post

    # -- notifications (PostAlerter) -------------------------------------------

    def _alert(self, post: Post, *, new_record: bool, editor: User) -> None:
        topic = self.topics[post.topic_id]
        author = self.users[post.user_id]
        notified: set[int] = {author.id, editor.id}
        opts: dict[str, str] = {}
        if editor.id != author.id:
            opts = {"original_username": editor.username, "display_username": editor.username}
        named = [self.user_named(name) for name in raw_mentions(post.raw)]
        mentioned = [u for u in named if u is not None and u.id != author.id]
        if topic.is_private_message:
            watching = {u.id for u in self._pm_watching_users(topic, post)}
            mentioned = [u for u in mentioned if u.id in topic.allowed_user_ids and u.id not in watching]
        for user in mentioned:
            if user.id not in notified:
                self._create_notification(user, NotificationType.MENTIONED, post, opts)
                notified.add(user.id)
        reply_to_user = self.users.get(post.reply_to_user_id) if post.reply_to_user_id else None
        if reply_to_user is not None and reply_to_user.id == author.id:
            reply_to_user = None
        if not new_record:
            return
        if not topic.is_private_message:
            if reply_to_user is not None and reply_to_user.id not in notified:
                self._create_notification(reply_to_user, NotificationType.REPLIED, post, {})
                notified.add(reply_to_user.id)
            topic_author = self.users[topic.user_id]
            tu = topic.topic_users.get(topic_author.id)
            if topic_author.id not in notified and tu and tu.notification_level == NotificationLevel.WATCHING:
                self._create_notification(topic_author, NotificationType.REPLIED, post, {})
                notified.add(topic_author.id)
            for user_id, tu in topic.topic_users.items():
                if user_id not in notified and tu.notification_level == NotificationLevel.WATCHING:
                    self._create_notification(self.users[user_id], NotificationType.POSTED, post, {})
                    notified.add(user_id)
            return
        watching_ids = {u.id for u in self._pm_watching_users(topic, post)}
        for user_id in topic.allowed_user_ids:
            if user_id in notified or user_id == author.id:
                continue
            if (reply_to_user is not None and reply_to_user.id == user_id) or user_id in watching_ids:
                self._create_notification(self.users[user_id], NotificationType.PRIVATE_MESSAGE, post, {})

    def _pm_watching_users(self, topic: Topic, post: Post) -> list[User]:
        return [
            self.users[uid]
            for uid in topic.allowed_user_ids
            if uid != post.user_id
            and (tu := topic.topic_users.get(uid)) is not None
            and tu.notification_level == NotificationLevel.WATCHING
        ]

    def _unread_posts(self, user: User, topic: Topic) -> list[Post]:
        tu = topic.topic_users.get(user.id)
        last_read = tu.last_read_post_number if tu else 0
        watching = tu is not None and tu.notification_level == NotificationLevel.WATCHING
        return [
            p
            for p in self.topic_posts(topic, None)
            if p.post_number > last_read and (p.reply_to_user_id == user.id or watching)
        ]

    def _create_notification(
        self, user: User, kind: NotificationType, post: Post, opts: dict[str, str]
    ) -> Notification | None:
        topic = self.topics[post.topic_id]
        if not self.can_see_topic(user, topic):
            return None
        existing = [
            n
            for n in self.notifications
            if n.user_id == user.id and n.topic_id == post.topic_id and n.post_number == post.post_number
        ]
        if any(n.notification_type == kind for n in existing):
            return None
        suppressed_by_reply = {NotificationType.QUOTED, NotificationType.MENTIONED}
        replied = any(n.notification_type == NotificationType.REPLIED for n in existing)
        if kind in suppressed_by_reply and replied:
            return None
        original = post
        display = opts.get("display_username")
        target = post
        if kind in COLLAPSED_TYPES:
            self.notifications = [
                n
                for n in self.notifications
                if not (
                    n.user_id == user.id and n.topic_id == topic.id and n.notification_type in COLLAPSED_TYPES
                )
            ]
            unread = self._unread_posts(user, topic)
            target = unread[0] if unread else post
            if len(unread) > 1:
                display = f"{len(unread)} replies"
        notification = Notification(
            id=self._new_id("notification"),
            user_id=user.id,
            notification_type=kind,
            topic_id=topic.id,
            post_number=target.post_number,
            data={
                "topic_title": topic.title,
                "original_post_id": original.id,
                "original_post_type": original.post_type,
                "original_username": opts.get("original_username") or self.users[original.user_id].username,
                "revision_number": None,
                "display_username": display or self.users[target.user_id].username,
            },
            created_at=self.clock(),
        )
        self.notifications.append(notification)
        for listener in self.on_notification_created:
            listener(notification)
        return notification
