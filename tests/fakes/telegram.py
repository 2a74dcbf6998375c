"""A protocol-faithful fake Telegram Bot API server: a real aiohttp server on 127.0.0.1.

    async with FakeTelegram() as tg:
        # api_url = tg.url; requests go to f"{tg.url}/bot{tg.token}/sendMessage"
        ...
        [message] = await tg.wait_for_messages(1)
        assert message.text == "Agenda" and message.entities[0]["type"] == "bold"

Methods: ``getMe``, ``getChat`` and ``sendMessage`` (names case-insensitive,
GET or POST, parameters in the query string or a JSON / urlencoded / multipart
body); any other method answers 404 ``Not Found: method not found``, as the
real server does for a name it does not know. Envelopes, status codes, error
descriptions and the 429 follow Telegram's own server (``_telegram_api``),
``parse_mode=HTML`` follows tdlib's parser (``_telegram_html``) and the text
clean-up every message gets (``_telegram_text``); ``shared/specs/telegram.md``
has the sources.

``sendMessage`` rules: text 1..4096 UTF-16 code units after parsing and
trimming; at most ``per_minute`` messages per chat in any ``window`` seconds,
then 429 with ``retry_after`` = whole seconds until a slot frees. A request
arriving for a chat before the end of a ``retry_after`` it was given is
recorded in ``early_requests`` (a well-behaved bot keeps that empty).

Scripting: ``down`` (True: 502 from the front proxy; "reset": the connection
is dropped unanswered), ``flood(retry_after, times)``, ``refuse_markup``,
``removed`` (chat ids the bot was removed from: 403 ``Forbidden: bot is not a
member of the channel chat``).
Deviations: Markdown and MarkdownV2 are not parsed (400 naming the fake);
entities Telegram detects by itself (url, mention, hashtag, ...) are not added.
"""
from __future__ import annotations

import asyncio
import json
import math
import re
import socket
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

from ._telegram_api import ApiError, FakeChat, bad_gateway, is_true, json_object, method_from_path, ok, read_params
from ._telegram_html import HtmlError, parse_html_entities
from ._telegram_text import Entity, TextError, bot_api_description, fix_formatted_text, utf16_len

__all__ = ["DEFAULT_CHAT", "EarlyRequest", "FakeChat", "FakeTelegram", "RecordedRequest", "SentMessage",
           "TelegramHtmlError", "parse_html"]

MAX_TEXT_LENGTH = 4096  # UTF-16 code units, counted after entity parsing
DEFAULT_CHAT = FakeChat(-1001234567890, "channel", title="Council", username="coopcouncil")
REFUSED_MARKUP = "Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"b\""
USER_ENTITY_TYPES = frozenset({"bold", "italic", "underline", "strikethrough", "spoiler", "blockquote",
                               "expandable_blockquote", "code", "pre", "text_link", "text_mention", "custom_emoji"})
DETECTED_ENTITY_TYPES = frozenset({"mention", "hashtag", "cashtag", "bot_command", "url", "email", "phone_number"})
METHOD_NAMES = {"getme": "getMe", "getchat": "getChat", "sendmessage": "sendMessage"}
PREVIEW_KEYS = ("is_disabled", "url", "prefer_small_media", "prefer_large_media", "show_above_text")


