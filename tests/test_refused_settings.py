"""A wrong token or API key stops the bot at once with one message; an unreachable server is waited for.

The real bot process against the fake Mattermost, the fake Discourse and a real
SMTP server on loopback.
"""
from __future__ import annotations

import pathlib

from tests.auxil.discourse_bot import discourse_config
from tests.auxil.process import BotProcess, bot_config
from tests.auxil.smtp import MailServer
from tests.fakes.discourse import FakeDiscourse
from tests.fakes.mattermost import FakeMattermost


def mattermost_config(folder: pathlib.Path, mm: FakeMattermost, token: str) -> pathlib.Path:
    return bot_config(folder, adapters={"mattermost": {"enabled": True, "url": mm.url, "token": token,
                                                        "team": mm.team.name, "reconnect_max_delay": "1s"}})


def the_error(bot: BotProcess) -> list[str]:
    return [line for line in bot.lines if "cannot start" in line]


async def test_a_wrong_mattermost_token_ends_the_process_with_one_message(tmp_path: pathlib.Path) -> None:
    async with FakeMattermost() as mm:
        bot = await BotProcess(mattermost_config(tmp_path, mm, "not-the-bots-token")).start()
        assert await bot.exited() == 1
        (message,) = the_error(bot)
        assert "adapters.mattermost.token" in message and "HTTP 401" in message
        assert "Invalid or expired session" in message  # what the server answered
        assert "not-the-bots-token" not in bot.log()  # never the secret itself
        assert "Traceback" not in bot.log()


async def test_a_wrong_team_ends_the_process_naming_the_team_key(tmp_path: pathlib.Path) -> None:
    async with FakeMattermost() as mm:
        config = bot_config(tmp_path, adapters={"mattermost": {"enabled": True, "url": mm.url, "token": mm.bot_token,
                                                               "team": "no-such-team"}})
        bot = await BotProcess(config).start()
        assert await bot.exited() == 1
        (message,) = the_error(bot)
        assert "adapters.mattermost.team" in message and "no-such-team" in message


async def test_an_unreachable_server_is_retried_and_a_refusal_then_still_stops_the_bot(
        tmp_path: pathlib.Path) -> None:
    async with FakeMattermost() as mm:
        await mm.go_down("refuse")
        bot = await BotProcess(mattermost_config(tmp_path, mm, "not-the-bots-token")).start()
        await bot.wait_for_log(r"mattermost login failed \(attempt 2\)")
        await bot.wait_for_log(r"coopbot ready", timeout=20)  # the bot runs meanwhile
        await mm.come_back()
        assert await bot.exited() == 1
        assert any("adapters.mattermost.token" in line and "HTTP 401" in line for line in the_error(bot))


async def test_a_wrong_discourse_api_key_ends_the_process_with_one_message(tmp_path: pathlib.Path) -> None:
    async with FakeDiscourse() as forum:
        config = discourse_config(tmp_path, forum, api_key="not-the-forums-key")
        bot = await BotProcess(config).start()
        assert await bot.exited() == 1
        (message,) = the_error(bot)
        assert "adapters.discourse.api_key" in message and "HTTP 403" in message
        assert "not-the-forums-key" not in bot.log()


async def test_a_refused_smtp_login_ends_the_process_naming_the_password_key(tmp_path: pathlib.Path) -> None:
    async with MailServer(logins={"coopbot": "the-right-one"}) as smtp:
        config = bot_config(tmp_path, adapters={"email": {
            "enabled": True, "smtp_host": "127.0.0.1", "smtp_port": smtp.port, "security": "none",
            "username": "coopbot", "password": "not-the-password", "from": "coopbot@example.coop",
            "to": ["council@lists.example.coop"]}})
        bot = await BotProcess(config).start()
        assert await bot.exited() == 1
        (message,) = the_error(bot)
        assert "adapters.email.password" in message and "SMTP 535" in message and "'coopbot'" in message
        assert "not-the-password" not in bot.log()
        assert set(smtp.logins_tried) == {"coopbot"} and smtp.messages == []  # PLAIN, then LOGIN
