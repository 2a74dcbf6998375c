"""Wiring: configuration in, a running bot out.

``App`` builds the services once (store, scheduler, zones, catalogues, command
registry), starts the enabled adapters (found by name, so the core imports no
platform library), and runs until stopped. Lifecycle: ``start`` → ``wait`` →
``stop``.
"""
from __future__ import annotations

import asyncio
import functools
import gc
import importlib
import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from bot import schedules
from bot.adapters.base import Adapter, Reconnecting, ReportsHealth, StopsOnRefusal
from bot.commands import Registry, discover
from bot.context import JobContext
from bot.delivery import Delivery
from bot.destinations import Outlets
from bot.dispatch import Dispatcher, Services
from bot.errors import CoopbotError
from bot.i18n import Catalogue
from bot.messages import Incoming, Outgoing
from bot.metrics import Metrics
from bot.router import Router
from bot.scheduler import Scheduler
from bot.schedules import Schedules
from bot.storage import Store
from bot.storage.engine import WAL_LIMIT_BYTES
from bot.zones import CoopZone, ResolvedZone, ZoneResolver
from config.model import Config, mask_url

if TYPE_CHECKING:
    from bot.server import Server

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

KEEP = timedelta(days=30)
HOUSEKEEPING_SECONDS = 6 * 3600
CHECKPOINT_SECONDS = 30
CHECKPOINT_TICK = 0.1
STOP_DRAIN_SECONDS = 5.0


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def build_resolver(config: Config) -> ZoneResolver:
    return ZoneResolver([
        CoopZone(name=c.name, zone=c.zone, city=c.city or c.name, aliases=tuple(c.aliases)) for c in config.coops
    ])


def default_zone(config: Config, resolver: ZoneResolver) -> ResolvedZone:
    resolved = resolver.resolve(config.bot.zone)
    if resolved is None:  # the config model validates the zone, so this is a programming error
        raise ValueError(f"bot.zone {config.bot.zone!r} does not resolve")
    return resolved


