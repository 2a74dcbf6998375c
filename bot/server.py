"""The bot's one HTTP server: slash commands, webhooks, health and metrics.

Adapters contribute routes (``routes()``); the core adds ``/healthz`` and
``/metrics``. Later features (calendar feeds, pages) add theirs the same way.
The bound address is logged, so a test can start it on port 0.
"""
from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable

from aiohttp import web

log = logging.getLogger(__name__)


class Metrics:
    """Counters exposed at /metrics in Prometheus' text format."""

    def __init__(self) -> None:
        self.counters: Counter[str] = Counter()
        self.started = time.monotonic()

    def inc(self, name: str, by: int = 1) -> None:
        self.counters[name] += by

    def text(self) -> str:
        lines = [f"coopbot_uptime_seconds {time.monotonic() - self.started:.0f}"]
        lines += [f"coopbot_{name}_total {value}" for name, value in sorted(self.counters.items())]
        return "\n".join(lines) + "\n"


class Server:
    def __init__(self, host: str, port: int, metrics: Metrics) -> None:
        self.host = host
        self.port = port
        self.metrics = metrics
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
        return web.json_response({"status": "ok"})

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(text=self.metrics.text(), content_type="text/plain")
