"""What the repositories hand out: frozen records, never ORM or Core rows.

A record is a fact read inside a unit; it stays valid (and immutable) after the
unit has committed or rolled back. Every ``*_at`` field is an aware UTC datetime.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.errors import StorageError


class CallStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class UserPrefs:
    platform: str
    user_id: str
    zone: str | None  # an IANA name or offset text, as the user gave it
    lang: str | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Call:
    id: int
    title: str
    starts_at: datetime
    duration_minutes: int
    coops: tuple[str, ...]
    created_by: str
    platform: str
    channel_id: str
    thread_id: str | None
    status: CallStatus
    created_at: datetime
    updated_at: datetime
    lang: str | None = None


@dataclass(frozen=True, slots=True)
class Reminder:
    id: int
    call_id: int
    offset_minutes: int  # minutes before the call starts
    due_at: datetime
    fired_at: datetime | None


@dataclass(frozen=True, slots=True)
class AgendaItem:
    id: int
    call_id: int
    position: int  # 1-based; the number people use ("agenda remove 2")
    text: str
    added_by: str
    created_at: datetime
    source: str | None  # where it was read from ("post 3"), None when typed in


class DecisionStatus(StrEnum):
    ACTIVE = "active"
    RETRACTED = "retracted"


@dataclass(frozen=True, slots=True)
class Decision:
    id: int
    text: str  # the current version's, as written
    status: DecisionStatus
    version: int  # the current version's number; 1 until it is edited or retracted
    call_id: int | None
    tags: tuple[str, ...]  # lower-case, without "#", sorted
    platform: str
    channel_id: str
    thread_id: str | None
    channel_name: str | None
    link: str | None  # the post it was recorded in, where the platform gives links
    created_by: str
    created_by_id: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class DecisionLine:
    """What a digest shows of a decision."""

    id: int
    text: str
    status: DecisionStatus
    created_by: str
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DecisionVersion:
    decision_id: int
    version: int
    text: str
    status: DecisionStatus
    changed_by: str
    changed_by_id: str
    changed_at: datetime


class ProposalStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Outcome(StrEnum):
    """How a proposal closed, in the order the rules are tried."""

    BLOCKED = "blocked"  # any block
    OBJECTIONS = "objections"  # not consented: objections stand
    NO_QUORUM = "no_quorum"  # fewer positions (abstentions count) than the quorum
    CONSENTED = "consented"


class Stance(StrEnum):
    AGREE = "agree"
    ABSTAIN = "abstain"
    OBJECT = "object"
    BLOCK = "block"


@dataclass(frozen=True, slots=True)
class Proposal:
    id: int
    text: str
    status: ProposalStatus
    outcome: Outcome | None  # set when closed
    quorum: int
    members: tuple[str, ...]  # usernames named with "with", as written, without "@"
    deadline_at: datetime
    remind_at: datetime | None  # None: no reminder
    reminded_at: datetime | None
    platform: str
    channel_id: str
    thread_id: str | None
    channel_name: str | None
    link: str | None
    lang: str
    created_by: str
    created_by_id: str
    created_at: datetime
    closed_at: datetime | None
    closed_by: str | None  # None while open, and when its deadline closed it
    decision_id: int | None  # the outcome as recorded in the decision log


@dataclass(frozen=True, slots=True)
class Position:
    id: int
    proposal_id: int
    member_id: str
    member_name: str
    stance: Stance
    reason: str | None
    taken_at: datetime
    current: bool  # the member's latest: their position now
    replaces_id: int | None  # the member's position before this one


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    platform: str
    channel_id: str
    thread_id: str | None
    text: str
    created_at: datetime
    attempts: int
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None
    posted_ids: str | None = None  # the platform's ids of the parts posted so far, a JSON list

    @property
    def posted(self) -> tuple[str, ...]:
        """The platform's ids of the parts already posted, in order."""
        return tuple(str(i) for i in json.loads(self.posted_ids)) if self.posted_ids else ()


class RecordNotFound(StorageError):
    """A repository was asked to change a row that does not exist."""

    def __init__(self, table: str, key: object) -> None:
        super().__init__(f"no {table} row with key {key!r}")
        self.table = table
        self.key = key
