"""Mentions pushed by a Discourse webhook: ``POST /discourse/webhook`` on the bot's server.

Discourse signs each delivery with ``X-Discourse-Event-Signature:
sha256=<hex HMAC-SHA256 of the raw body, keyed with the webhook's secret>``.
The signature is checked on the exact bytes received, with
``hmac.compare_digest``; an unsigned or forged delivery is refused (401) and
logged. Discourse signs no timestamp, so the event id
(``X-Discourse-Event-Id``) is what makes a delivery unique: one this process
already handled is refused (409) before anything is done; one an earlier run
handled (the store's inbox, under ``discourse-webhook``) is refused too, after
the dispatcher's claim on the post id has already kept it from being answered
again. A delivery is recorded only once it was handled, so Discourse's own
retry of one that failed (a 5xx from us) is still accepted.

Only ``post_created`` is acted on; ``post_edited`` and ``post_destroyed`` are
acknowledged and ignored, so editing or deleting a post never runs a
command again.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone

from aiohttp import web

from bot.adapters.discourse_text import PostView, post_view
from bot.adapters.recent import RecentIds
from bot.errors import AdapterError
from bot.storage import Store

log = logging.getLogger(__name__)

PATH = "/discourse/webhook"
EVENT_PLATFORM = "discourse-webhook"
SIGNATURE_PREFIX = "sha256="
REMEMBERED_EVENTS = 10_000

OnPost = Callable[[PostView], Awaitable[None]]


def signature(secret: bytes, body: bytes) -> str:
    """The ``X-Discourse-Event-Signature`` Discourse sends for ``body``."""
    return SIGNATURE_PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


def signature_ok(secret: bytes, body: bytes, header: str | None) -> bool:
    """True if ``header`` is the signature of ``body``; compared in constant time, as bytes."""
    if not header or not header.startswith(SIGNATURE_PREFIX):
        return False
    return hmac.compare_digest(header.strip().encode(), signature(secret, body).encode())


class EventLog:
    """Event ids already handled: recent ones in memory, all of them in the store."""

    def __init__(self, store: Store, size: int = REMEMBERED_EVENTS) -> None:
        self._store = store
        self._recent = RecentIds(size)

    def seen(self, event_id: str) -> bool:
        return event_id in self._recent

    def record(self, event_id: str) -> bool:
        """Record a handled event; False if it had been recorded before (a replay)."""
        self._recent.add(event_id)
        with self._store.unit() as unit:
            return unit.inbox.claim(EVENT_PLATFORM, event_id, datetime.now(timezone.utc))


class WebhookReceiver:
    def __init__(self, secret: str, events: EventLog, on_post: OnPost) -> None:
        self._secret = secret.encode()
        self._events = events
        self._on_post = on_post

    def routes(self) -> list[web.RouteDef]:
        return [web.post(PATH, self.handle)]

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        event_id = request.headers.get("X-Discourse-Event-Id", "")
        event = request.headers.get("X-Discourse-Event", "")
        if not signature_ok(self._secret, body, request.headers.get("X-Discourse-Event-Signature")):
            reason = "unsigned" if "X-Discourse-Event-Signature" not in request.headers else "forged"
            return self._refuse(request, 401, reason, event_id)
        if not event_id:
            return self._refuse(request, 400, "no event id on a", event_id)
        if self._events.seen(event_id):
            return self._refuse(request, 409, "replayed", event_id)
        try:
            await self._dispatch(event, body)
        except ValueError:
            return self._refuse(request, 400, "malformed", event_id)
        except AdapterError as err:  # a lookup failed: let Discourse retry this event
            log.warning("discourse webhook: event %s not handled yet: %s", event_id, err)
            return web.json_response({"error": "try again later"}, status=503)
        if not self._events.record(event_id):
            return self._refuse(request, 409, "replayed", event_id)
        return web.json_response({"ok": True})

    async def _dispatch(self, event: str, body: bytes) -> None:
        if event != "post_created":
            log.debug("discourse webhook: %s ignored", event or "event without a name")
            return
        payload = json.loads(body)
        if not isinstance(payload, dict) or not isinstance(payload.get("post"), dict):
            raise ValueError("post_created without a post")
        await self._on_post(post_view(payload["post"]))

    def _refuse(self, request: web.Request, status: int, reason: str, event_id: str) -> web.Response:
        log.warning("discourse webhook: %s delivery refused (event %s, from %s)",
                    reason, event_id or "-", request.remote)
        return web.json_response({"error": f"{reason} delivery"}, status=status)
