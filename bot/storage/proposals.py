"""Consent proposals and every position taken on them.

Positions are only ever added: a member's latest is their position, the
earlier ones are its history. Closing and reminding are claims (an ``UPDATE``
that only the first caller's transaction makes), so a deadline or a reminder
acts once whichever way its job arrives (stored job, start-up rescan, both).
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, insert, select, update

from bot.storage.records import Outcome, Position, Proposal, ProposalStatus, Stance
from bot.storage.schema import proposal_positions, proposals

_OPEN = insert(proposals).returning(*proposals.c)
_GET = select(proposals).where(proposals.c.id == bindparam("proposal_id"))
_LOCK = _GET.with_for_update()
_ADD_POSITION = insert(proposal_positions).returning(*proposal_positions.c)
_POSITIONS = (
    select(proposal_positions)
    .where(proposal_positions.c.proposal_id == bindparam("proposal_id"))
    .order_by(proposal_positions.c.id)
)
_CLOSE = (
    update(proposals)
    .where(proposals.c.id == bindparam("proposal_id"), proposals.c.status == ProposalStatus.OPEN.value)
    .returning(*proposals.c)
)
_CLAIM_REMINDER = (
    update(proposals)
    .where(proposals.c.id == bindparam("proposal_id"), proposals.c.status == ProposalStatus.OPEN.value,
           proposals.c.reminded_at.is_(None))
    .returning(*proposals.c)
)
_STILL_OPEN = (
    select(proposals).where(proposals.c.status == ProposalStatus.OPEN.value)
    .order_by(proposals.c.deadline_at, proposals.c.id)
)


def _proposal(row: Row[Any]) -> Proposal:
    fields = dict(row._mapping)
    fields["status"] = ProposalStatus(fields["status"])
    fields["outcome"] = Outcome(fields["outcome"]) if fields["outcome"] else None
    fields["members"] = tuple(fields["members"])
    return Proposal(**fields)


def _position(row: Row[Any]) -> Position:
    fields = dict(row._mapping)
    fields["stance"] = Stance(fields["stance"])
    return Position(**fields)


class ProposalRepo:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def open(self, *, text: str, quorum: int, members: Sequence[str], deadline_at: datetime,
             remind_at: datetime | None, by: str, by_id: str, platform: str, channel_id: str, lang: str,
             thread_id: str | None = None, channel_name: str | None = None, link: str | None = None,
             now: datetime) -> Proposal:
        row = self._conn.execute(_OPEN, {
            "text": text, "status": ProposalStatus.OPEN.value, "outcome": None, "quorum": quorum,
            "members": list(members), "deadline_at": deadline_at, "remind_at": remind_at, "reminded_at": None,
            "platform": platform, "channel_id": channel_id, "thread_id": thread_id, "channel_name": channel_name,
            "link": link, "lang": lang, "created_by": by, "created_by_id": by_id, "created_at": now,
            "closed_at": None, "closed_by": None, "decision_id": None,
        }).one()
        return _proposal(row)

    def get(self, proposal_id: int, *, lock: bool = False) -> Proposal | None:
        """The proposal; ``lock``: held until the unit ends, so positions and closing do not cross."""
        row = self._conn.execute(_LOCK if lock else _GET, {"proposal_id": proposal_id}).one_or_none()
        return None if row is None else _proposal(row)

    def take_position(self, proposal_id: int, *, member_id: str, member_name: str, stance: Stance,
                      reason: str | None, now: datetime) -> Position:
        """Add the member's position; it replaces their earlier one, which stays as history."""
        row = self._conn.execute(_ADD_POSITION, {
            "proposal_id": proposal_id, "member_id": member_id, "member_name": member_name,
            "stance": stance.value, "reason": reason, "taken_at": now,
        }).one()
        return _position(row)

    def positions(self, proposal_id: int) -> list[Position]:
        """Every position taken on the proposal, the first first (changes included)."""
        return [_position(row) for row in self._conn.execute(_POSITIONS, {"proposal_id": proposal_id})]

    def close(self, proposal_id: int, *, outcome: Outcome, decision_id: int, by: str | None,
              now: datetime) -> Proposal | None:
        """Close an open proposal; None if it was already closed (or does not exist)."""
        row = self._conn.execute(_CLOSE, {
            "proposal_id": proposal_id, "status": ProposalStatus.CLOSED.value, "outcome": outcome.value,
            "decision_id": decision_id, "closed_by": by, "closed_at": now,
        }).one_or_none()
        return None if row is None else _proposal(row)

    def claim_reminder(self, proposal_id: int, now: datetime) -> Proposal | None:
        """Mark the proposal reminded; returns it only to the one caller that did so, while it is open."""
        row = self._conn.execute(_CLAIM_REMINDER, {"proposal_id": proposal_id, "reminded_at": now}).one_or_none()
        return None if row is None else _proposal(row)

    def still_open(self) -> list[Proposal]:
        """Every open proposal, the earliest deadline first (their jobs are re-planned from these)."""
        return [_proposal(row) for row in self._conn.execute(_STILL_OPEN)]
