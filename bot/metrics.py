"""What the bot counts, as the core sees it: a recorder whose methods do nothing.

The dispatcher, the delivery and the app call these on every command and
reply; with the HTTP server off that is all they cost. With it on,
``bot.server.PrometheusMetrics`` (the only importer of prometheus-client)
overrides them and serves the result at ``/metrics``.
"""
from __future__ import annotations


class Metrics:
    """The no-op recorder; subclasses record."""

    def command(self, name: str, outcome: str) -> None:
        """A command was handled: ``outcome`` is ok, user_error, internal_error, unknown or duplicate."""

    def sent(self, platform: str, seconds: float | None) -> None:
        """A platform accepted a reply; ``seconds`` from its command's arrival, if known."""

    def failed(self, platform: str) -> None:
        """A platform did not take a reply (it stays in the outbox and is retried)."""

    def reconnected(self, platform: str) -> None:
        """An adapter is connected again after losing its platform."""
