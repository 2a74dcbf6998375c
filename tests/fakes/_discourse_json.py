"""Discourse's JSON for the fake's state, shaped per viewer like the serializers.

Unconditional fields follow ``discourse-openapi.json`` (which upstream
generates from rswag runs as an admin who never touched the topic).
Where Discourse's serializers add, drop or null a field depending on the
viewer or the data, the fake follows the serializer (``app/serializers/*``):

- ``reply_to_post_number`` is an integer, ``reply_to_user`` appears on replies
  (``PostSerializer#include_reply_to_user?``);
- ``reviewable_*`` only for viewers who can review (staff);
- ``link_counts`` only for posts with links (the fake makes none);
- topic ``details`` carry a ``can_*`` key only when it is true
  (``TopicViewDetailsSerializer``), ``has_deleted`` only for staff,
  ``last_read_post_number``/``posted``/``notifications_reason_id`` only for
  viewers with a TopicUser row; PMs have ``category_id: null`` and
  ``details.allowed_users``/``allowed_groups``;
- topic-list posters other than the last have ``extras: null``
  (``TopicPostersSummary``), ``image_url`` is null without images.

User profiles are in ``_discourse_user_json``.
"""
from __future__ import annotations

import html
import re
from datetime import datetime
from typing import Any, Literal

from ._discourse_forum import Forum
from ._discourse_model import Notification, NotificationLevel, Post, Topic, User

__all__ = [
    "JSON",
    "error_body",
    "iso",
    "notification_json",
    "post_json",
    "topic_list_json",
    "topic_posts_json",
    "topic_view_json",
]

JSON = dict[str, Any]
PostContext = Literal["create", "show", "latest", "topic", "webhook"]

CHUNK_SIZE = 20
STAFF_DETAIL_KEYS = (
    "can_move_posts",
    "can_edit",
    "can_delete",
    "can_remove_allowed_users",
    "can_invite_to",
    "can_invite_via_email",
    "can_convert_topic",
    "can_review_topic",
    "can_close_topic",
    "can_archive_topic",
    "can_split_merge_topic",
    "can_edit_staff_notes",
    "can_toggle_topic_visibility",
    "can_pin_unpin_topic",
    "can_moderate_category",
)


def iso(moment: datetime | None) -> str | None:
    """Rails' JSON time: UTC with milliseconds and ``Z``."""
    if moment is None:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def error_body(errors: list[str], error_type: str | None = None, extras: JSON | None = None) -> JSON:
    """``JsonError#create_errors_json``: ``errors`` plus optional type and extras."""
    body: JSON = {"errors": errors}
    if error_type is not None:
        body["error_type"] = error_type
    if extras is not None:
        body["extras"] = extras
    return body


def basic_user(user: User) -> JSON:
    return {
        "id": user.id,
        "username": user.username,
        "name": user.name,
        "avatar_template": user.avatar_template,
    }


def _excerpt(cooked: str, limit: int = 300) -> tuple[str, bool]:
    text = html.unescape(re.sub(r"<[^>]+>", "", cooked)).strip()
    return (text[:limit] + "&hellip;", True) if len(text) > limit else (text, False)


