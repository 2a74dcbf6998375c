"""Getting rendered replies out, durably.

Every reply is written to the outbox in the same transaction that marks its
command handled, then sent at once. A send that fails stays in the outbox and
is retried with exponential backoff and jitter (or after the platform's
``Retry-After``), also after a restart, so nothing is lost while a server is
away and nothing is answered twice.

Replies go out side by side, each place (a channel, or a thread in it) in
order: ``submit`` puts them in the place's lane and returns at once, so a
command's handling never waits for the network, and a sent mark is written in
the next reply's transaction (``mark_sent``). ``drain`` waits for the lanes on stop.

One sender per item: an item is claimed (in memory) from the moment it is
enqueued until its first attempt ends: while it waits in a lane and while an
adapter sends it, however long that takes (a Telegram reply in several parts,
waiting for the chat's limit). The retry loop skips claimed items and items
settled since it read the outbox, so it never sends a reply the immediate path
is sending or has just sent. A claim not yet in a lane lapses after
``CLAIM_SECONDS``, so an item whose sender died before handing it over is
retried all the same.
"""
from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone

from bot.adapters.base import Adapter, Reconciling
from bot.backoff import backoff_delay
from bot.errors import AdapterError, RateLimited, RejectedError
from bot.messages import Outgoing, Place, Reply
from bot.metrics import Metrics
from bot.storage import OutboxItem, Store, Unit

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
PlaceKey = tuple[str, str, str | None]  # platform, channel, thread
Lane = deque[tuple[Outgoing, "asyncio.Future[None] | None"]]

PARKED = datetime(9999, 1, 1, tzinfo=timezone.utc)  # "retry never": kept for the record, not resent
BASE_DELAY = 1.0
MAX_DELAY = 300.0
CLAIM_SECONDS = 60.0  # how long a reply queued but not yet handed to a lane or an adapter stays claimed
NOT_PARKED = PARKED - timedelta(days=1)  # "due" for retry_now: every failed item not parked
MARKS_WAIT = 0.05  # seconds sent marks wait for a command's transaction to ride in, before their own
ARRIVALS_KEPT = timedelta(days=1)  # a command's arrival, for the latency metric, while its reply is unsent


