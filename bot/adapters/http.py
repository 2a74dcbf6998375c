"""A pooled JSON-over-HTTP client shared by the platform adapters.

One keep-alive ``aiohttp`` session per platform, so a reply costs one request
on a warm connection. Failures are mapped into coopbot's errors, as httpx maps
httpcore's: a 429 becomes ``RateLimited`` with the wait the server asked for
(``Retry-After``, Mattermost's ``X-Ratelimit-Reset`` in seconds, Discourse's
``extras.wait_seconds`` or Telegram's ``parameters.retry_after``), another 4xx ``RejectedError``, a 5xx or a broken
connection a plain, retryable ``AdapterError``.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import aiohttp
import orjson

from bot.errors import AdapterError, RateLimited, RejectedError

log = logging.getLogger(__name__)

DEFAULT_WAIT = 1.0


def retry_after(headers: Mapping[str, str], body: Any) -> float:
    """Seconds the server asked us to wait, from whichever hint it gave."""
    for name in ("Retry-After", "X-Ratelimit-Reset"):
        value = headers.get(name)
        if value:
            try:
                return max(0.0, float(value))
            except ValueError:
                pass
    if isinstance(body, dict):
        for hints, name in ((body.get("extras"), "wait_seconds"), (body.get("parameters"), "retry_after")):
            wait = hints.get(name) if isinstance(hints, dict) else None
            if isinstance(wait, (int, float)):
                return max(0.0, float(wait))
    return DEFAULT_WAIT


class JsonClient:
    def __init__(self, base_url: str, headers: Mapping[str, str], *, timeout: float = 15.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = dict(headers)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=32, keepalive_timeout=60)
            self._session = aiohttp.ClientSession(headers=self._headers, timeout=self._timeout, connector=connector,
                                                  json_serialize=_dumps)
        return self._session

    async def request(self, method: str, path: str, *, json_body: Any = None,
                      params: Mapping[str, str] | None = None) -> Any:
        url = self.base_url + path
        try:
            async with self._client().request(method, url, json=json_body, params=params) as response:
                raw = await response.read()
                status = response.status
                headers = response.headers
        except (aiohttp.ClientError, TimeoutError) as err:
            raise AdapterError(f"{method} {path}: {type(err).__name__}") from err
        body = _decode(raw)
        if status < 300:
            return body
        if status == 429:
            raise RateLimited(retry_after(headers, body), f"{method} {path} rate limited")
        if 400 <= status < 500:
            raise RejectedError(status, f"{method} {path}: {_message(body)}")
        raise AdapterError(f"{method} {path}: HTTP {status}")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


def _message(body: Any) -> str:
    if isinstance(body, dict):
        text = body.get("message") or body.get("description") or body.get("errors") or body.get("error_type") or ""
        return str(text)[:200]
    return str(body)[:200]
