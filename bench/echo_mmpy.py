"""mmpy_bot 2.x answering ``!ping`` with a one-function plugin, as its README shows.

    .bench-venv/bin/python bench/echo_mmpy.py URL TOKEN TEAM

Runs in its own venv (``.bench-venv``, see ``bench/mattermost_latency.py``):
mmpy_bot pins a different Mattermost driver than coopbot. Logs ``ready`` on
stderr once the websocket says hello. Used by ``bench/mattermost_latency.py``.
"""
from __future__ import annotations

import json
import sys
from urllib.parse import urlsplit

from mmpy_bot import Bot, Message, Plugin, Settings, listen_to


class Ping(Plugin):
    @listen_to("^!ping$")
    async def ping(self, message: Message) -> None:
        self.driver.reply_to(message, "pong")


class ReadyBot(Bot):
    """Says ``ready`` on the websocket's hello, as the other contenders do."""

    def run(self) -> None:
        handle = self.event_handler._handle_event

        async def announcing(data: str) -> None:
            if json.loads(data).get("event") == "hello":
                print("ready", file=sys.stderr, flush=True)
            await handle(data)

        self.event_handler._handle_event = announcing  # type: ignore[method-assign]
        super().run()


def main(url: str, token: str, team: str) -> None:
    parts = urlsplit(url)
    settings = Settings(MATTERMOST_URL=f"{parts.scheme}://{parts.hostname}", MATTERMOST_PORT=parts.port or 80,
                        MATTERMOST_API_PATH="", BOT_TOKEN=token, BOT_TEAM=team, SSL_VERIFY=False,
                        LOG_LEVEL=30)
    ReadyBot(settings=settings, plugins=[Ping()]).run()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
