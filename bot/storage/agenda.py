"""A call's agenda: numbered items, in the order they were added.

Positions are 1, 2, 3… with no gaps: removing an item renumbers the ones
after it. Every change first locks the call's row (``SELECT … FOR UPDATE`` on
PostgreSQL; SQLite has one writer at a time anyway), so two people adding at
once get consecutive positions, never the same one.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, delete, func, insert, select, update

from bot.storage.records import AgendaItem, RecordNotFound
from bot.storage.schema import agenda_items, calls

_LOCK_CALL = select(calls.c.id).where(calls.c.id == bindparam("call_id")).with_for_update()
_FOR_CALL = (
    select(agenda_items)
    .where(agenda_items.c.call_id == bindparam("call_id"))
    .order_by(agenda_items.c.position, agenda_items.c.id)
)
_FOR_CALLS = (
    select(agenda_items)
    .where(agenda_items.c.call_id.in_(bindparam("call_ids", expanding=True)))
    .order_by(agenda_items.c.call_id, agenda_items.c.position, agenda_items.c.id)
)
_LAST_POSITION = select(func.coalesce(func.max(agenda_items.c.position), 0)).where(
    agenda_items.c.call_id == bindparam("call_id")
)
_INSERT = insert(agenda_items)
_AT = select(agenda_items).where(
    agenda_items.c.call_id == bindparam("call_id"), agenda_items.c.position == bindparam("at")
)
_DELETE = delete(agenda_items).where(agenda_items.c.id == bindparam("item_id"))
_CLOSE_GAP = (
    update(agenda_items)
    .where(agenda_items.c.call_id == bindparam("of_call"), agenda_items.c.position > bindparam("after"))
    .values(position=agenda_items.c.position - 1)
)  # "of_call": an UPDATE's bind names may not be column names


def _item(row: Row[Any]) -> AgendaItem:
    return AgendaItem(**row._mapping)


class AgendaRepo:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def for_call(self, call_id: int) -> list[AgendaItem]:
        """The call's items, by position."""
        return [_item(row) for row in self._conn.execute(_FOR_CALL, {"call_id": call_id})]

    def for_calls(self, call_ids: Sequence[int]) -> dict[int, list[AgendaItem]]:
        """The items of each of the calls (those with any), by position."""
        found: dict[int, list[AgendaItem]] = {}
        for row in self._conn.execute(_FOR_CALLS, {"call_ids": list(call_ids)}):
            item = _item(row)
            found.setdefault(item.call_id, []).append(item)
        return found

    def add(self, call_id: int, texts: Sequence[str], *, added_by: str, now: datetime,
            source: str | None = None) -> list[AgendaItem]:
        """Append ``texts`` after the call's last item, in order; returns the new items.

        Raises ``RecordNotFound`` if there is no such call.
        """
        self._lock(call_id)
        if not texts:
            return []
        last: int = self._conn.execute(_LAST_POSITION, {"call_id": call_id}).scalar_one()
        self._conn.execute(_INSERT, [
            {"call_id": call_id, "position": last + n, "text": text, "added_by": added_by,
             "created_at": now, "source": source}
            for n, text in enumerate(texts, 1)
        ])
        return [item for item in self.for_call(call_id) if item.position > last]

    def remove(self, call_id: int, position: int) -> AgendaItem | None:
        """Remove the item at ``position`` and move the later ones up; None if there is none there.

        Raises ``RecordNotFound`` if there is no such call.
        """
        self._lock(call_id)
        row = self._conn.execute(_AT, {"call_id": call_id, "at": position}).first()
        if row is None:
            return None
        removed = _item(row)
        self._conn.execute(_DELETE, {"item_id": removed.id})
        self._conn.execute(_CLOSE_GAP, {"of_call": call_id, "after": position})
        return removed

    def _lock(self, call_id: int) -> None:
        if self._conn.execute(_LOCK_CALL, {"call_id": call_id}).first() is None:
            raise RecordNotFound("calls", call_id)
