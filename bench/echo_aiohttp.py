"""The floor: a bare echo bot on aiohttp (one websocket, one pooled REST session).

    python bench/echo_aiohttp.py URL TOKEN

Answers ``!ping`` with ``pong`` in the command's thread. No storage, no parsing
beyond what Mattermost makes necessary (``data.post`` is a JSON string).
Used by ``bench/mattermost_latency.py``; logs ``ready`` on stderr once connected.
"""
from __future__ import annotations

import asyncio
import json
import sys

import aiohttp


async def run(url: str, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.get(f"{url}/api/v4/users/me") as response:
            me = (await response.json())["id"]
        async with http.ws_connect(f"{url}/api/v4/websocket") as ws:
            await ws.send_json({"seq": 1, "action": "authentication_challenge", "data": {"token": token}})
            async for message in ws:
                event = json.loads(message.data)
                if event.get("event") == "hello":
                    print("ready", file=sys.stderr, flush=True)
                if event.get("event") != "posted":
                    continue
                post = json.loads(event["data"]["post"])
                if post["message"] == "!ping" and post["user_id"] != me:
                    body = {"channel_id": post["channel_id"], "message": "pong", "root_id": post["id"]}
                    async with http.post(f"{url}/api/v4/posts", json=body) as reply:
                        await reply.read()


if __name__ == "__main__":
    asyncio.run(run(sys.argv[1], sys.argv[2]))
