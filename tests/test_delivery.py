"""Delivery: one sender per outbox item, and a platform that is back gets its replies at once.

A small recording adapter stands in for a platform: it is a real adapter (the
protocol's methods), whose ``send`` can be held open to put a send in flight.
"""
from __future__ import annotations

import asyncio
import pathlib
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event

from bot.adapters.base import OnMessage
from bot.delivery import MARKS_WAIT, Delivery
from bot.errors import AdapterError
from bot.messages import Incoming, Outgoing, Place, Reply, Text
from bot.metrics import Metrics
from bot.storage import OutboxItem, Store

PLACE = Place("chat", "room")


class RecordingAdapter:
    """Sends into a list. ``hold(text)`` keeps that text's send inside the adapter until the
    returned gate opens; ``inside[text]`` is set once such a send has entered."""

    platform = "chat"

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.failing = False
        self.inside: defaultdict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self._gates: dict[str, asyncio.Event] = {}

    def hold(self, text: str) -> asyncio.Event:
        gate = self._gates[text] = asyncio.Event()
        return gate

    async def start(self, on_message: OnMessage) -> None:
        return None

    async def stop(self) -> None:
        return None

    def render(self, reply: Reply) -> str:
        return "".join(p.text for p in reply.parts if isinstance(p, Text))

    def reply_place(self, incoming: Incoming) -> Place:
        return PLACE

    def announce_place(self) -> Place | None:
        return PLACE

    async def send(self, out: Outgoing) -> tuple[str, ...]:
        self.inside[out.text].set()
        gate = self._gates.get(out.text)
        if gate is not None:
            await gate.wait()
        if self.failing:
            raise AdapterError("connection refused")
        self.sent.append(out.text)
        return (f"id-{len(self.sent)}",)


@pytest.fixture
def adapter() -> RecordingAdapter:
    return RecordingAdapter()


@pytest.fixture
async def delivery(tmp_path: pathlib.Path, adapter: RecordingAdapter) -> AsyncIterator[Delivery]:
    store = Store(f"sqlite:///{tmp_path / 'coopbot.db'}")
    store.migrate()
    yield Delivery(store, {"chat": adapter}, lambda: datetime.now(timezone.utc))
    store.close()


def enqueue(delivery: Delivery, text: str, place: Place = PLACE) -> Outgoing:
    with delivery.store.unit() as unit:
        return delivery.enqueue(unit, "chat", place, Reply(parts=(Text(text),), lang="en"))


def unsent(delivery: Delivery) -> list[str]:
    with delivery.store.unit() as unit:
        return [row.text for row in unit.outbox.unsent("chat", datetime.now(timezone.utc), datetime.max.replace(
            tzinfo=timezone.utc))]


async def test_replies_keep_their_order_within_a_place_while_places_go_side_by_side(
        delivery: Delivery, adapter: RecordingAdapter) -> None:
    thread = Place("chat", "room", thread_id="t1")
    first, second, third = (enqueue(delivery, f"room {n}") for n in (1, 2, 3))
    elsewhere = enqueue(delivery, "thread reply", thread)
    gate = adapter.hold("room 1")
    delivery.submit([first, second, elsewhere, third])  # returns at once
    assert adapter.sent == []
    await adapter.inside["room 1"].wait()
    async with asyncio.timeout(5):  # the thread's lane is not held up by the room's
        await adapter.inside["thread reply"].wait()
    assert adapter.sent == ["thread reply"]
    assert not adapter.inside["room 2"].is_set()  # the room's next reply waits for the one before it
    gate.set()
    await delivery.idle(5)
    assert adapter.sent == ["thread reply", "room 1", "room 2", "room 3"]
    await marks_written(delivery)  # with no reply to ride along with, the marks are written on their own
    assert unsent(delivery) == []


async def marks_written(delivery: Delivery) -> None:
    """Wait for the sent marks' own transaction, which runs ``MARKS_WAIT`` after the last send."""
    written = asyncio.Event()
    event.listen(delivery.store.engine, "commit", lambda _conn: written.set())
    async with asyncio.timeout(MARKS_WAIT + 5):
        await written.wait()


def commits(store: Store) -> list[str]:
    """Every COMMIT the store's SQLite connections run from now on, as a list that grows."""
    seen: list[str] = []
    event.listen(store.engine, "commit", lambda _conn: seen.append("commit"))
    return seen


async def test_sent_marks_ride_in_the_next_replys_transaction(delivery: Delivery, adapter: RecordingAdapter) -> None:
    first = enqueue(delivery, "first")
    await delivery.send([first])
    committed = commits(delivery.store)
    second = enqueue(delivery, "second")  # one transaction: the second reply queued, the first marked sent
    assert committed == ["commit"]
    assert unsent(delivery) == ["second"]
    await delivery.send([second])
    await marks_written(delivery)
    assert unsent(delivery) == []


