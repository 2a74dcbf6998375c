"""Messages already handled: the exactly-once guard for incoming commands."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, delete

from bot.storage.driver import db_time, execute
from bot.storage.schema import inbox

_CLAIM = (  # RETURNING, not rowcount: rows come back only for an insert, on both databases
    "INSERT INTO inbox (platform, message_id, handled_at) VALUES (?, ?, ?)"
    " ON CONFLICT (platform, message_id) DO NOTHING RETURNING message_id"
)
_PRUNE = delete(inbox).where(inbox.c.handled_at < bindparam("older_than"))


class InboxRepo:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def claim(self, platform: str, message_id: str, now: datetime) -> bool:
        """True the first time a message is claimed, False ever after.

        Claim in the same unit as the command's writes: if the unit rolls back,
        the claim does too and the message can be handled again.
        """
        cursor = execute(self._conn, _CLAIM, (platform, message_id, db_time(self._conn, now)))
        return cursor.fetchone() is not None

    def prune(self, older_than: datetime) -> int:
        """Forget messages handled before ``older_than``; returns how many."""
        return self._conn.execute(_PRUNE, {"older_than": older_than}).rowcount
