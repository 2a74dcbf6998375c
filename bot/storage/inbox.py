"""Messages already handled: the exactly-once guard for incoming commands."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, delete

from bot.storage.schema import inbox
from bot.storage.sql import insert_if_absent

_PRUNE = delete(inbox).where(inbox.c.handled_at < bindparam("older_than"))


class InboxRepo:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def claim(self, platform: str, message_id: str, now: datetime) -> bool:
        """True the first time a message is claimed, False ever after.

        Claim in the same unit as the command's writes: if the unit rolls back,
        the claim does too and the message can be handled again.
        """
        stmt = insert_if_absent(self._conn.dialect.name, inbox)
        params = {"platform": platform, "message_id": message_id, "handled_at": now}
        return self._conn.execute(stmt, params).first() is not None

    def prune(self, older_than: datetime) -> int:
        """Forget messages handled before ``older_than``; returns how many."""
        return self._conn.execute(_PRUNE, {"older_than": older_than}).rowcount
