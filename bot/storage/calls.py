"""Scheduled calls between cooperatives."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, delete, insert, select, update

from bot.storage.records import Call, CallStatus, RecordNotFound
from bot.storage.schema import calls, reminders

_ADD = insert(calls).returning(*calls.c)
_GET = select(calls).where(calls.c.id == bindparam("call_id"))
_UPCOMING = (
    select(calls)
    .where(calls.c.status == CallStatus.SCHEDULED.value, calls.c.starts_at >= bindparam("now"))
    .order_by(calls.c.starts_at, calls.c.id)
    .limit(bindparam("limit"))
)
_BETWEEN = (
    select(calls)
    .where(calls.c.status == CallStatus.SCHEDULED.value, calls.c.starts_at >= bindparam("start"),
           calls.c.starts_at < bindparam("end"))
    .order_by(calls.c.starts_at, calls.c.id)
)
_NEXT_IN_CHANNEL = _UPCOMING.where(calls.c.platform == bindparam("platform"),
                                   calls.c.channel_id == bindparam("channel_id"))
_NEXT_IN_THREAD = _NEXT_IN_CHANNEL.where(calls.c.thread_id == bindparam("thread_id"))
_STARTED_IN_CHANNEL = (
    select(calls)
    .where(calls.c.status == CallStatus.SCHEDULED.value, calls.c.platform == bindparam("platform"),
           calls.c.channel_id == bindparam("channel_id"),
           calls.c.starts_at <= bindparam("now"), calls.c.starts_at >= bindparam("since"))
    .order_by(calls.c.starts_at.desc(), calls.c.id.desc())
    .limit(1)
)
_UPDATE = update(calls).where(calls.c.id == bindparam("call_id")).returning(*calls.c)  # SET: the other params
_DROP_UNFIRED_REMINDERS = delete(reminders).where(
    reminders.c.call_id == bindparam("call_id"), reminders.c.fired_at.is_(None)
)


def _call(row: Row[Any]) -> Call:
    fields = dict(row._mapping)
    fields["coops"] = tuple(fields["coops"])
    fields["status"] = CallStatus(fields["status"])
    return Call(**fields)


class CallRepo:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(
        self,
        *,
        title: str,
        starts_at: datetime,
        duration_minutes: int,
        coops: Sequence[str],
        created_by: str,
        platform: str,
        channel_id: str,
        thread_id: str | None = None,
        lang: str | None = None,
        now: datetime,
    ) -> Call:
        row = self._conn.execute(_ADD, {
            "title": title,
            "starts_at": starts_at,
            "duration_minutes": duration_minutes,
            "coops": list(coops),
            "created_by": created_by,
            "platform": platform,
            "channel_id": channel_id,
            "thread_id": thread_id,
            "lang": lang,
            "status": CallStatus.SCHEDULED.value,
            "created_at": now,
            "updated_at": now,
        }).one()
        return _call(row)

    def get(self, call_id: int) -> Call | None:
        row = self._conn.execute(_GET, {"call_id": call_id}).one_or_none()
        return None if row is None else _call(row)

    def upcoming(self, now: datetime, limit: int) -> list[Call]:
        """Scheduled calls starting at or after ``now``, soonest first."""
        return [_call(row) for row in self._conn.execute(_UPCOMING, {"now": now, "limit": limit})]

    def between(self, start: datetime, end: datetime) -> list[Call]:
        """Scheduled calls starting in [``start``, ``end``), soonest first."""
        return [_call(row) for row in self._conn.execute(_BETWEEN, {"start": start, "end": end})]

    def next_scheduled(self, now: datetime, *, platform: str | None = None, channel_id: str | None = None,
                       thread_id: str | None = None) -> Call | None:
        """The soonest scheduled call starting at or after ``now``.

        With ``platform`` and ``channel_id``, only a call scheduled in that
        channel; with ``thread_id`` too, only one scheduled in that thread.
        """
        params: dict[str, Any] = {"now": now, "limit": 1}
        stmt = _UPCOMING
        if platform is not None and channel_id is not None:
            params.update(platform=platform, channel_id=channel_id)
            stmt = _NEXT_IN_CHANNEL
            if thread_id is not None:
                params["thread_id"] = thread_id
                stmt = _NEXT_IN_THREAD
        row = self._conn.execute(stmt, params).first()
        return None if row is None else _call(row)

    def latest_started(self, now: datetime, since: datetime, *, platform: str, channel_id: str) -> Call | None:
        """The scheduled call of that channel that started last, between ``since`` and ``now``."""
        row = self._conn.execute(_STARTED_IN_CHANNEL, {"now": now, "since": since, "platform": platform,
                                                       "channel_id": channel_id}).first()
        return None if row is None else _call(row)

    def move(self, call_id: int, starts_at: datetime, now: datetime) -> Call:
        """Change the start; the caller then replaces the call's reminders."""
        return self._update(call_id, starts_at=starts_at, updated_at=now)

    def cancel(self, call_id: int, now: datetime) -> Call:
        """Mark the call cancelled and drop its reminders that have not fired."""
        self._conn.execute(_DROP_UNFIRED_REMINDERS, {"call_id": call_id})
        return self._update(call_id, status=CallStatus.CANCELLED.value, updated_at=now)

    def _update(self, call_id: int, **values: Any) -> Call:
        row = self._conn.execute(_UPDATE, {"call_id": call_id, **values}).one_or_none()
        if row is None:
            raise RecordNotFound("calls", call_id)
        return _call(row)
