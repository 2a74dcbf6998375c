"""Replies on their way out, kept until a platform accepted them."""
from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, select, update

from bot.storage.driver import db_time, execute
from bot.storage.records import OutboxItem, RecordNotFound
from bot.storage.schema import outbox

# On every reply's path: driver-level (see bot/storage/driver.py).
_ENQUEUE = (
    "INSERT INTO outbox (platform, channel_id, thread_id, text, created_at, attempts, next_attempt_at)"
    " VALUES (?, ?, ?, ?, ?, 0, ?) RETURNING id"
)
_SENT = "UPDATE outbox SET sent_at = ?, attempts = attempts + 1, posted_ids = COALESCE(?, posted_ids) WHERE id = ?"
_POSTED = "UPDATE outbox SET posted_ids = ? WHERE id = ?"
# A platform's unsent items, oldest first (so a channel keeps its order).
_UNSENT_ON_PLATFORM = (
    select(outbox).where(outbox.c.platform == bindparam("platform"), outbox.c.sent_at.is_(None)).order_by(outbox.c.id)
)
_DUE = _UNSENT_ON_PLATFORM.where(outbox.c.next_attempt_at <= bindparam("now")).limit(bindparam("limit"))
_UNSENT = _UNSENT_ON_PLATFORM.where(
    outbox.c.created_at <= bindparam("queued_before"), outbox.c.next_attempt_at < bindparam("parked"),
)
# One more attempt; the other params (sent_at, or next_attempt_at and last_error) are SET too.
_ATTEMPTED = update(outbox).where(outbox.c.id == bindparam("item_id")).values(attempts=outbox.c.attempts + 1)
_DEPTH = select(outbox.c.platform, func.count()).where(outbox.c.sent_at.is_(None)).group_by(outbox.c.platform)
_PRUNE = delete(outbox).where(outbox.c.sent_at < bindparam("older_than"))


class OutboxRepo:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def enqueue(
        self, *, platform: str, channel_id: str, thread_id: str | None, text: str, now: datetime
    ) -> OutboxItem:
        at = db_time(self._conn, now)
        (item_id,) = execute(self._conn, _ENQUEUE, (platform, channel_id, thread_id, text, at, at)).fetchone()
        utc = now.astimezone(UTC)  # as the row reads back
        return OutboxItem(id=item_id, platform=platform, channel_id=channel_id, thread_id=thread_id, text=text,
                          created_at=utc, attempts=0, next_attempt_at=utc, sent_at=None, last_error=None)

    def get(self, item_id: int) -> OutboxItem:
        row = self._conn.execute(select(outbox).where(outbox.c.id == item_id)).first()
        if row is None:
            raise RecordNotFound("outbox", item_id)
        return OutboxItem(**row._mapping)

    def due(self, platform: str, now: datetime, limit: int) -> list[OutboxItem]:
        """Unsent items whose next attempt is due, oldest first (so a channel keeps its order)."""
        rows = self._conn.execute(_DUE, {"platform": platform, "now": now, "limit": limit})
        return [OutboxItem(**row._mapping) for row in rows]

    def unsent(self, platform: str, queued_before: datetime, parked: datetime) -> list[OutboxItem]:
        """Items queued up to ``queued_before`` and not sent, except those parked (retry at ``parked``)."""
        rows = self._conn.execute(_UNSENT, {"platform": platform, "queued_before": queued_before, "parked": parked})
        return [OutboxItem(**row._mapping) for row in rows]

    def mark_sent(self, item_id: int, now: datetime, posted: Sequence[str] | None = None) -> None:
        """Sent; ``posted``: the platform's ids of what it became (kept as they were if None)."""
        if execute(self._conn, _SENT, (db_time(self._conn, now), _ids(posted), item_id)).rowcount != 1:
            raise RecordNotFound("outbox", item_id)

    def mark_all_sent(self, items: Sequence[tuple[int, Sequence[str] | None]], now: datetime) -> None:
        """``mark_sent`` for each (id, posted ids); an id no longer in the outbox is skipped rather than
        raised, because these marks ride along in another write's transaction, which they must never fail."""
        at = db_time(self._conn, now)
        for item_id, posted in items:
            execute(self._conn, _SENT, (at, _ids(posted), item_id))

    def mark_posted(self, item_id: int, posted: Sequence[str]) -> None:
        """The parts posted so far (of a reply sent in several), so a retry goes on after them."""
        execute(self._conn, _POSTED, (_ids(posted), item_id))

    def mark_failed(self, item_id: int, now: datetime, retry_at: datetime, error: str) -> None:
        """Count a failed attempt; the item is due again at ``retry_at`` (never before ``now``)."""
        self._attempted(item_id, next_attempt_at=max(now, retry_at), last_error=error)

    def depth(self) -> dict[str, int]:
        """How many replies wait to be sent (parked ones included), by platform."""
        return {platform: count for platform, count in self._conn.execute(_DEPTH)}

    def prune(self, older_than: datetime) -> int:
        """Delete items sent before ``older_than``; returns how many."""
        return self._conn.execute(_PRUNE, {"older_than": older_than}).rowcount

    def _attempted(self, item_id: int, **values: Any) -> None:
        if self._conn.execute(_ATTEMPTED, {"item_id": item_id, **values}).rowcount != 1:
            raise RecordNotFound("outbox", item_id)


def _ids(posted: Sequence[str] | None) -> str | None:
    return None if posted is None else json.dumps(list(posted))