class TelegramHtmlError(ValueError):
    """HTML Telegram refuses; ``description`` is the whole Bot API description."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """The text and MessageEntity objects Telegram makes of ``text`` sent with ``parse_mode=HTML``.

    Raises ``TelegramHtmlError`` with the description of the 400 the server would answer.
    Blank text gives ``("", [])`` (the server would refuse it as ``message must be non-empty``).
    """
    try:
        plain, entities = parse_html_entities(text)
        plain, entities = fix_formatted_text(plain, entities, allow_empty=True)
    except HtmlError as error:
        raise TelegramHtmlError(f"Bad Request: can't parse entities: {error}") from None
    except TextError as error:
        raise TelegramHtmlError(bot_api_description(str(error))) from None
    return plain, [entity.to_json() for entity in entities]


@dataclass(frozen=True)
class SentMessage:
    """A message the fake accepted."""

    chat_id: int
    message_id: int
    text: str  # after parsing and trimming, as Telegram shows it
    entities: list[dict[str, Any]]
    parse_mode: str | None  # as sent
    raw_text: str  # the ``text`` parameter as sent
    at: float  # the injected clock when the request arrived
    date: int  # unix time in the answer
    result: dict[str, Any]  # the Message object answered
    params: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request; ``status`` 0 means the connection was dropped unanswered."""

    method: str  # "sendMessage" for any spelling of a known method, else as in the URL
    params: dict[str, Any]  # as sent: JSON values, or strings from a form / the query string
    at: float
    status: int
    http_method: str = "POST"


@dataclass(frozen=True)
class EarlyRequest:
    """A sendMessage that arrived for ``chat_id`` before the ``retry_after`` it was told had run out."""

    chat_id: int
    at: float
    retry_until: float  # when the wait it was told ends (same clock)
    params: dict[str, Any]


