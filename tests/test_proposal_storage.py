"""Consent proposals' storage, on SQLite and PostgreSQL (the fixtures of test_storage)."""
from __future__ import annotations

from dataclasses import fields
from datetime import timedelta

import pytest

from bot.errors import StorageError
from bot.storage import Outcome, Position, Proposal, ProposalStatus, Stance, Store, Unit
from bot.storage.schema import proposal_positions
from tests.test_decision_storage import record
from tests.test_storage import NOW


def open_proposal(u: Unit, *, days: int = 7, remind: bool = True, quorum: int = 2) -> Proposal:
    deadline = NOW + timedelta(days=days)
    return u.proposals.open(text="We adopt the shared hosting plan", quorum=quorum, members=("ana", "Bo"),
                            deadline_at=deadline, remind_at=deadline - timedelta(days=1) if remind else None,
                            by="ana", by_id="u1", platform="mattermost", channel_id="council", lang="es",
                            thread_id="p1", channel_name="council", link="https://chat.example.coop/coops/pl/p1",
                            now=NOW)


def test_a_proposal_is_stored_open_with_where_who_and_when(store: Store) -> None:
    with store.unit() as u:
        made = open_proposal(u)
    with store.unit() as u:
        got = u.proposals.get(made.id)
    assert got == made
    assert got is not None and got.status is ProposalStatus.OPEN and got.outcome is None
    assert (got.members, got.quorum, got.lang, got.thread_id) == (("ana", "Bo"), 2, "es", "p1")
    assert got.deadline_at == NOW + timedelta(days=7) and got.remind_at == NOW + timedelta(days=6)
    assert got.created_at == NOW and got.closed_at is None and got.decision_id is None


def test_every_position_is_kept_and_the_latest_of_each_member_stands(store: Store) -> None:
    def take(u: Unit, member: str, stance: Stance, hours: int, reason: str | None = None) -> None:
        u.proposals.take_position(made.id, member_id=f"id-{member}", member_name=member, stance=stance,
                                  reason=reason, now=NOW + timedelta(hours=hours))

    with store.unit() as u:
        made = open_proposal(u)
        take(u, "bo", Stance.OBJECT, 1, "too costly")
        take(u, "ana", Stance.AGREE, 2)
        take(u, "bo", Stance.ABSTAIN, 3)
        take(u, "bo", Stance.AGREE, 4)
    with store.unit() as u:
        history = u.proposals.positions(made.id)
        standing = u.proposals.standing(made.id)
    assert [(p.member_name, p.stance, p.reason, p.taken_at, p.current) for p in history] == [
        ("bo", Stance.OBJECT, "too costly", NOW + timedelta(hours=1), False),
        ("ana", Stance.AGREE, None, NOW + timedelta(hours=2), True),
        ("bo", Stance.ABSTAIN, None, NOW + timedelta(hours=3), False),
        ("bo", Stance.AGREE, None, NOW + timedelta(hours=4), True),
    ]
    assert standing == [(history[1], None), (history[3], history[2])]


def test_taking_a_position_returns_the_one_it_replaces(store: Store) -> None:
    with store.unit() as u:
        made = open_proposal(u)
        first, none = u.proposals.take_position(made.id, member_id="u2", member_name="bo", stance=Stance.BLOCK,
                                                reason="no", now=NOW)
        second, replaced = u.proposals.take_position(made.id, member_id="u2", member_name="bo",
                                                     stance=Stance.AGREE, reason=None, now=NOW)
    assert none is None and replaced is not None
    assert (replaced.id, replaced.stance, replaced.current) == (first.id, Stance.BLOCK, False)
    assert second.replaces_id == first.id and second.current


def test_a_proposal_closes_once_with_its_outcome_and_decision(store: Store) -> None:
    with store.unit() as u:
        made = open_proposal(u)
        decision = record(u, "Proposal 1: consented")
        closed = u.proposals.close(made.id, outcome=Outcome.CONSENTED, decision_id=decision.id, by=None,
                                   now=NOW + timedelta(days=7))
        again = u.proposals.close(made.id, outcome=Outcome.BLOCKED, decision_id=decision.id, by="ana",
                                  now=NOW + timedelta(days=8))
    assert closed is not None and again is None
    assert (closed.status, closed.outcome, closed.decision_id) == (ProposalStatus.CLOSED, Outcome.CONSENTED,
                                                                   decision.id)
    assert closed.closed_at == NOW + timedelta(days=7) and closed.closed_by is None
    with store.unit() as u:
        assert u.proposals.still_open() == []


def test_a_reminder_is_claimed_once_and_never_for_a_closed_proposal(store: Store) -> None:
    with store.unit() as u:
        first, second = open_proposal(u), open_proposal(u, days=3)
        decision = record(u, "closed")
        u.proposals.close(second.id, outcome=Outcome.NO_QUORUM, decision_id=decision.id, by="ana", now=NOW)
    with store.unit() as u:
        claimed = u.proposals.claim_reminder(first.id, NOW + timedelta(days=6))
        assert u.proposals.claim_reminder(first.id, NOW + timedelta(days=6)) is None
        assert u.proposals.claim_reminder(second.id, NOW) is None
    assert claimed is not None and claimed.reminded_at == NOW + timedelta(days=6)


def test_open_proposals_are_listed_earliest_deadline_first(store: Store) -> None:
    with store.unit() as u:
        later, sooner = open_proposal(u, days=9), open_proposal(u, days=2, remind=False)
    with store.unit() as u:
        assert [p.id for p in u.proposals.still_open()] == [sooner.id, later.id]


def test_the_database_refuses_a_quorum_below_one(store: Store) -> None:
    with pytest.raises(StorageError, match="quorum"), store.unit() as u:
        open_proposal(u, quorum=0)


def test_a_positions_fields_are_the_tables_columns_in_order() -> None:
    """Positions are built from rows by position; a new column must be added to both alike."""
    assert [f.name for f in fields(Position)] == [c.name for c in proposal_positions.c]


def test_proposals_opened_and_closed_since_a_moment(store: Store) -> None:
    with store.unit() as u:
        early = open_proposal(u)
        decision = record(u, "Proposal 1, consented")
        u.proposals.close(early.id, outcome=Outcome.CONSENTED, decision_id=decision.id, by=None,
                          now=NOW + timedelta(days=2))
    with store.unit() as u:
        later = u.proposals.open(text="Monthly calls", quorum=1, members=(), deadline_at=NOW + timedelta(days=9),
                                 remind_at=None, by="bo", by_id="u2", platform="console", channel_id="console",
                                 lang="en", now=NOW + timedelta(days=1))
    with store.unit() as u:
        assert [p.id for p in u.proposals.opened_since(NOW)] == [early.id, later.id]
        assert [p.id for p in u.proposals.opened_since(NOW + timedelta(hours=1))] == [later.id]
        assert [p.id for p in u.proposals.closed_since(NOW + timedelta(days=1))] == [early.id]
        assert u.proposals.closed_since(NOW + timedelta(days=3)) == []