class App:
    def __init__(self, config: Config, *, clock: Clock = utc_now,
                 adapters: Mapping[str, Adapter] | None = None,
                 registry: Registry | None = None) -> None:
        self.config = config
        self.clock = clock
        self.store = Store(config.storage.url)
        self.registry = registry or discover()
        zones = build_resolver(config)
        self.adapters: dict[str, Adapter] = dict(adapters) if adapters is not None else self._load_adapters()
        self.services = Services(
            config=config, store=self.store, catalogue=Catalogue.load(), registry=self.registry,
            zones=zones, default_zone=default_zone(config, zones), clock=clock, outlets=Outlets(config, self.adapters),
        )
        self.scheduler = Scheduler(config.storage.url,
                                   misfire_grace_seconds=int(config.reminders.misfire_grace.total_seconds()))
        self.schedules = Schedules(config, self.registry.jobs, self.scheduler, self.store, clock)
        self.metrics = Metrics()
        self.server: Server | None = None
        if config.server.enabled:  # imported only when used: aiohttp.web and prometheus-client cost start-up time
            from bot.server import PrometheusMetrics, Server

            prometheus = PrometheusMetrics(self.outbox_depth)
            self.metrics = prometheus
            self.server = Server(config.server.host, config.server.port, prometheus, self.problems)
        self.delivery = Delivery(self.store, self.adapters, clock, self.metrics)
        router = Router(self.registry, prefix=config.bot.prefix, bot_names=(config.bot.name,))
        self.dispatcher = Dispatcher(self.services, router, self.delivery, self.adapters, self.scheduler,
                                     self.metrics)
        self._stopped = asyncio.Event()
        self._fatal: CoopbotError | None = None  # why the bot stopped on its own, if it did
        self._tasks: list[asyncio.Task[None]] = []
        self._connected_once: set[str] = set()

    def _load_adapters(self) -> dict[str, Adapter]:
        adapters: dict[str, Adapter] = {}
        for name in self.config.adapters.enabled_names:
            settings = getattr(self.config.adapters, name)
            module = importlib.import_module(f"bot.adapters.{name}")
            adapters[name] = module.create(settings, config=self.config, store=self.store,
                                           on_eof=self.request_stop)
        return adapters

    async def start(self) -> None:
        self.store.migrate()
        self.store.bind_loop_thread()  # commands run here: the fast path
        for kind, spec in self.registry.jobs.items():
            recurring = self.schedules.is_recurring(kind)
            self.scheduler.register(kind, self._job_runner(kind), catch_up=spec.catch_up,
                                    grace=self.schedules.grace(kind) if recurring else None,
                                    missed=functools.partial(self._dropped, kind) if recurring else None)
        await self.scheduler.start()
        self._recover_jobs()
        self.schedules.plan_at_start()
        self._tasks.append(asyncio.create_task(self.delivery.run()))
        self._tasks.append(asyncio.create_task(self._housekeeping()))
        self._tasks.append(asyncio.create_task(self._checkpoints()))
        if self.server is not None:
            for adapter in self.adapters.values():
                routes = getattr(adapter, "routes", None)
                if routes is not None:
                    self.server.add_routes(routes(self.respond, self.config.bot.prefix))
            await self.server.start()
        for name, adapter in self.adapters.items():
            if isinstance(adapter, Reconnecting):
                adapter.on_reconnect = functools.partial(self._reconnected, name)
            if isinstance(adapter, StopsOnRefusal):
                adapter.on_fatal = self.stop_for
            await adapter.start(self.dispatcher.handle)
        await self.delivery.retry_due()  # replies queued before a restart go out now
        # What start-up made lives as long as the process: out of the collector's sight, a full
        # collection no longer walks ~100k objects (a 45-70 ms stall in some command's reply).
        # No collection first: it found 50 unreachable objects in 60 ms, all on the first answer's path.
        gc.freeze()
        log.info("coopbot ready: adapters=%s storage=%s", ",".join(self.adapters), mask_url(self.config.storage.url))

    def _dropped(self, kind: str, dropped_job_id: str) -> None:
        """APScheduler dropped an occurrence it found too late while the bot ran (a suspended host): the next
        is planned, so the schedule goes on."""
        self.schedules.plan_next(kind, self.clock())

    def _reconnected(self, platform: str) -> None:
        """The adapter (re)connected and caught up: failed replies go out now; counted after the first."""
        self.delivery.retry_now(platform)
        if platform in self._connected_once:
            self.metrics.reconnected(platform)
        self._connected_once.add(platform)

    def problems(self) -> dict[str, str]:
        """Enabled adapters that are not connected, with the reason (``/healthz``)."""
        found = {}
        for name, adapter in self.adapters.items():
            problem = adapter.health() if isinstance(adapter, ReportsHealth) else None
            if problem:
                found[name] = problem
        return found

    def outbox_depth(self) -> dict[str, int]:
        """Replies waiting to be sent, for every enabled platform (``/metrics``)."""
        return {name: 0 for name in self.adapters} | self.delivery.depth()

    def prune(self) -> tuple[int, int]:
        """Forget handled message ids and sent replies older than ``KEEP``: no platform replays that far."""
        cutoff = self.clock() - KEEP
        with self.store.unit() as unit:
            return unit.inbox.prune(cutoff), unit.outbox.prune(cutoff)

    async def _housekeeping(self) -> None:
        while True:
            try:
                handled, sent = self.prune()
                if handled or sent:
                    log.info("pruned %d handled message ids and %d sent replies", handled, sent)
            except Exception:  # a failed clean-up must not stop the bot; try again next round
                log.exception("housekeeping failed")
            await asyncio.sleep(HOUSEKEEPING_SECONDS)

    async def _checkpoints(self) -> None:
        """Keep SQLite's write-ahead log short (see bot/storage/engine.py): every half minute, and at
        once when its file passes ``WAL_LIMIT_BYTES`` (under load, megabytes a second): a passive
        checkpoint in a thread, then finished on this thread, so the log starts again. One threshold for
        both, so a file left long by a passive checkpoint is finished, not checkpointed again every tick."""
        last = time.monotonic()
        while True:
            await asyncio.sleep(CHECKPOINT_TICK)
            if self.store.wal_bytes() <= WAL_LIMIT_BYTES and time.monotonic() - last < CHECKPOINT_SECONDS:
                continue
            last = time.monotonic()
            try:
                await asyncio.to_thread(self.store.checkpoint)
                self.store.bound_wal()
            except Exception:  # a busy or failing checkpoint is retried next round
                log.exception("checkpoint failed")

    def _recover_jobs(self) -> None:
        """Re-plan jobs the features' tables want but the scheduler lacks; too late ones are logged
        (except a ``catch_up`` kind's, which run however late)."""
        now = self.clock()
        grace = self.config.reminders.misfire_grace
        known = {job_id for job_id, _ in self.scheduler.jobs()}
        with self.store.unit() as unit:
            wanted = [(spec, planned) for spec in self.registry.jobs.values() if spec.recover
                      for planned in spec.recover(unit)]
        for spec, (job_id, run_at, payload) in wanted:
            kind = spec.kind
            if job_id in known:
                continue
            if run_at < now - grace and not spec.catch_up:
                log.warning("job %s was due at %s, more than %s ago: skipped", job_id, run_at.isoformat(), grace)
                continue
            log.info("job %s re-planned for %s", job_id, max(run_at, now).isoformat())
            self.scheduler.run_once(job_id, max(run_at, now), kind, payload)

    def _job_runner(self, kind: str) -> Callable[[dict[str, Any]], Any]:
        """What the scheduler runs for a job of ``kind``: ``run_job``, then a recurring job's next occurrence
        planned, whatever became of this one."""
        async def run(payload: dict[str, Any]) -> None:
            try:
                await self.run_job(kind, payload)
            finally:
                if self.schedules.is_recurring(kind):
                    self.schedules.plan_next(kind, schedules.occurrence_of(payload))
        return run

    async def run_job(self, kind: str, payload: dict[str, Any]) -> list[Outgoing]:
        spec = self.registry.jobs[kind]
        s = self.services
        with self.store.unit() as unit:
            ctx = JobContext(now=self.clock(), config=self.config, unit=unit, zones=s.zones, catalogue=s.catalogue,
                             registry=self.registry, outlets=s.outlets)
            if self.schedules.is_recurring(kind) and not self.schedules.claim(unit, kind, payload):
                return []
            items = self.dispatcher.post(unit, [*spec.func(ctx, payload), *ctx.posts])
        self.dispatcher.apply_jobs(ctx.jobs)
        await self.delivery.send(items)
        return items

    async def respond(self, incoming: Incoming) -> list[Outgoing]:
        """Answer at once (slash commands): replies for the command's channel are returned, marked sent."""
        items, plan = self.dispatcher.dispatch(incoming)
        self.dispatcher.apply_jobs(plan)
        here = [i for i in items if (i.platform, i.channel_id) == (incoming.platform, incoming.place.channel_id)]
        self.delivery.submit([i for i in items if i not in here])  # elsewhere: in the background, as any reply
        self.delivery.mark_sent(here)
        return here

    def request_stop(self) -> None:
        self._stopped.set()

    def stop_for(self, error: CoopbotError) -> None:
        """Stop because something cannot work (a refused token); ``run`` raises ``error`` once stopped."""
        self._fatal = self._fatal or error
        self._stopped.set()

    async def wait(self) -> None:
        await self._stopped.wait()

    async def stop(self) -> None:
        await self.delivery.drain(STOP_DRAIN_SECONDS)  # what is unsent after this waits in the outbox
        for adapter in self.adapters.values():
            await adapter.stop()
        if self.server is not None:
            await self.server.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.delivery.flush_sent()
        self.scheduler.shutdown()
        self.store.close()

    async def run(self) -> None:
        """Start, wait, stop; raises what made the bot stop on its own (``SettingRefused``)."""
        try:
            await self.start()
            await self.wait()
        finally:
            await self.stop()
        if self._fatal is not None:
            raise self._fatal