class FakeTelegram:
    """The Bot API for one bot token; ``url`` is the api_url to give the client."""

    def __init__(self, *, token: str = "123456:TEST-token", bot_username: str = "coopbot_bot",
                 bot_first_name: str = "Coopbot", chats: Iterable[FakeChat] | None = None,
                 per_minute: int = 20, window: float = 60.0, clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time) -> None:
        bot_id, colon, _ = token.partition(":")
        if not (bot_id.isdigit() and colon):
            raise ValueError(f"a bot token looks like 123456:secret, not {token!r}")
        self.token = token
        self.bot = {"id": int(bot_id), "is_bot": True, "first_name": bot_first_name, "username": bot_username}
        self.chats: dict[int, FakeChat] = {}
        for chat in (DEFAULT_CHAT,) if chats is None else chats:
            self.add_chat(chat)
        self.per_minute, self.window = per_minute, window
        self.clock, self.wall_clock = clock, wall_clock
        self.down: bool | Literal["reset"] = False
        self.refuse_markup = False
        self.removed: set[int] = set()  # chats the bot was removed from: sendMessage there answers 403
        self.messages: list[SentMessage] = []
        self.requests: list[RecordedRequest] = []
        self.early_requests: list[EarlyRequest] = []
        self._last_message_id: dict[int, int] = {}
        self._sent_at: dict[int, deque[float]] = {}
        self._retry_until: dict[int, float] = {}
        self._scripted: deque[int] = deque()
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # --- lifecycle ------------------------------------------------------------------------------
    async def __aenter__(self) -> FakeTelegram:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- scripting and observing ------------------------------------------------------------------
    def add_chat(self, chat: FakeChat) -> FakeChat:
        self.chats[chat.id] = chat
        return chat

    def flood(self, retry_after: int, times: int = 1) -> None:
        """The next ``times`` sendMessage calls that would succeed answer 429 with ``retry_after``."""
        if retry_after < 1 or times < 1:
            raise ValueError("retry_after and times must be at least 1")
        self._scripted.extend([retry_after] * times)

    async def wait_for_messages(self, count: int, chat_id: int | str | None = None,
                                timeout: float = 10.0) -> list[SentMessage]:
        """The sent messages (to ``chat_id``), once there are at least ``count`` of them."""
        wanted = None if chat_id is None else self._find_chat(str(chat_id))
        if chat_id is not None and wanted is None:
            raise KeyError(f"no chat {chat_id!r}")

        def matching() -> list[SentMessage]:
            return [m for m in self.messages if wanted is None or m.chat_id == wanted.id]

        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: len(matching()) >= count), timeout)
            except TimeoutError:
                texts = [m.text[:40] for m in matching()]
                raise TimeoutError(f"{len(texts)} of {count} messages after {timeout}s: {texts}") from None
        return matching()

    # --- HTTP -------------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        at = self.clock()
        name = request.path.rpartition("/")[2]
        if self.down:
            self._record(name, dict(request.query), at, 0 if self.down == "reset" else 502, request.method)
            if self.down == "reset":
                assert request.transport is not None
                request.transport.abort()
                raise asyncio.CancelledError
            return bad_gateway()
        received: dict[str, Any] = dict(request.query)
        try:
            received, params = await read_params(request)
            method = method_from_path(request.path, self.token)
            name = METHOD_NAMES.get(method, name)
            response = ok(await self._call(method, params, received, at))
        except ApiError as error:
            response = error.response()
        self._record(name, received, at, response.status, request.method)
        return response

    def _record(self, method: str, params: dict[str, Any], at: float, status: int, http_method: str) -> None:
        self.requests.append(RecordedRequest(method, params, at, status, http_method))

    async def _call(self, method: str, params: dict[str, str], received: dict[str, Any], at: float) -> Any:
        if method == "getme":
            return {**self.bot, "can_join_groups": True, "can_read_all_group_messages": False,
                    "supports_inline_queries": False, "can_connect_to_business": False, "has_main_web_app": False}
        if method == "getchat":
            return self._chat_param(params).full_info()
        if method == "sendmessage":
            message = self._send_message(params, received, at)
            async with self._changed:
                self._changed.notify_all()
            return message.result
        raise ApiError(404, "Not Found: method not found")

    # --- chats ------------------------------------------------------------------------------------
    def _find_chat(self, ref: str) -> FakeChat | None:
        """``chat_id`` as the server reads it: a number, or ``@username``."""
        if ref.startswith("@"):
            return next((c for c in self.chats.values() if c.username and c.username.lower() == ref[1:].lower()),
                        None)
        return self.chats.get(int(ref)) if re.fullmatch(r"-?[0-9]+", ref) else None

    def _chat_param(self, params: dict[str, str]) -> FakeChat:
        if not params.get("chat_id"):
            raise ApiError(400, "Bad Request: chat_id is empty")
        chat = self._find_chat(params["chat_id"])
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        return chat

    # --- sendMessage ------------------------------------------------------------------------------
    def _send_message(self, params: dict[str, str], received: dict[str, Any], at: float) -> SentMessage:
        target = self._find_chat(params.get("chat_id", ""))
        if target is not None and at < self._retry_until.get(target.id, -math.inf):
            self.early_requests.append(EarlyRequest(target.id, at, self._retry_until[target.id], received))
        raw_text = params.get("text", "")
        if not raw_text:
            raise ApiError(400, "Bad Request: message text is empty")
        parse_mode = params.get("parse_mode")
        text, entities = self._format(raw_text, (parse_mode or "").lower(), params)
        chat = self._chat_param(params)
        if chat.id in self.removed:
            raise ApiError(403, f"Forbidden: bot is not a member of the {chat.type} chat")
        if utf16_len(text) > MAX_TEXT_LENGTH:
            raise ApiError(400, "Bad Request: message is too long")
        reply_to = self._replied(chat, params)
        preview = self._link_preview(params)
        self._check_flood(chat.id, at)

        message_id = self._last_message_id[chat.id] = self._last_message_id.get(chat.id, 0) + 1
        result: dict[str, Any] = {"message_id": message_id}
        if chat.type == "channel":
            result["sender_chat"] = chat.to_json()
        else:
            result["from"] = dict(self.bot)
        result.update({"chat": chat.to_json(), "date": int(self.wall_clock())})
        if reply_to is not None:
            result["reply_to_message"] = {k: v for k, v in reply_to.result.items() if k != "reply_to_message"}
        result["text"] = text
        if entities:
            result["entities"] = [entity.to_json() for entity in entities]
        if preview:
            result["link_preview_options"] = preview
        message = SentMessage(chat.id, message_id, text, result.get("entities", []), parse_mode, raw_text, at,
                              result["date"], result, received)
        self.messages.append(message)
        self._sent_at.setdefault(chat.id, deque()).append(at)
        return message

    def _format(self, raw_text: str, mode: str, params: dict[str, str]) -> tuple[str, list[Entity]]:
        if mode not in ("", "none", "html", "markdown", "markdownv2"):
            raise ApiError(400, "Bad Request: unsupported parse_mode")
        try:
            if mode in ("", "none"):
                return fix_formatted_text(raw_text, self._entities_param(params.get("entities")))
            if self.refuse_markup:
                raise ApiError(400, REFUSED_MARKUP)
            if mode != "html":
                raise ApiError(400, f"Bad Request: can't parse entities: FakeTelegram does not implement {mode}")
            return fix_formatted_text(*parse_html_entities(raw_text))
        except HtmlError as error:
            raise ApiError(400, f"Bad Request: can't parse entities: {error}") from None
        except TextError as error:
            raise ApiError(400, bot_api_description(str(error))) from None

    @staticmethod
    def _entities_param(value: str | None) -> list[Entity]:
        """``entities`` instead of parse_mode; the kinds Telegram detects itself are dropped."""
        if not value:
            return []
        try:
            items = json.loads(value)
            assert isinstance(items, list)
            entities = [Entity(str(item["type"]), int(item["offset"]), int(item["length"]), item.get("url"),
                               item.get("language"), item.get("custom_emoji_id"), (item.get("user") or {}).get("id"))
                        for item in items]
        except (ValueError, AssertionError, KeyError, TypeError, AttributeError):
            raise ApiError(400, "Bad Request: can't parse entities JSON object") from None
        unknown = {e.type for e in entities} - USER_ENTITY_TYPES - DETECTED_ENTITY_TYPES
        if unknown:
            raise ApiError(400, "Bad Request: can't parse MessageEntity: Unsupported type specified")
        return [e for e in entities if e.type in USER_ENTITY_TYPES]

    def _replied(self, chat: FakeChat, params: dict[str, str]) -> SentMessage | None:
        allow = is_true(params.get("allow_sending_without_reply", ""))
        if params.get("reply_parameters"):
            reply = json_object(params["reply_parameters"], "reply parameters")
            where = chat if reply.get("chat_id") is None else self._find_chat(str(reply["chat_id"]))
            if where is None:
                raise ApiError(400, "Bad Request: chat not found")
            wanted, chat, allow = reply.get("message_id"), where, reply.get("allow_sending_without_reply") is True
        elif params.get("reply_to_message_id"):
            wanted = params["reply_to_message_id"]
        else:
            return None
        found = next((m for m in self.messages if m.chat_id == chat.id and str(m.message_id) == str(wanted)), None)
        if found is None and not allow:
            raise ApiError(400, "Bad Request: message to be replied not found")
        return found

    @staticmethod
    def _link_preview(params: dict[str, str]) -> dict[str, Any]:
        if params.get("link_preview_options"):
            options = json_object(params["link_preview_options"], "link preview options")
            return {key: options[key] for key in PREVIEW_KEYS if options.get(key)}
        return {"is_disabled": True} if is_true(params.get("disable_web_page_preview", "")) else {}

    def _check_flood(self, chat_id: int, at: float) -> None:
        """Raise the 429 for a send now, and remember until when the chat was told to wait."""
        until = self._retry_until.get(chat_id, -math.inf)
        sent = self._sent_at.setdefault(chat_id, deque())
        while sent and sent[0] <= at - self.window:
            sent.popleft()
        if self._scripted:
            wait = self._scripted.popleft()
        elif at < until:
            wait = max(1, math.ceil(until - at))
        elif len(sent) >= self.per_minute:
            wait = max(1, math.ceil(sent[0] + self.window - at))
        else:
            return
        self._retry_until[chat_id] = max(until, at + wait)
        raise ApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait)