def post_json(
    forum: Forum, post: Post, viewer: User | None, context: PostContext, *, draft_sequence: int = 0
) -> JSON:
    """One post as ``PostSerializer`` (or ``WebHookPostSerializer``) renders it for ``viewer``."""
    author = forum.users[post.user_id]
    topic = forum.topics[post.topic_id]
    is_staff = viewer is not None and viewer.staff
    mine = viewer is not None and viewer.id == author.id
    data: JSON = {
        "id": post.id,
        "name": author.name,
        "username": author.username,
        "avatar_template": author.avatar_template,
        "created_at": iso(post.created_at),
        "cooked": post.cooked,
        "post_number": post.post_number,
        "post_type": post.post_type,
        "posts_count": len(forum.topic_posts(topic, None)),
        "updated_at": iso(post.updated_at),
        "reply_count": post.reply_count,
        "reply_to_post_number": post.reply_to_post_number,
        "quote_count": 0,
        "incoming_link_count": 0,
        "reads": 0,
        "readers_count": 0,
        "score": 0,
        "yours": mine,
        "topic_id": topic.id,
        "topic_slug": topic.slug,
        "display_username": author.name,
        "primary_group_name": None,
        "flair_name": None,
        "flair_url": None,
        "flair_bg_color": None,
        "flair_color": None,
        "flair_group_id": None,
        "badges_granted": [],
        "version": post.version,
        "can_edit": mine or is_staff,
        "can_delete": is_staff or (mine and post.post_number > 1),
        "can_recover": is_staff and post.deleted_at is not None,
        "can_see_hidden_post": is_staff,
        "can_wiki": is_staff,
        "user_title": None,
        "bookmarked": False,
        "actions_summary": [{"id": 2, "can_act": True}] if viewer is not None and not mine else [],
        "moderator": author.moderator,
        "admin": author.admin,
        "staff": author.staff,
        "user_id": author.id,
        "hidden": post.hidden,
        "trust_level": author.trust_level,
        "deleted_at": iso(post.deleted_at),
        "user_deleted": post.user_deleted,
        "edit_reason": post.edit_reason,
        "can_view_edit_history": True,
        "wiki": post.wiki,
        "post_url": f"/t/{topic.slug}/{topic.id}/{post.post_number}",
    }
    if post.reply_to_user_id is not None:
        target = forum.users[post.reply_to_user_id]
        data["reply_to_user"] = {
            "id": target.id,
            "username": target.username,
            "name": target.name,
            "avatar_template": target.avatar_template,
        }
    if is_staff or context == "webhook":  # webhooks serialize as the system user
        data.update(reviewable_id=None, reviewable_score_count=0, reviewable_score_pending_count=0)
    if context == "create":
        data["draft_sequence"] = draft_sequence
    elif context == "show":
        data["raw"] = post.raw
    elif context == "latest":
        excerpt, truncated = _excerpt(post.cooked)
        data.update(
            raw=post.raw,
            topic_title=topic.title,
            topic_html_title=topic.fancy_title,
            category_id=topic.category_id,
            excerpt=excerpt,
            truncated=truncated,
        )
    elif context == "topic":
        for key in ("posts_count", "flair_group_id", "badges_granted", "post_url"):
            del data[key]
        tu = forum.topic_user(topic, viewer) if viewer else None
        data["read"] = tu is not None and post.post_number <= tu.last_read_post_number
        if is_staff:
            data["reviewable_id"] = 0  # TopicView's bulk counts give 0, not null
    elif context == "webhook":
        for key in (
            "can_edit", "can_delete", "can_recover", "can_see_hidden_post", "can_wiki", "actions_summary",
            "can_view_edit_history", "yours", "flair_url", "flair_bg_color", "flair_color", "badges_granted",
            "readers_count",
        ):  # fmt: skip
            del data[key]
        visible = forum.topic_posts(topic, None)
        data.update(
            raw=post.raw,
            topic_title=topic.title,
            category_id=topic.category_id,
            topic_posts_count=len(visible),
            topic_filtered_posts_count=len([p for p in visible if p.post_type == 1]),
            topic_archetype=topic.archetype,
        )
        if topic.category_id is not None:
            data["category_slug"] = forum.categories[topic.category_id].slug
    return data


def _participants(forum: Forum, topic: Topic) -> list[JSON]:
    counts: dict[int, int] = {}
    for post in forum.topic_posts(topic, None):
        counts[post.user_id] = counts.get(post.user_id, 0) + 1
    result = []
    for user_id, count in sorted(counts.items(), key=lambda item: -item[1]):
        user = forum.users[user_id]
        result.append(
            {
                **basic_user(user),
                "post_count": count,
                "primary_group_name": None,
                "flair_name": None,
                "flair_url": None,
                "flair_color": None,
                "flair_bg_color": None,
                "flair_group_id": None,
                "admin": user.admin,
                "moderator": user.moderator,
                "trust_level": user.trust_level,
            }
        )
    return result


