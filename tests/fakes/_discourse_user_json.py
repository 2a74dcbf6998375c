"""``GET /u/{username}.json`` as ``UserSerializer`` renders it.

The shape is the spec's (the user themself or staff looking). For anyone
else Discourse drops ``user_option`` (``include_user_option?`` is
``can_edit``), so a non-staff bot cannot read a member's time zone there; the
fake drops it too. Discourse also drops the other ``private_attributes`` for
such viewers; the fake keeps them. ``featured_topic`` is null without one.
"""
from __future__ import annotations

from ._discourse_forum import Forum
from ._discourse_json import JSON, basic_user, iso
from ._discourse_model import User

__all__ = ["user_json"]

_DAY = {f"day_{day}_start_time": 480 for day in range(7)} | {f"day_{day}_end_time": 1020 for day in range(7)}


def _user_option(user: User) -> JSON:
    return {
        "user_id": user.id,
        "mailing_list_mode": False,
        "mailing_list_mode_frequency": 1,
        "email_digests": True,
        "email_level": 1,
        "email_messages_level": 0,
        "external_links_in_new_tab": False,
        "color_scheme_id": None,
        "dark_scheme_id": None,
        "dynamic_favicon": False,
        "enable_quoting": True,
        "enable_smart_lists": True,
        "enable_markdown_monospace_font": False,
        "digest_after_minutes": 10080,
        "automatically_unpin_topics": True,
        "auto_track_topics_after_msecs": 240000,
        "notification_level_when_replying": 2,
        "new_topic_duration_minutes": 2880,
        "email_previous_replies": 2,
        "email_in_reply_to": False,
        "like_notification_frequency": 1,
        "notify_on_linked_posts": True,
        "push_notification_level": "all",
        "enable_upcoming_change_available_notifications": False,
        "include_tl0_in_digests": False,
        "theme_ids": [],
        "theme_key_seq": 0,
        "allow_private_messages": True,
        "enable_allowed_pm_users": False,
        "homepage_id": None,
        "hide_profile_and_presence": False,
        "hide_profile": False,
        "hide_presence": False,
        "text_size": "normal",
        "text_size_seq": 0,
        "title_count_mode": "notifications",
        "timezone": user.timezone,
        "skip_new_user_tips": False,
        "topics_unread_when_closed": True,
        "interface_color_mode": 1,
        "automatically_translate": False,
        "understood_languages": [],
        "show_original_content": False,
        "send_shortcut": "ctrl_enter",
    }


def user_json(forum: Forum, user: User, viewer: User | None) -> JSON:
    can_edit = viewer is not None and (viewer.id == user.id or viewer.staff)
    posts = [p for p in forum.posts.values() if p.user_id == user.id and p.deleted_at is None]
    data: JSON = {
        **basic_user(user),
        "last_posted_at": iso(max((p.created_at for p in posts), default=None)),
        "last_seen_at": iso(forum.clock()),
        "created_at": iso(user.created_at),
        "ignored": False,
        "muted": False,
        "can_ignore_user": False,
        "can_mute_user": viewer is not None and viewer.id != user.id,
        "can_send_private_messages": viewer is not None,
        "can_send_private_message_to_user": viewer is not None and viewer.id != user.id,
        "trust_level": user.trust_level,
        "moderator": user.moderator,
        "admin": user.admin,
        "title": None,
        "badge_count": 0,
        "custom_fields": {},
        "time_read": 0,
        "recent_time_read": 0,
        "primary_group_id": None,
        "primary_group_name": None,
        "flair_group_id": None,
        "flair_name": None,
        "flair_url": None,
        "flair_bg_color": None,
        "flair_color": None,
        "featured_topic": None,
        "staged": False,
        "can_edit": can_edit,
        "can_edit_username": can_edit,
        "can_edit_email": can_edit,
        "can_edit_name": can_edit,
        "uploaded_avatar_id": None,
        "has_title_badges": False,
        "pending_count": 0,
        "profile_view_count": 0,
        "second_factor_enabled": False,
        "can_upload_profile_header": can_edit,
        "can_upload_user_card_background": can_edit,
        "post_count": len(posts),
        "topic_count": len({p.topic_id for p in posts if p.post_number == 1}),
        "can_be_deleted": False,
        "can_delete_all_posts": False,
        "locale": None,
        "muted_category_ids": [],
        "regular_category_ids": [],
        "watched_tags": [],
        "watching_first_post_tags": [],
        "tracked_tags": [],
        "muted_tags": [],
        "tracked_category_ids": [],
        "watched_category_ids": [],
        "watched_first_post_category_ids": [],
        "system_avatar_upload_id": None,
        "system_avatar_template": user.avatar_template,
        "muted_usernames": [],
        "ignored_usernames": [],
        "allowed_pm_usernames": [],
        "mailing_list_posts_per_day": 0,
        "can_change_bio": True,
        "can_change_location": True,
        "can_change_website": True,
        "can_change_tracking_preferences": True,
        "user_api_keys": None,
        "user_auth_tokens": [],
        "user_notification_schedule": {"enabled": False, **_DAY},
        "use_logo_small_as_avatar": False,
        "featured_user_badge_ids": [],
        "invited_by": None,
        "groups": [],
        "group_users": [],
    }
    if can_edit:
        data["user_option"] = _user_option(user)
    return {"user_badges": [], "user": data}