def retry_delay(attempts: int, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number ``attempts`` (1-based): exponential, at least half of it."""
    return backoff_delay(attempts, base=BASE_DELAY, cap=MAX_DELAY, least=0.5, rng=rng)


class Delivery:
    def __init__(self, store: Store, adapters: Mapping[str, Adapter], clock: Clock,
                 metrics: Metrics | None = None, claim_seconds: float = CLAIM_SECONDS) -> None:
        self.store = store
        self.metrics = metrics or Metrics()
        self.adapters = adapters
        self.clock = clock
        self._wake = asyncio.Event()
        self._sent_ids: list[tuple[int, tuple[str, ...] | None]] = []  # sent (and posted ids), not yet written down
        self._flush_timer: asyncio.TimerHandle | None = None
        self._claims: dict[int, float] = {}  # outbox id -> monotonic deadline of its sender's claim
        self._claim_seconds = claim_seconds
        self._queued: set[int] = set()  # in a lane, waiting for their turn: claimed while the lane lives
        self._sending: set[int] = set()  # inside an adapter's send now, however long it takes
        self._settled: set[int] = set()  # attempts ended since the retry loop last read the outbox
        self._retrying = asyncio.Lock()
        self._hurry: set[str] = set()  # platforms back from an outage: retry without waiting
        self._started_at = clock()
        self._reconciled: set[str] = set()  # platforms whose replies left unsent by the last process are checked
        self._lanes: dict[PlaceKey, Lane] = {}  # replies waiting for their place's sender, in order
        self._senders: set[asyncio.Task[None]] = set()
        self._arrivals: dict[int, datetime] = {}  # outbox id -> its command's arrival, until sent or parked

    def enqueue(self, unit: Unit, platform: str, place: Place, reply: Reply,
                received_at: datetime | None = None) -> Outgoing:
        adapter = self.adapters[platform]
        text = adapter.render(reply)
        self._write_marks(unit)
        item = unit.outbox.enqueue(
            platform=platform,
            channel_id=place.channel_id,
            thread_id=place.thread_id,
            text=text,
            now=self.clock(),
        )
        if received_at is not None:
            self._arrivals[item.id] = received_at
        self._claim(item.id)  # the caller sends it (send, or mark_sent for a reply given in place)
        return Outgoing(
            platform=platform,
            channel_id=place.channel_id,
            thread_id=place.thread_id,
            text=text,
            outbox_id=item.id,
            ephemeral=reply.ephemeral,
            queued_at=item.created_at,
            on_posted=self._progress(item.id),
        )

    def submit(self, items: Sequence[Outgoing]) -> None:
        """Send in the background, in order within each place; failures are left for the retry loop."""
        self._queue(items, None)

    async def send(self, items: Sequence[Outgoing]) -> None:
        """As ``submit``, and return once every item's attempt has ended."""
        done = [asyncio.get_running_loop().create_future() for _ in items]
        self._queue(items, done)
        await asyncio.gather(*done)

    async def idle(self, timeout: float | None = None) -> None:
        """Wait (up to ``timeout`` seconds) until the replies handed over so far have been tried."""
        if self._senders:
            await asyncio.wait(set(self._senders), timeout=timeout)

    async def drain(self, timeout: float) -> None:
        """On stop: wait up to ``timeout`` seconds for the replies being sent, then cancel the rest
        (they stay in the outbox, and reconciling at the next start finds any that got through)."""
        await self.idle(timeout)
        for sender in list(self._senders):
            sender.cancel()
        await asyncio.gather(*self._senders, return_exceptions=True)

    def _queue(self, items: Sequence[Outgoing], done: list[asyncio.Future[None]] | None) -> None:
        for index, item in enumerate(items):
            key = (item.platform, item.channel_id, item.thread_id)
            lane = self._lanes.get(key)
            if lane is None:
                lane = self._lanes[key] = deque()
                sender = asyncio.create_task(self._drain_lane(key, lane))
                self._senders.add(sender)
                sender.add_done_callback(self._senders.discard)
            lane.append((item, done[index] if done is not None else None))
            if item.outbox_id is not None:
                self._queued.add(item.outbox_id)

    async def _drain_lane(self, key: PlaceKey, lane: Lane) -> None:
        try:
            while lane:
                item, done = lane[0]
                try:
                    await self._send_one(item, attempts=0)
                except Exception:  # a bug in an adapter: the claim lapses and the retry loop tries again
                    log.exception("sending failed platform=%s channel=%s", item.platform, item.channel_id)
                lane.popleft()
                self._queued.discard(item.outbox_id or 0)
                if done is not None and not done.done():
                    done.set_result(None)
        finally:
            del self._lanes[key]
            for item, done in lane:  # cancelled (stop): nobody waits for the rest
                self._queued.discard(item.outbox_id or 0)
                if done is not None and not done.done():
                    done.cancel()

    async def _send_one(self, item: Outgoing, attempts: int) -> bool:
        adapter = self.adapters.get(item.platform)
        if adapter is None or item.outbox_id in self._sending:
            return False  # no such platform now, or another sender has it in hand
        if item.outbox_id is not None:
            self._sending.add(item.outbox_id)
        try:
            posted = await adapter.send(item)
        except RateLimited as err:
            self._failed(item, attempts, err.retry_after, err)
            return False
        except RejectedError as err:
            self._failed(item, attempts, None, err)
            return False
        except AdapterError as err:
            self._failed(item, attempts, retry_delay(attempts + 1), err)
            return False
        finally:
            self._sending.discard(item.outbox_id or 0)
            self._release(item.outbox_id)
        self._mark_sent([(item, tuple(posted) if posted is not None else None)])
        return True

    def _claim(self, outbox_id: int) -> None:
        self._claims[outbox_id] = time.monotonic() + self._claim_seconds

    def _claimed(self, outbox_id: int) -> bool:
        """Someone means to send it: it waits in a lane, is being sent, or was just queued (for
        ``CLAIM_SECONDS``, so a reply whose sender died before handing it over is retried all the same)."""
        if outbox_id in self._queued or outbox_id in self._sending:
            return True
        deadline = self._claims.get(outbox_id)
        return deadline is not None and deadline > time.monotonic()

    def _release(self, outbox_id: int | None) -> None:
        if outbox_id is not None:
            self._claims.pop(outbox_id, None)
            self._settled.add(outbox_id)

    def mark_sent(self, items: Sequence[Outgoing]) -> None:
        """Note items as sent (counted, with their latency); written down in the next reply's
        transaction, or in their own after ``MARKS_WAIT`` seconds.

        So a busy bot commits once per command, not twice. A reply posted but
        not yet written down when the process dies is found by reconciling at
        the next start, and not sent again.
        """
        self._mark_sent([(item, None) for item in items])

    def _mark_sent(self, items: Sequence[tuple[Outgoing, tuple[str, ...] | None]]) -> None:
        """``mark_sent``, with the platform's ids of what each item became, where known."""
        for item, _ in items:
            self._release(item.outbox_id)
            received = self._arrivals.pop(item.outbox_id, None) if item.outbox_id is not None else None
            self.metrics.sent(item.platform, (self.clock() - received).total_seconds() if received else None)
        self._pending([(item.outbox_id, posted) for item, posted in items if item.outbox_id is not None])

    def _progress(self, outbox_id: int) -> Callable[[tuple[str, ...]], None]:
        """The ``on_posted`` of an item: the parts posted so far, written down at once, in their own transaction."""
        def posted(ids: tuple[str, ...]) -> None:
            with self.store.unit() as unit:
                unit.outbox.mark_posted(outbox_id, ids)
        return posted

    def _pending(self, ids: list[tuple[int, tuple[str, ...] | None]]) -> None:
        self._sent_ids += ids
        if self._sent_ids and self._flush_timer is None:
            self._flush_timer = asyncio.get_running_loop().call_later(MARKS_WAIT, self.flush_sent)

    def _write_marks(self, unit: Unit) -> None:
        """The pending sent marks, written in ``unit``; pending again if it does not commit."""
        ids, self._sent_ids = self._sent_ids, []
        if ids:
            unit.outbox.mark_all_sent(ids, self.clock())
            unit.on_rollback(lambda: self._pending(ids))

    def depth(self) -> dict[str, int]:
        """Replies still to be sent, by platform (the pending sent marks written first, so they do not count)."""
        with self.store.unit() as unit:
            self._write_marks(unit)
            return unit.outbox.depth()

    def flush_sent(self) -> None:
        """Write the pending sent marks now, in a transaction of their own."""
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        if self._sent_ids:
            with self.store.unit() as unit:
                self._write_marks(unit)

    def _failed(self, item: Outgoing, attempts: int, delay: float | None, err: Exception) -> None:
        """Record a failed send; ``delay`` None parks the item for good (the platform refused it)."""
        self.metrics.failed(item.platform)
        log.warning("send failed platform=%s channel=%s attempt=%d retry_in=%s: %s", item.platform,
                    item.channel_id, attempts + 1, "never" if delay is None else f"{delay:.1f}s", err)
        if item.outbox_id is not None:
            if delay is None:
                self._arrivals.pop(item.outbox_id, None)
            now = self.clock()
            retry_at = PARKED if delay is None else now + timedelta(seconds=delay)
            with self.store.unit() as unit:
                unit.outbox.mark_failed(item.outbox_id, now, retry_at, str(err)[:500])
        self._wake.set()

    def retry_now(self, platform: str) -> None:
        """``platform`` is reachable again: its failed items go out now, not at the end of their backoff."""
        self._hurry.add(platform)
        self._wake.set()

    async def retry_due(self) -> int:
        """Send every due outbox item once; returns how many went out."""
        async with self._retrying:  # one reader of the outbox at a time: _settled is relative to its read
            self.flush_sent()  # sent but not yet written down must not look due
            self._settled.clear()
            now = time.monotonic()
            self._claims = {outbox_id: until for outbox_id, until in self._claims.items() if until > now}
            forgotten = self.clock() - ARRIVALS_KEPT  # e.g. of a reply whose transaction rolled back
            self._arrivals = {outbox_id: at for outbox_id, at in self._arrivals.items() if at > forgotten}
            sent = 0
            for platform in self.adapters:
                sent += await self._retry_platform(platform)
            return sent

    async def _retry_platform(self, platform: str) -> int:
        if not await self._reconcile(platform):
            return 0
        until = NOT_PARKED if platform in self._hurry else self.clock()
        self._hurry.discard(platform)
        with self.store.unit() as unit:
            due = unit.outbox.due(platform, until, 100)
        sent = 0
        for row in due:
            if row.id in self._settled or self._claimed(row.id):
                continue  # being sent, or just sent or failed, by someone else
            self._claim(row.id)
            if await self._send_one(self._outgoing(row), attempts=row.attempts):
                sent += 1
        return sent

    async def _reconcile(self, platform: str) -> bool:
        """Before anything is resent on ``platform``: replies the last process queued and did not
        mark sent are looked for on the platform (it may have died between posting and marking);
        those found are marked sent now. False while the platform cannot be read: nothing is
        resent there until it can, however long the bot was down.
        """
        if platform in self._reconciled:
            return True
        adapter = self.adapters[platform]
        if isinstance(adapter, Reconciling):
            with self.store.unit() as unit:
                left = unit.outbox.unsent(platform, self._started_at, PARKED)
            if left:
                try:
                    posted = await adapter.reconcile([self._outgoing(row) for row in left])
                except AdapterError as err:
                    log.warning("%s: %d replies left unsent at the last stop not checked yet: %s",
                                platform, len(left), err)
                    return False
                with self.store.unit() as unit:
                    now = self.clock()
                    for outbox_id in sorted(posted):
                        unit.outbox.mark_sent(outbox_id, now)
                log.info("%s: %d replies left unsent at the last stop: %d had been posted, %d to send",
                         platform, len(left), len(posted), len(left) - len(posted))
        self._reconciled.add(platform)
        return True

    async def run(self, interval: float = 1.0) -> None:
        """Retry loop: wakes on a failure or every ``interval`` seconds."""
        while True:
            try:  # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation
                async with asyncio.timeout(interval):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self.retry_due()
            except Exception:  # the loop must outlive a bad row or a database hiccup
                log.exception("outbox retry cycle failed")

    def _outgoing(self, row: OutboxItem) -> Outgoing:
        return Outgoing(platform=row.platform, channel_id=row.channel_id, thread_id=row.thread_id, text=row.text,
                        outbox_id=row.id, queued_at=row.created_at, posted=row.posted,
                        on_posted=self._progress(row.id))
