"""Getting rendered replies out, durably.

Every reply is written to the outbox in the same transaction that marks its
command handled, then sent at once. A send that fails stays in the outbox and
is retried with exponential backoff and jitter (or after the platform's
``Retry-After``), also after a restart, so nothing is lost while a server is
away and nothing is answered twice.
"""
from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone

from bot.adapters.base import Adapter
from bot.errors import AdapterError, RateLimited, RejectedError
from bot.messages import Outgoing, Place, Reply
from bot.storage import Store, Unit

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

PARKED = datetime(9999, 1, 1, tzinfo=timezone.utc)  # "retry never": kept for the record, not resent
BASE_DELAY = 1.0
MAX_DELAY = 300.0


def backoff_delay(attempts: int, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number ``attempts`` (1-based): exponential, full jitter."""
    ceiling = min(MAX_DELAY, BASE_DELAY * 2 ** max(0, attempts - 1))
    return (rng or random).uniform(ceiling / 2, ceiling)


class Delivery:
    def __init__(self, store: Store, adapters: Mapping[str, Adapter], clock: Clock) -> None:
        self.store = store
        self.adapters = adapters
        self.clock = clock
        self._wake = asyncio.Event()
        self._sent_ids: list[int] = []
        self._flush_planned = False

    def enqueue(self, unit: Unit, platform: str, place: Place, reply: Reply) -> Outgoing:
        adapter = self.adapters[platform]
        text = adapter.render(reply)
        item = unit.outbox.enqueue(
            platform=platform,
            channel_id=place.channel_id,
            thread_id=place.thread_id,
            text=text,
            now=self.clock(),
        )
        return Outgoing(
            platform=platform,
            channel_id=place.channel_id,
            thread_id=place.thread_id,
            text=text,
            outbox_id=item.id,
            ephemeral=reply.ephemeral,
        )

    async def send(self, items: Sequence[Outgoing]) -> None:
        """Send now, in order; failures are left for the retry loop."""
        for item in items:
            await self._send_one(item, attempts=0)

    async def _send_one(self, item: Outgoing, attempts: int) -> bool:
        adapter = self.adapters.get(item.platform)
        if adapter is None:
            return False
        try:
            await adapter.send(item)
        except RateLimited as err:
            self._failed(item, attempts, err.retry_after, err)
            return False
        except RejectedError as err:
            self._failed(item, attempts, None, err)
            return False
        except AdapterError as err:
            self._failed(item, attempts, backoff_delay(attempts + 1), err)
            return False
        self.mark_sent([item])
        return True

    def mark_sent(self, items: Sequence[Outgoing]) -> None:
        """Note items as sent; written in one batch right after the current burst of sends.

        Batching keeps a transaction off every reply's path. A crash inside that
        one loop turn could resend a reply at the next start: at-least-once at
        the very edge, never a lost reply.
        """
        self._sent_ids += [i.outbox_id for i in items if i.outbox_id is not None]
        if self._sent_ids and not self._flush_planned:
            self._flush_planned = True
            asyncio.get_running_loop().call_soon(self.flush_sent)

    def flush_sent(self) -> None:
        self._flush_planned = False
        ids, self._sent_ids = self._sent_ids, []
        if ids:
            with self.store.unit() as unit:
                now = self.clock()
                for outbox_id in ids:
                    unit.outbox.mark_sent(outbox_id, now)

    def _failed(self, item: Outgoing, attempts: int, delay: float | None, err: Exception) -> None:
        """Record a failed send; ``delay`` None parks the item for good (the platform refused it)."""
        log.warning("send failed platform=%s channel=%s attempt=%d retry_in=%s: %s", item.platform,
                    item.channel_id, attempts + 1, "never" if delay is None else f"{delay:.1f}s", err)
        if item.outbox_id is not None:
            now = self.clock()
            retry_at = PARKED if delay is None else now + timedelta(seconds=delay)
            with self.store.unit() as unit:
                unit.outbox.mark_failed(item.outbox_id, now, retry_at, str(err)[:500])
        self._wake.set()

    async def retry_due(self) -> int:
        """Send every due outbox item once; returns how many went out."""
        self.flush_sent()  # sent but not yet written down must not look due
        sent = 0
        for platform in self.adapters:
            with self.store.unit() as unit:
                due = unit.outbox.due(platform, self.clock(), 100)
            for row in due:
                item = Outgoing(platform=row.platform, channel_id=row.channel_id,
                                thread_id=row.thread_id, text=row.text, outbox_id=row.id)
                if await self._send_one(item, attempts=row.attempts):
                    sent += 1
        return sent

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
