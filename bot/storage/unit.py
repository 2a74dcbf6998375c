"""A unit of work: one transaction and the repositories that write through it."""
from __future__ import annotations

from sqlalchemy import Connection

from bot.storage.agenda import AgendaRepo
from bot.storage.calls import CallRepo
from bot.storage.cursors import CursorRepo
from bot.storage.inbox import InboxRepo
from bot.storage.outbox import OutboxRepo
from bot.storage.reminders import ReminderRepo
from bot.storage.users import ChannelRepo, PrefsCache, UserRepo


class Unit:
    """Everything done through one ``Unit`` commits together or not at all.

    Get one from ``Store.unit()``; do not keep it past its ``with`` block.
    """

    __slots__ = ("users", "channels", "calls", "reminders", "inbox", "outbox", "cursors", "agenda")

    def __init__(self, conn: Connection, prefs: PrefsCache | None = None) -> None:
        self.users = UserRepo(conn, prefs)
        self.channels = ChannelRepo(conn)
        self.calls = CallRepo(conn)
        self.reminders = ReminderRepo(conn)
        self.inbox = InboxRepo(conn)
        self.outbox = OutboxRepo(conn)
        self.cursors = CursorRepo(conn)
        self.agenda = AgendaRepo(conn)
