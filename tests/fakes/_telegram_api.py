"""The Bot API's wire format: URL, parameters, answers (``tdlib/telegram-bot-api``).

- ``/bot<token>/<method>``; anything else is 404 ``Not Found``. A malformed
  token is 401 ``Unauthorized: invalid token specified``, a well-formed but
  wrong one 401 ``Unauthorized`` (``ClientManager::send``).
- Parameters come from the query string, then from a JSON, urlencoded or
  multipart body; the first occurrence of a name wins. The server sees every
  value as a string: JSON strings as they are, other JSON values as their JSON
  text (so ``"parse_mode": null`` is the string ``null``) (``HttpReader``).
- Success is 200 ``{"ok":true,"result":...}``; an error has HTTP status ==
  ``error_code`` and ``{"ok":false,"error_code":N,"description":"..."}``, plus
  ``parameters.retry_after`` and a ``Retry-After`` header for 429. Always
  ``Content-Type: application/json`` (``HttpConnection::send_response``).
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web

__all__ = ["ApiError", "FakeChat", "bad_gateway", "is_true", "json_object", "method_from_path", "ok",
           "read_params"]

ChatType = Literal["private", "group", "supergroup", "channel"]
INTEGER = re.compile(r"-?[0-9]+")
NGINX_502 = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
             b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


class ApiError(Exception):
    """An error answer: ``code`` is both the HTTP status and ``error_code``."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after

    def response(self) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        headers = {"Content-Type": "application/json"}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
            headers["Retry-After"] = str(self.retry_after)
        return web.Response(status=self.code, body=dumps(body), headers=headers)


def ok(result: Any) -> web.Response:
    return web.Response(status=200, body=dumps({"ok": True, "result": result}),
                        headers={"Content-Type": "application/json"})


def bad_gateway() -> web.Response:
    """What a front proxy (nginx) answers when the Bot API server behind it is gone."""
    return web.Response(status=502, body=NGINX_502, headers={"Content-Type": "text/html"})


def method_from_path(path: str, token: str) -> str:
    """The lower-cased method name of ``/bot<token>/<method>``, or the ApiError the server answers."""
    if not path.startswith("/bot"):
        raise ApiError(404, "Not Found")
    given, slash, method = path[len("/bot"):].partition("/")
    if not slash:
        raise ApiError(404, "Not Found")
    if not given or given[0] == "0" or len(given) > 80 or ":" not in given:
        raise ApiError(401, "Unauthorized: invalid token specified")
    bot_id = given.partition(":")[0]
    if not INTEGER.fullmatch(bot_id):
        raise ApiError(421, "Misdirected Request: unallowed token specified")
    if not 0 < int(bot_id) < 2**54:
        raise ApiError(401, "Unauthorized: invalid token specified")
    if given != token:
        raise ApiError(401, "Unauthorized")  # the real server learns it when Telegram refuses to log in
    return method.lower()


def _first_wins(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        out.setdefault(key, value)
    return out


def _json_body(raw: bytes) -> dict[str, Any]:
    text = raw.decode("utf-8", "replace")
    if not text.strip():
        return {}
    try:
        value = json.loads(text, object_pairs_hook=_first_wins)
    except ValueError:
        if text.lstrip()[:1] != "{":
            raise ApiError(400, "Bad Request: JSON object expected") from None
        raise ApiError(400, "Bad Request: expected next field or object end") from None  # one of several
    if isinstance(value, str):
        return {"content": value}
    if not isinstance(value, dict):
        raise ApiError(400, "Bad Request: JSON object expected")
    return value


async def read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, str]]:
    """The parameters as the client sent them, and as the server sees them (strings)."""
    received: dict[str, Any] = {}
    for key, value in request.query.items():
        received.setdefault(key, value)
    body: Mapping[str, Any] = {}
    if request.content_type == "application/json":
        body = _json_body(await request.read())
    elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        body = _first_wins((key, value) for key, value in form.items() if isinstance(value, str))
    for key, value in body.items():
        received.setdefault(key, value)
    seen = {key: value if isinstance(value, str) else dumps(value).decode() for key, value in received.items()}
    return received, seen


def is_true(value: str) -> bool:
    """A Bot API boolean parameter."""
    return value.lower() in ("true", "1", "yes")


def json_object(value: str, what: str) -> dict[str, Any]:
    """A JSON-serialized object parameter, e.g. ``reply_parameters``."""
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise ApiError(400, f"Bad Request: can't parse {what} JSON object")
    return parsed


@dataclass(frozen=True)
class FakeChat:
    """A chat the bot can post to."""

    id: int
    type: ChatType = "channel"
    title: str | None = None
    username: str | None = None
    first_name: str | None = None  # private chats

    def to_json(self) -> dict[str, Any]:
        """The ``Chat`` object inside a Message."""
        out: dict[str, Any] = {"id": self.id}
        for key in ("title", "username", "first_name"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        out["type"] = self.type
        return out

    def full_info(self) -> dict[str, Any]:
        """The ``ChatFullInfo`` of getChat (accepted_gift_types is required since Bot API 9.0)."""
        out = self.to_json()
        if self.username:
            out["active_usernames"] = [self.username]
        out.update({
            "accent_color_id": 0, "max_reaction_count": 11,
            "accepted_gift_types": {"unlimited_gifts": False, "limited_gifts": False, "unique_gifts": False,
                                    "premium_subscription": False, "gifts_from_channels": False},
        })
        return out