def _details(forum: Forum, topic: Topic, viewer: User | None) -> JSON:
    is_staff = viewer is not None and viewer.staff
    tu = forum.topic_user(topic, viewer) if viewer else None
    last = forum.last_visible_post(topic)
    details: JSON = {
        "notification_level": int(tu.notification_level) if tu else int(NotificationLevel.REGULAR),
        "participants": _participants(forum, topic),
        "created_by": basic_user(forum.users[topic.user_id]),
        "last_poster": basic_user(forum.users[last.user_id]),
    }
    if tu is not None and tu.notifications_reason_id is not None:
        details["notifications_reason_id"] = tu.notifications_reason_id
    if viewer is not None and not topic.closed:
        details["can_create_post"] = True
        details["can_reply_as_new_topic"] = True
        details["can_flag_topic"] = True
    if is_staff:
        details.update(dict.fromkeys(STAFF_DETAIL_KEYS, True))
    elif viewer is not None and viewer.id == topic.user_id:
        details["can_edit"] = True
    in_pm = viewer is not None and topic.is_private_message and viewer.id in topic.allowed_user_ids
    if viewer is not None and (is_staff or (in_pm and len(topic.allowed_user_ids) > 1)):
        details["can_remove_self_id"] = viewer.id
    if topic.is_private_message:
        details["allowed_users"] = [basic_user(forum.users[uid]) for uid in topic.allowed_user_ids]
        details["allowed_groups"] = []
    return details


def topic_view_json(forum: Forum, topic: Topic, viewer: User | None, *, chunk_size: int = CHUNK_SIZE) -> JSON:
    """``GET /t/{id}.json``: the topic, its first ``chunk_size`` posts and every post id."""
    posts = forum.topic_posts(topic, viewer)
    visible = forum.topic_posts(topic, None)
    tu = forum.topic_user(topic, viewer) if viewer else None
    is_staff = viewer is not None and viewer.staff
    first = forum.first_post(topic)
    now = forum.clock()
    data: JSON = {
        "post_stream": {
            "posts": [post_json(forum, p, viewer, "topic") for p in posts[:chunk_size]],
            "stream": [p.id for p in posts],
        },
        "timeline_lookup": [[1, (now - first.created_at).days]],
        "suggested_topics": [],
        "tags": [],
        "tags_descriptions": {},
        "id": topic.id,
        "title": topic.title,
        "fancy_title": topic.fancy_title,
        "posts_count": len(visible),
        "created_at": iso(topic.created_at),
        "views": topic.views,
        "reply_count": max(len(visible) - 1, 0),
        "like_count": 0,
        "last_posted_at": iso(visible[-1].created_at) if visible else None,
        "visible": True,
        "closed": topic.closed,
        "archived": topic.archived,
        "has_summary": False,
        "archetype": topic.archetype,
        "slug": topic.slug,
        "category_id": topic.category_id,
        "word_count": sum(len(p.raw.split()) for p in visible),
        "deleted_at": iso(topic.deleted_at),
        "user_id": topic.user_id,
        "featured_link": None,
        "pinned_globally": False,
        "pinned_at": None,
        "pinned_until": None,
        "image_url": None,
        "slow_mode_seconds": 0,
        "draft": None,
        "draft_key": f"topic_{topic.id}",
        "draft_sequence": 0,
        "unpinned": None,
        "pinned": False,
        "highest_post_number": max((p.post_number for p in forum.topic_posts(topic, None)), default=0),
        "deleted_by": None,
        "actions_summary": [
            {"id": kind, "count": 0, "hidden": False, "can_act": viewer is not None} for kind in (4, 8, 7)
        ],
        "chunk_size": chunk_size,
        "bookmarked": False,
        "bookmarks": [],
        "topic_timer": None,
        "message_bus_last_id": 0,
        "participant_count": len({p.user_id for p in visible}),
        "show_read_indicator": False,
        "thumbnails": None,
        "slow_mode_enabled_until": None,
        "details": _details(forum, topic, viewer),
    }
    if is_staff:
        data["has_deleted"] = any(p.deleted_at is not None for p in posts)
    if tu is not None:
        data["last_read_post_number"] = tu.last_read_post_number
        data["posted"] = tu.posted
    return data


