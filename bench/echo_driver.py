"""A bare echo bot on mattermostdriver 7.3.2, used as its README shows.

    python bench/echo_driver.py URL TOKEN

``Driver.login()``, then ``init_websocket(handler)``; the handler answers
``!ping`` with ``driver.posts.create_post`` (a synchronous ``requests`` call,
as documented). Used by ``bench/mattermost_latency.py``.
"""
from __future__ import annotations

import json
import sys
from typing import Any
from urllib.parse import urlsplit

from mattermostdriver import Driver


def main(url: str, token: str) -> None:
    parts = urlsplit(url)
    driver = Driver({"url": parts.hostname, "port": parts.port, "scheme": parts.scheme, "token": token})
    me = driver.login()["id"]

    async def handler(message: str) -> None:
        event: dict[str, Any] = json.loads(message)
        if event.get("event") == "hello":
            print("ready", file=sys.stderr, flush=True)
        if event.get("event") != "posted":
            return
        post = json.loads(event["data"]["post"])
        if post["message"] == "!ping" and post["user_id"] != me:
            driver.posts.create_post({"channel_id": post["channel_id"], "message": "pong", "root_id": post["id"]})

    driver.init_websocket(handler)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