async def test_sent_marks_taken_into_a_transaction_that_rolls_back_are_written_later(
        delivery: Delivery, adapter: RecordingAdapter) -> None:
    first = enqueue(delivery, "first")
    await delivery.send([first])
    with pytest.raises(RuntimeError), delivery.store.unit() as unit:  # a command's handler failing after its reply
        delivery.enqueue(unit, "chat", PLACE, Reply(parts=(Text("never"),), lang="en"))
        raise RuntimeError("handler bug")
    assert unsent(delivery) == ["first"]  # not written (yet), and not lost
    delivery.flush_sent()
    assert unsent(delivery) == []
    assert adapter.sent == ["first"]


async def test_on_stop_the_lanes_get_a_while_then_what_is_unsent_stays_in_the_outbox(
        delivery: Delivery, adapter: RecordingAdapter) -> None:
    stuck = enqueue(delivery, "stuck")
    after = enqueue(delivery, "after it")
    other = enqueue(delivery, "other place", Place("chat", "hall"))
    adapter.hold("stuck")
    delivery.submit([stuck, after, other])
    await adapter.inside["stuck"].wait()
    await delivery.drain(timeout=0.2)
    delivery.flush_sent()
    assert adapter.sent == ["other place"]
    assert unsent(delivery) == ["stuck", "after it"]


async def test_the_retry_loop_never_sends_a_reply_that_is_being_sent(delivery: Delivery,
                                                                      adapter: RecordingAdapter) -> None:
    item = enqueue(delivery, "16:00 in Buenos Aires")
    gate = adapter.hold(item.text)
    in_flight = asyncio.create_task(delivery.send([item]))
    await adapter.inside[item.text].wait()
    async with asyncio.timeout(5):  # were it to send the item too, it would wait at the gate
        assert await delivery.retry_due() == 0
    gate.set()
    await in_flight
    assert await delivery.retry_due() == 0
    assert adapter.sent == ["16:00 in Buenos Aires"]


async def test_a_send_or_a_wait_in_its_lane_longer_than_a_claim_is_never_doubled(tmp_path: pathlib.Path) -> None:
    """A Telegram reply in parts may take minutes (the chat's limit); the replies behind it in its lane wait
    as long. Neither may look abandoned to the retry loop, which would send it a second time."""
    store = Store(f"sqlite:///{tmp_path / 'coopbot.db'}")
    store.migrate()
    adapter = RecordingAdapter()
    delivery = Delivery(store, {"chat": adapter}, lambda: datetime.now(timezone.utc), claim_seconds=0)
    try:  # claims that lapse at once: only being in a lane or being sent keeps a reply claimed
        long_one, behind = enqueue(delivery, "long one"), enqueue(delivery, "behind it")
        gate = adapter.hold("long one")
        delivery.submit([long_one, behind])
        await adapter.inside["long one"].wait()
        async with asyncio.timeout(5):  # were it to send either, it would wait at the gate or send "behind it"
            assert await delivery.retry_due() == 0
        gate.set()
        await delivery.idle(5)
        assert await delivery.retry_due() == 0
        assert adapter.sent == ["long one", "behind it"]
    finally:
        store.close()


async def test_a_reply_sent_after_the_retry_loop_read_the_outbox_is_not_sent_again(
        delivery: Delivery, adapter: RecordingAdapter) -> None:
    adapter.failing = True
    await delivery.send([enqueue(delivery, "failed earlier")])
    adapter.failing = False
    fresh = enqueue(delivery, "fresh")
    older_gate, fresh_gate = adapter.hold("failed earlier"), adapter.hold("fresh")
    delivery.retry_now("chat")
    retrying = asyncio.create_task(delivery.retry_due())  # reads both; sends the older one first
    await adapter.inside["failed earlier"].wait()
    sending = asyncio.create_task(delivery.send([fresh]))
    await adapter.inside["fresh"].wait()
    fresh_gate.set()
    await sending  # "fresh" is out before the retry loop gets to it
    older_gate.set()
    assert await retrying == 1
    assert adapter.sent == ["fresh", "failed earlier"]


async def test_a_platform_that_is_back_gets_its_failed_replies_before_their_backoff_ends(
        delivery: Delivery, adapter: RecordingAdapter) -> None:
    adapter.failing = True
    await delivery.send([enqueue(delivery, "announcement")])  # fails; next try in 0.5 to 1 s
    adapter.failing = False
    assert await delivery.retry_due() == 0
    delivery.retry_now("chat")
    assert await delivery.retry_due() == 1
    assert adapter.sent == ["announcement"]


class ReconcilingAdapter(RecordingAdapter):
    """Also tells which queued replies it finds posted; unreadable until told otherwise."""

    def __init__(self) -> None:
        super().__init__()
        self.readable = False
        self.posted_texts: set[str] = set()
        self.asked: list[list[str]] = []

    async def reconcile(self, unsent: list[Outgoing]) -> set[int]:
        self.asked.append([out.text for out in unsent])
        if not self.readable:
            raise AdapterError("not logged in yet")
        return {out.outbox_id for out in unsent if out.text in self.posted_texts and out.outbox_id is not None}