def topic_posts_json(forum: Forum, topic: Topic, viewer: User | None, posts: list[Post]) -> JSON:
    """``GET /t/{id}/posts.json``: ``TopicViewPostsSerializer``."""
    return {"post_stream": {"posts": [post_json(forum, p, viewer, "topic") for p in posts]}, "id": topic.id}


def notification_json(forum: Forum, notification: Notification) -> JSON:
    """``NotificationSerializer`` (DiscourseConnect off, no acting-user avatars)."""
    topic = forum.topics.get(notification.topic_id) if notification.topic_id is not None else None
    data: JSON = {
        "id": notification.id,
        "user_id": notification.user_id,
        "notification_type": int(notification.notification_type),
        "read": notification.read,
        "high_priority": notification.high_priority,
        "created_at": iso(notification.created_at),
        "post_number": notification.post_number,
        "topic_id": notification.topic_id,
        "slug": topic.slug if topic else None,
        "data": dict(notification.data),
    }
    if topic is not None:
        data["fancy_title"] = topic.fancy_title
    return data


def topic_list_json(forum: Forum, topics: list[Topic], viewer: User | None, *, per_page: int = 30) -> JSON:
    """``TopicListSerializer`` for ``/latest.json``."""
    users: dict[int, User] = {}
    items = []
    for topic in topics:
        visible = forum.topic_posts(topic, None)
        last = visible[-1]
        poster_ids = list(dict.fromkeys([topic.user_id] + [p.user_id for p in reversed(visible)]))[:5]
        posters = []
        for index, user_id in enumerate(poster_ids):
            users[user_id] = forum.users[user_id]
            extras = None
            if user_id == last.user_id:
                extras = "latest single" if len(poster_ids) == 1 else "latest"
            description = "Original Poster" if index == 0 else "Frequent Poster"
            if user_id == last.user_id:
                description += ", Most Recent Poster"
            posters.append(
                {"extras": extras, "description": description, "user_id": user_id, "primary_group_id": None}
            )
        tu = forum.topic_user(topic, viewer) if viewer else None
        item: JSON = {
            "id": topic.id,
            "title": topic.title,
            "fancy_title": topic.fancy_title,
            "slug": topic.slug,
            "posts_count": len(visible),
            "reply_count": len(visible) - 1,
            "highest_post_number": max(p.post_number for p in visible),
            "image_url": None,
            "created_at": iso(topic.created_at),
            "last_posted_at": iso(last.created_at),
            "bumped": True,
            "bumped_at": iso(last.created_at),
            "archetype": topic.archetype,
            "unseen": tu is None,
            "pinned": False,
            "unpinned": None,
            "visible": True,
            "closed": topic.closed,
            "archived": topic.archived,
            "bookmarked": False,
            "liked": False,
            "views": topic.views,
            "like_count": 0,
            "has_summary": False,
            "last_poster_username": forum.users[last.user_id].username,
            "category_id": topic.category_id,
            "pinned_globally": False,
            "featured_link": None,
            "posters": posters,
        }
        if tu is not None:
            item.update(
                last_read_post_number=tu.last_read_post_number,
                unread_posts=len([p for p in visible if p.post_number > tu.last_read_post_number]),
                notification_level=int(tu.notification_level),
            )
        items.append(item)
    return {
        "users": [basic_user(u) for u in users.values()],
        "primary_groups": [],
        "topic_list": {
            "can_create_topic": viewer is not None,
            "draft": None,
            "draft_key": "new_topic",
            "draft_sequence": 0,
            "per_page": per_page,
            "topics": items,
        },
    }
