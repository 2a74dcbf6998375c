"""The decision log's storage, on SQLite and PostgreSQL (the fixtures of test_storage)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from bot.storage import Decision, DecisionFilter, DecisionLine, DecisionStatus, RecordNotFound, Store, Unit
from tests.test_storage import NOW, add_call


def record(u: Unit, text: str, *, tags: tuple[str, ...] = (), call_id: int | None = None,
           minutes: int = 0) -> Decision:
    return u.decisions.record(text=text, tags=tags, call_id=call_id, by="ana", by_id="u1",
                              platform="mattermost", channel_id="council", channel_name="council",
                              link="https://chat.example.coop/coops/pl/p1", now=NOW + timedelta(minutes=minutes))


def test_a_decision_is_stored_as_written_with_where_and_who(store: Store) -> None:
    with store.unit() as u:
        call_id = add_call(u)
        made = record(u, "We adopt @channel *as is* <b>", tags=("hosting", "infra", "hosting"), call_id=call_id)
    with store.unit() as u:
        got = u.decisions.get(made.id)
    assert got == made
    assert got is not None and got.text == "We adopt @channel *as is* <b>"
    assert got.tags == ("hosting", "infra") and got.call_id == call_id and got.version == 1
    assert (got.platform, got.channel_id, got.link) == ("mattermost", "council", "https://chat.example.coop/coops/pl/p1")
    assert got.created_at == NOW and got.status is DecisionStatus.ACTIVE


def test_edits_and_a_retraction_keep_every_version_with_who_and_when(store: Store) -> None:
    with store.unit() as u:
        made = record(u, "first")
    with store.unit() as u:
        u.decisions.revise(made.id, text="second", by="bea", by_id="u2", now=NOW + timedelta(hours=1))
        u.decisions.revise(made.id, text="third", by="ana", by_id="u1", now=NOW + timedelta(hours=2))
        last = u.decisions.revise(made.id, status=DecisionStatus.RETRACTED, by="caro", by_id="u3",
                                  now=NOW + timedelta(hours=3))
    with store.unit() as u:
        history = u.decisions.history(made.id)
    assert (last.text, last.status, last.version) == ("third", DecisionStatus.RETRACTED, 4)
    assert [(v.version, v.text, v.status.value, v.changed_by) for v in history] == [
        (1, "first", "active", "ana"), (2, "second", "active", "bea"),
        (3, "third", "active", "ana"), (4, "third", "retracted", "caro"),
    ]
    assert history[3].changed_at == NOW + timedelta(hours=3)


def test_revising_an_unknown_decision_raises_record_not_found(store: Store) -> None:
    with pytest.raises(RecordNotFound), store.unit() as u:
        u.decisions.revise(99, text="x", by="ana", by_id="u1", now=NOW)


def test_pages_are_newest_first_and_filtered_by_every_tag_call_and_date(store: Store) -> None:
    with store.unit() as u:
        call_id = add_call(u)
        for n in range(25):
            tags = ("budget",) + (("infra",) if n % 2 else ())
            record(u, f"d{n}", tags=tags, call_id=call_id if n % 5 == 0 else None, minutes=n)
    with store.unit() as u:
        first = u.decisions.page(DecisionFilter(tags=("budget",)))
        second = u.decisions.page(DecisionFilter(tags=("budget",)), before_id=first[-1].id)
        both = u.decisions.page(DecisionFilter(tags=("budget", "infra")), limit=100)
        of_call = u.decisions.page(DecisionFilter(call_id=call_id))
        recent = u.decisions.page(DecisionFilter(since=NOW + timedelta(minutes=20)))
        none = u.decisions.page(DecisionFilter(tags=("nothing",)))
    assert [d.text for d in first] == [f"d{n}" for n in range(24, 14, -1)]
    assert [d.text for d in second] == [f"d{n}" for n in range(14, 4, -1)]
    assert [d.text for d in both] == [f"d{n}" for n in range(23, 0, -2)]
    assert all(d.tags == ("budget", "infra") for d in both)
    assert [d.text for d in of_call] == ["d20", "d15", "d10", "d5", "d0"]
    assert [d.text for d in recent] == ["d24", "d23", "d22", "d21", "d20"]
    assert none == []


def test_export_reads_everything_oldest_first_in_batches(store: Store) -> None:
    with store.unit() as u:
        for n in range(7):
            record(u, f"d{n}", tags=("a",) if n % 2 else ())
    with store.unit() as u:
        everything = [d.text for d in u.decisions.each(DecisionFilter(), batch=3)]
        tagged = [d.text for d in u.decisions.each(DecisionFilter(tags=("a",)), batch=2)]
    assert everything == [f"d{n}" for n in range(7)]
    assert tagged == ["d1", "d3", "d5"]


def test_the_call_that_started_last_in_a_channel_within_a_window(store: Store) -> None:
    with store.unit() as u:
        old = add_call(u, starts_at=NOW - timedelta(days=2), title="old")
        recent = add_call(u, starts_at=NOW - timedelta(hours=3), title="recent")
        add_call(u, starts_at=NOW + timedelta(hours=1), title="ahead")
        found = u.calls.latest_started(NOW, NOW - timedelta(days=1), platform="mattermost", channel_id="town-square")
        elsewhere = u.calls.latest_started(NOW, NOW - timedelta(days=1), platform="mattermost", channel_id="other")
        wider = u.calls.latest_started(NOW - timedelta(days=1), NOW - timedelta(days=3),
                                       platform="mattermost", channel_id="town-square")
    assert found is not None and found.id == recent
    assert elsewhere is None
    assert wider is not None and wider.id == old


def test_the_lines_of_decisions_recorded_after_a_moment_with_tags_and_status(store: Store) -> None:
    with store.unit() as u:
        record(u, "before", tags=("old",), minutes=-5)
        at_the_moment = record(u, "at the moment")
        tagged = record(u, "tagged", tags=("infra", "hosting"), minutes=1)
        plain = record(u, "plain", minutes=2)
        u.decisions.revise(plain.id, status=DecisionStatus.RETRACTED, by="bo", by_id="u2",
                           now=NOW + timedelta(minutes=3))
    with store.unit() as u:
        lines = u.decisions.lines_after(NOW)
    assert at_the_moment.id not in [line.id for line in lines]  # strictly after
    assert lines == [DecisionLine(tagged.id, "tagged", DecisionStatus.ACTIVE, "ana", ("hosting", "infra")),
                     DecisionLine(plain.id, "plain", DecisionStatus.RETRACTED, "ana", ())]
