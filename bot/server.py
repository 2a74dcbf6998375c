"""The bot's one HTTP server: slash commands, webhooks, health and metrics.

Adapters contribute routes (``routes()``); the core adds ``/healthz`` and
``/metrics``. Later features (calendar feeds, pages) add theirs the same way.
The bound address is logged, so a test can start it on port 0. This module is
imported only when the server is on: it alone loads ``aiohttp.web`` and
prometheus-client.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

from bot.metrics import Metrics

log = logging.getLogger(__name__)

# Seconds from a command's arrival to the platform accepting its reply.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # the text format generate_latest writes

Problems = Callable[[], Mapping[str, str]]  # enabled adapters that are not connected, and why
Depth = Callable[[], Mapping[str, int]]  # replies waiting in the outbox, by platform


class PrometheusMetrics(Metrics):
    """The recorder behind ``/metrics``, on a registry of its own (one per app)."""

    def __init__(self, outbox_depth: Depth) -> None:
        self.registry = CollectorRegistry()
        self._commands = Counter("coopbot_commands", "Commands handled, by command and outcome",
                                 ["command", "outcome"], registry=self.registry)
        self._sent = Counter("coopbot_replies_sent", "Replies a platform accepted", ["platform"],
                             registry=self.registry)
        self._failed = Counter("coopbot_replies_failed", "Reply sends that failed (each is retried)",
                               ["platform"], registry=self.registry)
        self._reconnects = Counter("coopbot_reconnects", "Reconnections to a platform after losing it",
                                   ["platform"], registry=self.registry)
        self._latency = Histogram("coopbot_reply_seconds", "From a command's arrival to its reply accepted",
                                  ["platform"], buckets=LATENCY_BUCKETS, registry=self.registry)
        started = time.monotonic()
        Gauge("coopbot_uptime_seconds", "Seconds since the bot started",
              registry=self.registry).set_function(lambda: time.monotonic() - started)
        self.registry.register(_OutboxDepth(outbox_depth))

    def command(self, name: str, outcome: str) -> None:
        self._commands.labels(name, outcome).inc()

    def sent(self, platform: str, seconds: float | None) -> None:
        self._sent.labels(platform).inc()
        if seconds is not None:
            self._latency.labels(platform).observe(seconds)

    def failed(self, platform: str) -> None:
        self._failed.labels(platform).inc()

    def reconnected(self, platform: str) -> None:
        self._reconnects.labels(platform).inc()

    def text(self) -> bytes:
        return generate_latest(self.registry)


class _OutboxDepth:
    """A gauge read from the store when scraped (the outbox is the truth, not a counter)."""

    NAME = "coopbot_outbox_depth"
    HELP = "Replies waiting in the outbox to be sent, by platform"

    def __init__(self, depth: Depth) -> None:
        self._depth = depth

    def describe(self) -> Iterator[GaugeMetricFamily]:  # lets the registry check names without a query
        yield GaugeMetricFamily(self.NAME, self.HELP, labels=["platform"])

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(self.NAME, self.HELP, labels=["platform"])
        for platform, waiting in sorted(self._depth().items()):
            family.add_metric([platform], waiting)
        yield family


class Server:
    def __init__(self, host: str, port: int, metrics: PrometheusMetrics, problems: Problems) -> None:
        self.host = host
        self.port = port
        self.metrics = metrics
        self._problems = problems
        self.app = web.Application()
        self.app.router.add_get("/healthz", self._health)
        self.app.router.add_get("/metrics", self._metrics)
        self._runner: web.AppRunner | None = None
        self.url = ""

    def add_routes(self, routes: Iterable[web.RouteDef]) -> None:
        self.app.router.add_routes(list(routes))

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        port = self._runner.addresses[0][1] if self._runner.addresses else self.port  # the real one for port 0
        self.url = f"http://{self.host}:{port}"
        log.info("server listening on %s", self.url)

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    async def _health(self, request: web.Request) -> web.Response:
        """200 while every enabled adapter is connected; 503 naming those that are not, and why."""
        problems = dict(self._problems())
        if problems:
            return web.json_response({"status": "unavailable", "adapters": problems}, status=503)
        return web.json_response({"status": "ok"})

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=self.metrics.text(), headers={"Content-Type": CONTENT_TYPE,
                                                                "Cache-Control": "no-store"})
