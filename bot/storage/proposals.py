"""Consent proposals and every position taken on them.

Positions are only ever added: a member's latest is their position (``current``,
pointing at the one it ``replaces``), the earlier ones are its history, so the
positions standing are read without walking the history. Closing and reminding are claims (an ``UPDATE``
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
_STANDING = _POSITIONS.where(proposal_positions.c.current.is_(True))
_BY_IDS = select(proposal_positions).where(proposal_positions.c.id.in_(bindparam("ids", expanding=True)))
_RETIRE = (
    update(proposal_positions)
    .where(proposal_positions.c.proposal_id == bindparam("of_proposal"),
           proposal_positions.c.member_id == bindparam("of_member"), proposal_positions.c.current.is_(True))
    .values(current=False)
    .returning(*proposal_positions.c)
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

_OPENED_SINCE = select(proposals).where(proposals.c.created_at >= bindparam("since")).order_by(proposals.c.id)
_CLOSED_SINCE = (
    select(proposals).where(proposals.c.closed_at >= bindparam("since")).order_by(proposals.c.closed_at, proposals.c.id)
)


def _proposal(row: Row[Any]) -> Proposal:
    fields = dict(row._mapping)
    fields["status"] = ProposalStatus(fields["status"])
    fields["outcome"] = Outcome(fields["outcome"]) if fields["outcome"] else None
    fields["members"] = tuple(fields["members"])
    return Proposal(**fields)


_STANCES = {stance.value: stance for stance in Stance}
_STANCE_AT = [column.name for column in proposal_positions.c].index("stance")


def _position(row: Row[Any]) -> Position:
    """By position: the table's columns are ``Position``'s fields in order (a council's positions
    are read whole, so this is the hot path of showing and closing a proposal)."""
    values = list(row)
    values[_STANCE_AT] = _STANCES[values[_STANCE_AT]]
    return Position(*values)


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
                      reason: str | None, now: datetime) -> tuple[Position, Position | None]:
        """Add the member's position and the one it replaces, which stays as history."""
        retired = self._conn.execute(_RETIRE, {"of_proposal": proposal_id, "of_member": member_id}).one_or_none()
        row = self._conn.execute(_ADD_POSITION, {
            "proposal_id": proposal_id, "member_id": member_id, "member_name": member_name,
            "stance": stance.value, "reason": reason, "taken_at": now, "current": True,
            "replaces_id": retired.id if retired is not None else None,
        }).one()
        return _position(row), _position(retired) if retired is not None else None

    def positions(self, proposal_id: int) -> list[Position]:
        """Every position taken on the proposal, the first first (changes included)."""
        return [_position(row) for row in self._conn.execute(_POSITIONS, {"proposal_id": proposal_id})]

    def standing(self, proposal_id: int) -> list[tuple[Position, Position | None]]:
        """Each member's position and the one it replaced, in the order they were taken."""
        current = [_position(row) for row in self._conn.execute(_STANDING, {"proposal_id": proposal_id})]
        earlier = [p.replaces_id for p in current if p.replaces_id is not None]
        replaced = ({row.id: _position(row) for row in self._conn.execute(_BY_IDS, {"ids": earlier})}
                    if earlier else {})
        return [(p, replaced.get(p.replaces_id) if p.replaces_id is not None else None) for p in current]

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

    def opened_since(self, since: datetime) -> list[Proposal]:
        """Proposals opened at or after ``since`` (some may be closed by now), in order."""
        return [_proposal(row) for row in self._conn.execute(_OPENED_SINCE, {"since": since})]

    def closed_since(self, since: datetime) -> list[Proposal]:
        """Proposals closed at or after ``since``, in the order they closed."""
        return [_proposal(row) for row in self._conn.execute(_CLOSED_SINCE, {"since": since})]

    def still_open(self) -> list[Proposal]:
        """Every open proposal, the earliest deadline first (their jobs are re-planned from these)."""
        return [_proposal(row) for row in self._conn.execute(_STILL_OPEN)]
