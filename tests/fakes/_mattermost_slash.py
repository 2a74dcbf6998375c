"""Custom slash commands of the fake Mattermost (``shared/specs/mattermost-slash-commands.md``).

The server POSTs a form to the command's URL and turns the reply into posts:
``in_channel`` -> a post *by the user who ran the command*, marked
``from_webhook``; ``ephemeral`` (the default) -> an ``ephemeral_message``
event for that user only. ``response_url`` takes up to five delayed replies
within 30 minutes.
"""
from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from tests.fakes._mattermost_store import Channel, User
from tests.fakes.ids import new_id

if TYPE_CHECKING:
    from tests.fakes.mattermost import FakeMattermost

__all__ = ["SlashCommands", "SlashResult"]

RESPONSE_URL_USES = 5
RESPONSE_URL_SECONDS = 30 * 60
REQUEST_TIMEOUT_SECONDS = 30  # OutgoingIntegrationRequestsTimeout default


@dataclass(frozen=True)
class SlashResult:
    status: int
    response: dict[str, Any] | None  # the reply as the server parsed it (None if not 200)
    body: str  # the raw reply body
    headers: dict[str, str]
    posts: list[dict[str, Any]]  # in_channel posts it created
    ephemeral: list[dict[str, Any]]  # ephemeral posts sent to the caller
    seconds: float  # request sent -> reply read, measured by the server


@dataclass
class _Invocation:
    user: User
    channel: Channel
    root_id: str
    expires_at: float
    uses: int = 0


def parse_command_response(content_type: str, body: str) -> dict[str, Any]:
    """``CommandResponseFromHTTPBody``: JSON when so labelled, else the body is the text."""
    if content_type.split(";")[0].strip() == "application/json":
        parsed = json.loads(body)
        if not isinstance(parsed, dict):
            raise ValueError("command response is not a JSON object")
        return parsed
    return {"text": body}


class SlashCommands:
    def __init__(self, server: FakeMattermost) -> None:
        self._server = server
        self._invocations: dict[str, _Invocation] = {}

    async def run(self, url: str, token: str, user: User, channel: Channel, text: str, *,
                  command: str, root_id: str) -> SlashResult:
        server = self._server
        hook_id = new_id()
        self._invocations[hook_id] = _Invocation(user, channel, root_id,
                                                 server.clock.seconds() + RESPONSE_URL_SECONDS)
        trigger = base64.b64encode(f"{new_id()}:{user.id}:{int(time.time() * 1000)}:fake".encode())
        fields = {
            "channel_id": channel.id, "channel_name": channel.name, "command": command,
            "response_url": f"{server.url}/hooks/commands/{hook_id}", "root_id": root_id,
            "team_domain": server.team.name, "team_id": server.team.id, "text": text,
            "token": token, "trigger_id": trigger.decode(), "user_id": user.id,
            "user_name": user.username,
        }
        headers = {"Accept": "application/json", "Authorization": f"Token {token}",
                   "Content-Type": "application/x-www-form-urlencoded",
                   "User-Agent": "Mattermost-Bot/1.1"}
        started = time.perf_counter()
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with session.post(url, data=urlencode(sorted(fields.items())).encode(),
                                    headers=headers) as reply:
                body = await reply.text()
                status, reply_headers = reply.status, dict(reply.headers)
        seconds = time.perf_counter() - started
        if status != 200:
            return SlashResult(status, None, body, reply_headers, [], [], seconds)
        response = parse_command_response(reply_headers.get("Content-Type", ""), body)
        posts, ephemeral = await self._apply(response, self._invocations[hook_id])
        return SlashResult(status, response, body, reply_headers, posts, ephemeral, seconds)

    async def handle_response_url(self, request: web.Request) -> web.Response:
        """``POST /hooks/commands/{hook_id}``: a delayed reply."""
        invocation = self._invocations.get(request.match_info["hook_id"])
        if invocation is None or invocation.uses >= RESPONSE_URL_USES \
                or self._server.clock.seconds() > invocation.expires_at:
            return web.Response(status=400, content_type="text/plain",
                                text="invalid or expired response_url")
        invocation.uses += 1
        response = parse_command_response(request.headers.get("Content-Type", ""),
                                          await request.text())
        await self._apply(response, invocation)
        return web.Response(text="ok", content_type="text/plain")

    async def _apply(self, response: dict[str, Any], invocation: _Invocation
                     ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """``HandleCommandResponse``: the reply and its ``extra_responses``."""
        server = self._server
        posts: list[dict[str, Any]] = []
        ephemeral: list[dict[str, Any]] = []
        for item in [response, *(response.get("extra_responses") or [])]:
            props = dict(item.get("props") or {})
            if item.get("attachments"):
                props["attachments"] = item["attachments"]
            props["from_webhook"] = "true"
            text = str(item.get("text") or "")
            channel = server.store.channels.get(item.get("channel_id") or "", invocation.channel)
            if item.get("response_type") == "in_channel":
                post = server.store.create_post(user=invocation.user, channel=channel,
                                                message=text, root_id=invocation.root_id,
                                                props=props, post_type=item.get("type") or "")
                await server.announce_post(post)
                posts.append(server.store.post_json(post))
            elif text or item.get("attachments"):
                now = server.clock.now_ms()
                shown = {
                    "id": new_id(), "create_at": now, "update_at": now, "edit_at": 0,
                    "delete_at": 0, "is_pinned": False, "user_id": invocation.user.id,
                    "channel_id": channel.id, "root_id": invocation.root_id, "original_id": "",
                    "message": text, "type": "system_ephemeral", "props": dict(sorted(props.items())),
                    "hashtags": "", "file_ids": [], "pending_post_id": "", "reply_count": 0,
                    "last_reply_at": 0, "participants": None, "metadata": {},
                }
                await server.publish_ephemeral(invocation.user.id, shown)
                ephemeral.append(shown)
        return posts, ephemeral
