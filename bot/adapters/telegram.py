"""The Telegram adapter: the council's channel or group, through the Bot API. Output only.

Requests go to ``{api_url}/bot{token}/<method>`` (a self-hosted Bot API server,
or a test server, is just another ``api_url``); the token never reaches a log
line. At start ``getMe`` checks the token and ``getChat`` the chat: a refusal
ends the process naming ``adapters.telegram.token`` or ``.chat_id``.

Replies are written in Telegram's HTML (``bot.rendering``'s ``telegram``
style) and cut below 4096 characters as Telegram counts them
(``telegram_text``). Each part is recorded as posted once Telegram accepted it
(``Outgoing.on_posted``): Telegram cannot be read back, so after a crash a
retry goes on after the parts recorded and repeats at most the one part
accepted just before it. At most 20 messages go to the chat in any minute, and
nothing while a ``retry_after`` Telegram asked for runs; a wait longer than
``INLINE_WAIT`` is handed back to the outbox as ``RateLimited``, so no sender
holds a reply for minutes. A part Telegram refuses for its markup is logged
with Telegram's reason and sent again as plain text, never dropped.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from bot.adapters.http import JsonClient
from bot.adapters.startup import CheckedOutput
from bot.adapters.telegram_text import split_html, to_plain
from bot.errors import AdapterError, RateLimited, RejectedError, SettingRefused
from bot.messages import Incoming, Outgoing, Place, Reply
from bot.rendering import render

log = logging.getLogger(__name__)

PLATFORM = "telegram"
PER_MINUTE = 20  # messages to one group or channel in any minute (Bots FAQ)
WINDOW = 60.0
INLINE_WAIT = 5.0  # seconds a send may wait for a slot itself; longer, and the outbox waits instead
SETUP_MAX_DELAY = 60.0
MARKUP_REFUSED = "can't parse entities"
# Refusals that are about the chat, not the message: the bot was removed, the group became a supergroup
# (its id changed), the token was revoked. Each is waited out like an outage, never parked: an admin fixes it.
CHAT_REFUSALS = ((401, "", "adapters.telegram.token"), (403, "", "adapters.telegram.chat_id"),
                 (400, "chat not found", "adapters.telegram.chat_id"),
                 (400, "upgraded to a supergroup", "adapters.telegram.chat_id"))

Monotonic = Callable[[], float]


class ChatLimiter:
    """At most ``per_window`` messages in any ``window`` seconds, and none while Telegram's
    ``retry_after`` runs."""

    def __init__(self, per_window: int = PER_MINUTE, window: float = WINDOW, clock: Monotonic = time.monotonic) -> None:
        self.per_window = per_window
        self.window = window
        self._clock = clock
        self._sent: deque[float] = deque()
        self._held_until = 0.0

    def wait(self) -> float:
        """Seconds until the next message may go (0: now)."""
        now = self._clock()
        while self._sent and self._sent[0] <= now - self.window:
            self._sent.popleft()
        wait = self._held_until - now
        if len(self._sent) >= self.per_window:
            wait = max(wait, self._sent[0] + self.window - now)
        return max(0.0, wait)

    def sent(self) -> None:
        self._sent.append(self._clock())

    def hold(self, seconds: float) -> None:
        self._held_until = max(self._held_until, self._clock() + seconds)


class TelegramAdapter(CheckedOutput):
    platform = PLATFORM

    def __init__(self, *, token: str, chat_id: str, api_url: str, limiter: ChatLimiter | None = None) -> None:
        super().__init__("telegram setup", SETUP_MAX_DELAY, unchecked="token and chat not checked yet")
        self.rest = JsonClient(f"{api_url.rstrip('/')}/bot{token}", {})
        self._chat_id = chat_id
        self._place = Place(PLATFORM, chat_id)
        self.limiter = limiter or ChatLimiter()

    # lifecycle ----------------------------------------------------------------------------

    async def _check(self) -> None:
        """Raises ``SettingRefused`` if Telegram refuses the token or does not know the chat."""
        try:
            me = await self.rest.request("POST", "/getMe")
        except RejectedError as err:  # 401 Unauthorized (404 from some proxies for a malformed token)
            raise SettingRefused("adapters.telegram.token", "Telegram", err.status, str(err)) from None
        try:
            chat = await self.rest.request("POST", "/getChat", json_body={"chat_id": self._chat_id})
        except RejectedError as err:  # 400 Bad Request: chat not found; 403: the bot is not a member
            raise SettingRefused("adapters.telegram.chat_id", "Telegram", err.status,
                                 f"{err} (for chat_id {self._chat_id!r})") from None
        result = chat.get("result", {}) if isinstance(chat, dict) else {}
        username = (me.get("result") or {}).get("username") if isinstance(me, dict) else None
        log.info("telegram: @%s posts to %s %r", username, result.get("type", "chat"),
                 result.get("title") or result.get("username") or self._chat_id)

    async def stop(self) -> None:
        await super().stop()
        await self.rest.close()

    # sending ------------------------------------------------------------------------------

    def render(self, reply: Reply) -> str:
        return render(reply, "telegram")

    def reply_place(self, incoming: Incoming) -> Place:
        return self._place  # output only: nothing is read from Telegram yet

    def announce_place(self) -> Place | None:
        return self._place

    async def send(self, out: Outgoing) -> tuple[str, ...]:
        """Send ``out`` in as many messages as it takes, after the parts an earlier attempt posted;
        returns the message ids of them all. Nothing goes out before the token and the chat are checked
        (a wrong chat must not cost the queued messages their place); the check's success retries them."""
        if not self.ready.is_set():
            raise AdapterError(f"telegram: {self.unchecked}")
        posted = list(out.posted)
        parts = split_html(out.text)
        for part in parts[len(posted):]:
            posted.append(await self._send_part(out.channel_id, part))
            if len(parts) > 1 and out.on_posted is not None:
                out.on_posted(tuple(posted))
        return tuple(posted)

    async def _slot(self) -> None:
        """Wait for the chat's next free slot and take it (before the request: two senders never share one)."""
        while (wait := self.limiter.wait()) > 0:
            if wait > INLINE_WAIT:
                raise RateLimited(wait, "telegram: waiting for the chat's message limit")
            await asyncio.sleep(wait)
        self.limiter.sent()

    async def _send_part(self, chat_id: str, text: str) -> str:
        body: dict[str, Any] = {"chat_id": chat_id, "text": text, "parse_mode": "HTML",
                                "link_preview_options": {"is_disabled": True}}
        try:
            return await self._send_message(body)
        except RejectedError as err:
            if err.status != 400 or MARKUP_REFUSED not in str(err):
                raise
            log.error("telegram refused a message's markup (%s); sending it as plain text", err)
        plain = {key: value for key, value in body.items() if key != "parse_mode"} | {"text": to_plain(text)}
        return await self._send_message(plain)

    async def _send_message(self, body: dict[str, Any]) -> str:
        await self._slot()
        try:
            answer = await self.rest.request("POST", "/sendMessage", json_body=body)
        except RateLimited as err:
            self.limiter.hold(err.retry_after)
            raise
        except RejectedError as err:
            key = _refused_key(err)
            if key is None:
                raise
            if self._trouble is None:
                log.error("telegram refused the bot in its chat (%s); check %s. Messages wait until it is fixed",
                          err, key)
            self._trouble = f"{key}: {err}"
            raise AdapterError(f"telegram: {self._trouble}") from err
        if self._trouble is not None:
            log.info("telegram: the chat accepts the bot's messages again")
            self._trouble = None
        message = answer.get("result") if isinstance(answer, dict) else None
        if not isinstance(message, dict) or "message_id" not in message:
            raise AdapterError("telegram: sendMessage answered without a message")
        return str(message["message_id"])


def _refused_key(err: RejectedError) -> str | None:
    """The setting to check when Telegram refuses the bot in its chat (``CHAT_REFUSALS``); None when
    the message is at fault."""
    return next((key for status, words, key in CHAT_REFUSALS if err.status == status and words in str(err)), None)


def create(settings: Any, **_: Any) -> TelegramAdapter:
    """Factory the app calls with the ``adapters.telegram`` settings."""
    return TelegramAdapter(token=settings.token.get_secret_value(), chat_id=settings.chat_id,
                           api_url=settings.api_url)
