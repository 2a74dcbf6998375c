"""Mentions by polling ``/notifications.json``: one request per idle cycle.

The bot's notifications carry increasing ids; the newest id handled is kept
as a cursor in the database (``store.unit().cursors``), so a restart neither
repeats nor skips a mention. On the very first start the cursor is set to
the newest notification: the bot does not answer the forum's history.

Three types are acted on: ``mentioned`` (1), ``replied`` (2) and
``private_message`` (6). Discourse collapses replies and private messages to
one notification per topic, pointing at the first unread post, so for those
the posts between that one and the newest are read too. A ``mentioned``
notification for a post that was edited, and that arrived more than
``EDIT_GRACE`` after the post was written, comes from the edit: ignored, as
the webhook ignores ``post_edited``. Whatever is handled twice (by both
paths, or again after a crash) is dropped by the dispatcher's inbox claim on
the post id.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from bot.adapters.discourse_api import DiscourseApi
from bot.adapters.discourse_text import ANSWERED_TYPES, MENTIONED, NotificationView, PostView
from bot.errors import AdapterError, RateLimited
from bot.storage import Store

log = logging.getLogger(__name__)

EDIT_GRACE = timedelta(seconds=60)
MAX_PAGES = 10  # after a long outage: at most this many pages of notifications are read back
MAX_BACKOFF = 60.0

OnPost = Callable[[PostView, int], Awaitable[None]]  # (post, notification type)
Handled = Callable[[int], int | None]  # post id → its post number, if already handled (by the webhook)


def from_edit(notification: NotificationView, post: PostView) -> bool:
    """A mention Discourse sent because an edit added it, not because the post was written so."""
    if notification.notification_type != MENTIONED or post.version <= 1:
        return False
    if notification.created_at is None or post.created_at is None:
        return False
    return notification.created_at - post.created_at > EDIT_GRACE


class NotificationPoller:
    def __init__(self, api: DiscourseApi, store: Store, *, cursor_name: str, interval: float,
                 on_post: OnPost, handled: Handled) -> None:
        self.api = api
        self.store = store
        self.cursor_name = cursor_name
        self.interval = interval
        self.on_post = on_post
        self.handled = handled
        self.on_recovered: Callable[[], None] | None = None  # the forum answers again after failures
        self.cursor: int | None = None
        self._lock = asyncio.Lock()  # one cycle at a time, however it is started
        self.last_failure: tuple[float, str] | None = None  # (monotonic time, why) while polls fail

    # cursor -----------------------------------------------------------------------

    async def prime(self) -> None:
        """Load the cursor, or start it at the newest notification on a first start."""
        with self.store.unit() as unit:
            saved = unit.cursors.get(self.cursor_name)
        if saved is not None:
            self.cursor = int(saved)
            return
        page = await self.api.notifications()
        self._save(max((n.id for n in page), default=0))
        log.info("discourse: first start, answering notifications after #%d", self.cursor)

    def _save(self, cursor: int) -> None:
        self.cursor = cursor
        with self.store.unit() as unit:
            unit.cursors.set(self.cursor_name, str(cursor))

    # loop ---------------------------------------------------------------------------

    async def run(self) -> None:
        failures = 0
        while True:
            try:
                await self.cycle()
                self.last_failure = None
                if failures and self.on_recovered:
                    self.on_recovered()
                failures, delay = 0, self.interval
            except RateLimited as err:
                delay = max(self.interval, err.retry_after)
                log.warning("discourse: polling paused %.1fs by the rate limit", delay)
            except Exception as err:  # the loop outlives a forum that is away (AdapterError) and bugs (traceback)
                failures += 1
                self.last_failure = (time.monotonic(), str(err) or type(err).__name__)
                delay = min(MAX_BACKOFF, self.interval * 2 ** failures)
                log.warning("discourse: poll failed (%d in a row), next in %.1fs: %s", failures, delay, err,
                            exc_info=not isinstance(err, AdapterError))
            await asyncio.sleep(delay)  # pacing, and waiting out Retry-After: not synchronisation

    async def cycle(self) -> int:
        """Read new notifications and hand their posts on; returns how many were new."""
        async with self._lock:
            if self.cursor is None:
                await self.prime()
            assert self.cursor is not None
            start = self.cursor
            fresh = await self._fresh(start)
            try:
                for notification in fresh:
                    try:
                        await self._handle(notification)
                    except ValueError as err:  # a post or topic Discourse sent in a shape we cannot read
                        log.warning("discourse: notification %d skipped: %s", notification.id, err)
                    self.cursor = notification.id
            finally:
                if self.cursor != start:
                    self._save(self.cursor)
            return len(fresh)

    async def _fresh(self, cursor: int) -> list[NotificationView]:
        """Notifications newer than ``cursor``, oldest first; one request when there are none."""
        found: list[NotificationView] = []
        offset = 0
        for _ in range(MAX_PAGES):
            page = await self.api.notifications(offset)
            found += [n for n in page if n.id > cursor]
            if not page or min(n.id for n in page) <= cursor:
                break
            offset += len(page)
        return sorted({n.id: n for n in found}.values(), key=lambda n: n.id)

    async def _handle(self, notification: NotificationView) -> None:
        kind, first = notification.notification_type, notification.post_number
        if kind not in ANSWERED_TYPES or notification.original_post_id is None:
            return
        number = self.handled(notification.original_post_id)
        if number is not None and (kind == MENTIONED or first is None or first >= number):
            return  # already handled through the webhook, with nothing collapsed before it: no request
        post = await self.api.post(notification.original_post_id)
        if post is None:
            return  # deleted, or no longer visible to the bot
        if from_edit(notification, post):
            log.info("discourse: mention added by an edit to post %d ignored", post.id)
            return
        for earlier in await self._collapsed(notification, post):
            await self.on_post(earlier, kind)
        if self.handled(post.id) is None:
            await self.on_post(post, kind)

    async def _collapsed(self, notification: NotificationView, post: PostView) -> list[PostView]:
        """Posts a collapsed reply/private-message notification stands for, before its newest."""
        first = notification.post_number
        if notification.notification_type == MENTIONED or first is None or first >= post.post_number:
            return []
        between = [pid for number, pid in await self.api.post_ids_after(post.topic_id, first - 1)
                   if first <= number < post.post_number and self.handled(pid) is None]
        posts = [await self.api.post(pid) for pid in between]
        return [p for p in posts if p is not None]
