"""coopbot's storage: a ``Store`` of units of work over repositories of frozen records.

    store = Store("sqlite:///coopbot.db")
    store.migrate()
    with store.unit() as u:
        if u.inbox.claim(platform, message_id, now):
            call = u.calls.add(...)
            u.outbox.enqueue(...)
"""
from bot.storage.agenda import AgendaRepo
from bot.storage.calls import CallRepo
from bot.storage.cursors import CursorRepo
from bot.storage.decisions import DecisionFilter, DecisionRepo
from bot.storage.inbox import InboxRepo
from bot.storage.outbox import OutboxRepo
from bot.storage.proposals import ProposalRepo
from bot.storage.records import (
    AgendaItem,
    Call,
    CallStatus,
    Decision,
    DecisionStatus,
    DecisionLine,
    DecisionVersion,
    Outcome,
    OutboxItem,
    Position,
    Proposal,
    ProposalStatus,
    RecordNotFound,
    Reminder,
    Stance,
    UserPrefs,
)
from bot.storage.reminders import ReminderRepo
from bot.storage.store import Store
from bot.storage.unit import Unit
from bot.storage.users import ChannelRepo, UserRepo

__all__ = [
    "AgendaItem",
    "AgendaRepo",
    "Call",
    "CallRepo",
    "CallStatus",
    "ChannelRepo",
    "CursorRepo",
    "Decision",
    "DecisionFilter",
    "DecisionRepo",
    "DecisionStatus",
    "DecisionLine",
    "DecisionVersion",
    "InboxRepo",
    "Outcome",
    "OutboxItem",
    "OutboxRepo",
    "Position",
    "Proposal",
    "ProposalRepo",
    "ProposalStatus",
    "RecordNotFound",
    "Reminder",
    "ReminderRepo",
    "Stance",
    "Store",
    "Unit",
    "UserPrefs",
    "UserRepo",
]