async def test_replies_left_unsent_by_the_last_process_are_checked_before_any_is_resent(
        tmp_path: pathlib.Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'coopbot.db'}")
    store.migrate()
    clock = lambda: datetime.now(timezone.utc)  # noqa: E731
    before = Delivery(store, {"chat": RecordingAdapter()}, clock)  # the process that died
    for text in ("posted before the crash", "never posted"):
        enqueue(before, text)
    adapter = ReconcilingAdapter()
    after = Delivery(store, {"chat": adapter}, clock)
    adapter.posted_texts = {"posted before the crash"}
    after.retry_now("chat")
    assert await after.retry_due() == 0  # the platform cannot be read yet: nothing is resent
    assert adapter.sent == [] and adapter.asked == [["posted before the crash", "never posted"]]
    adapter.readable = True
    assert await after.retry_due() == 1
    assert adapter.sent == ["never posted"]
    fresh = enqueue(after, "queued by this process")
    adapter.failing = True
    await after.send([fresh])
    adapter.failing = False
    after.retry_now("chat")
    assert await after.retry_due() == 1  # checked once per start, not before every retry
    assert len(adapter.asked) == 2 and adapter.sent == ["never posted", "queued by this process"]
    store.close()


class CountingMetrics(Metrics):
    def __init__(self) -> None:
        self.sent_seconds: list[float | None] = []

    def sent(self, platform: str, seconds: float | None) -> None:
        self.sent_seconds.append(seconds)


async def test_a_reply_given_in_place_is_counted_with_its_latency_and_its_arrival_forgotten(
        tmp_path: pathlib.Path, adapter: RecordingAdapter) -> None:
    store = Store(f"sqlite:///{tmp_path / 'coopbot.db'}")
    store.migrate()
    metrics = CountingMetrics()
    now = datetime.now(timezone.utc)
    delivery = Delivery(store, {"chat": adapter}, lambda: now, metrics)
    with store.unit() as unit:  # as a slash command's answer, returned in the HTTP response
        item = delivery.enqueue(unit, "chat", PLACE, Reply(parts=(Text("16:00"),), lang="en"),
                                received_at=now - timedelta(milliseconds=250))
    delivery.mark_sent([item])
    delivery.flush_sent()
    assert metrics.sent_seconds == [0.25]
    assert delivery._arrivals == {}
    store.close()


def row_of(delivery: Delivery, item: Outgoing) -> OutboxItem:
    assert item.outbox_id is not None
    delivery.flush_sent()
    with delivery.store.unit() as unit:
        return unit.outbox.get(item.outbox_id)


async def test_the_platforms_id_for_what_a_reply_became_is_kept_with_its_row(
        delivery: Delivery, adapter: RecordingAdapter) -> None:
    first, second = enqueue(delivery, "first"), enqueue(delivery, "second")
    await delivery.send([first, second])
    assert row_of(delivery, first).posted == ("id-1",)
    assert row_of(delivery, second).posted == ("id-2",)


class InParts(RecordingAdapter):
    """Sends each line as a message of its own, reporting each as posted; fails once before ``fail_at``."""

    def __init__(self, fail_at: int) -> None:
        super().__init__()
        self.fail_at = fail_at
        self.attempts: list[tuple[str, ...]] = []  # ``posted`` as each attempt found it

    async def send(self, out: Outgoing) -> tuple[str, ...]:
        self.attempts.append(out.posted)
        posted = list(out.posted)
        for line in out.text.split("\n")[len(posted):]:
            if len(posted) == self.fail_at and len(self.attempts) == 1:
                raise AdapterError("connection reset")
            self.sent.append(line)
            posted.append(f"m{len(self.sent)}")
            assert out.on_posted is not None
            out.on_posted(tuple(posted))
        return tuple(posted)


async def test_a_reply_sent_in_parts_goes_on_after_the_parts_posted_before_a_failure(tmp_path: pathlib.Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'coopbot.db'}")
    store.migrate()
    adapter = InParts(fail_at=2)
    later = Delivery(store, {"chat": adapter}, lambda: datetime.now(timezone.utc))
    try:
        item = enqueue(later, "one\ntwo\nthree")
        await later.send([item])
        assert row_of(later, item).posted == ("m1", "m2") and row_of(later, item).sent_at is None
        # A new process reads the row: what was posted survives it, and the retry starts at part three.
        again = Delivery(store, {"chat": adapter}, lambda: datetime.now(timezone.utc) + timedelta(hours=2))
        assert await again.retry_due() == 1
        assert adapter.sent == ["one", "two", "three"]
        assert adapter.attempts == [(), ("m1", "m2")]
        assert row_of(again, item).posted == ("m1", "m2", "m3")
    finally:
        store.close()
