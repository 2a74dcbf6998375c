"""Reminders before a call, and the claim that makes each fire exactly once."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, delete, insert, select, update

from bot.storage.records import Reminder
from bot.storage.schema import reminders

_ORDER = (reminders.c.due_at, reminders.c.id)
_FOR_CALL = select(reminders).where(reminders.c.call_id == bindparam("call_id")).order_by(*_ORDER)
_PENDING = select(reminders).where(reminders.c.fired_at.is_(None)).order_by(*_ORDER)
_DELETE = delete(reminders).where(reminders.c.id.in_(bindparam("ids", expanding=True)))
_INSERT = insert(reminders)
_CLAIM = (
    update(reminders)
    .where(reminders.c.id == bindparam("reminder_id"), reminders.c.fired_at.is_(None))
    .returning(*reminders.c)
)


def _reminder(row: Row[Any]) -> Reminder:
    return Reminder(**row._mapping)


class ReminderRepo:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def for_call(self, call_id: int) -> list[Reminder]:
        """All of a call's reminders, fired or not, earliest due first."""
        return [_reminder(row) for row in self._conn.execute(_FOR_CALL, {"call_id": call_id})]

    def pending(self) -> list[Reminder]:
        """Every reminder not yet fired, earliest due first."""
        return [_reminder(row) for row in self._conn.execute(_PENDING)]

    def replace_for_call(self, call_id: int, due: Sequence[tuple[int, datetime]]) -> list[Reminder]:
        """Make the call's reminders ``due`` (pairs of offset minutes and due time).

        Unfired reminders not in ``due`` are deleted. A reminder whose offset and
        due time are unchanged is kept as it is, fired or not, so replacing twice
        never fires twice. One at a known offset with a new due time (the call
        moved) is deleted and a fresh, unfired one takes its place, with a new id.
        Fired reminders at offsets not in ``due`` stay as history.

        Returns the reminders for ``due``, earliest due first; schedule a job for
        each one whose ``fired_at`` is None (and cancel the jobs of old ids).
        """
        wanted = dict(due)
        if len(wanted) != len(due):
            raise ValueError(f"reminder offsets repeat: {sorted(offset for offset, _ in due)}")
        existing = {r.offset_minutes: r for r in self.for_call(call_id)}
        kept = {o for o, r in existing.items() if o in wanted and r.due_at == wanted[o]}
        stale = [
            r.id for o, r in existing.items()
            if o not in kept and (o in wanted or r.fired_at is None)
        ]
        if stale:
            self._conn.execute(_DELETE, {"ids": stale})
        fresh = [
            {"call_id": call_id, "offset_minutes": o, "due_at": at}
            for o, at in wanted.items() if o not in kept
        ]
        if fresh:
            self._conn.execute(_INSERT, fresh)
        return [r for r in self.for_call(call_id) if r.offset_minutes in wanted]

    def claim(self, reminder_id: int, now: datetime) -> Reminder | None:
        """Mark the reminder fired; returns it only to the one caller that did so.

        A single ``UPDATE ... SET fired_at = now WHERE id = ? AND fired_at IS
        NULL``: whichever transaction changes the row wins (a row comes back),
        any other (another process, a repeated job, the start-up rescan) changes
        nothing and gets None, whatever the scheduler did. None too for a
        reminder that was deleted.
        """
        row = self._conn.execute(_CLAIM, {"reminder_id": reminder_id, "fired_at": now}).one_or_none()
        return None if row is None else _reminder(row)
