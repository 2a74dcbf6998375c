"""A unit of work: one transaction and the repositories that write through it."""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection

from bot.storage.agenda import AgendaRepo
from bot.storage.calls import CallRepo
from bot.storage.cursors import CursorRepo
from bot.storage.decisions import DecisionRepo
from bot.storage.inbox import InboxRepo
from bot.storage.outbox import OutboxRepo
from bot.storage.proposals import ProposalRepo
from bot.storage.reminders import ReminderRepo
from bot.storage.users import ChannelRepo, PrefsCache, UserRepo


class Unit:
    """Everything done through one ``Unit`` commits together or not at all.

    Get one from ``Store.unit()``; do not keep it past its ``with`` block.
    """

    __slots__ = ("users", "channels", "calls", "reminders", "inbox", "outbox", "cursors", "agenda", "decisions",
                 "proposals", "_undo")

    def __init__(self, conn: Connection, prefs: PrefsCache | None = None) -> None:
        self.users = UserRepo(conn, prefs)
        self.channels = ChannelRepo(conn)
        self.calls = CallRepo(conn)
        self.reminders = ReminderRepo(conn)
        self.inbox = InboxRepo(conn)
        self.outbox = OutboxRepo(conn)
        self.cursors = CursorRepo(conn)
        self.agenda = AgendaRepo(conn)
        self.decisions = DecisionRepo(conn)
        self.proposals = ProposalRepo(conn)
        self._undo: list[Callable[[], None]] = []

    def on_rollback(self, undo: Callable[[], None]) -> None:
        """Call ``undo`` if this unit does not commit: to put back in memory what was taken out
        to be written here."""
        self._undo.append(undo)

    def rolled_back(self) -> None:
        """Run the ``on_rollback`` callbacks, once (the ``Store`` calls this)."""
        undo, self._undo = self._undo, []
        for callback in undo:
            callback()
