"""The digest and decision updates by e-mail, through the real process and a real SMTP server on loopback.

Commands come from the fake Mattermost; the digest goes to its announce
channel, to the fake Telegram and to the mailing list on an aiosmtpd server,
whose messages are parsed back with the ``email`` package. The list reads
Spanish (``adapters.email.language: es``).
"""
from __future__ import annotations

import contextlib
import pathlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parsedate_to_datetime

from tests.auxil.mattermost_chat import Chat, adapter_settings
from tests.auxil.process import BotProcess, bot_config
from tests.auxil.smtp import MailServer
from tests.fakes.mattermost import FakeMattermost
from tests.fakes.telegram import DEFAULT_CHAT, FakeTelegram
from tests.test_telegram_e2e import SPANISH_DAY, soon

SPANISH_SUBJECT = re.compile(r"Resumen de coopbot, \d{1,2}( [a-z]{3,4}\.?)?( \d{4})? – \d{1,2} [a-z]{3,4}\.? \d{4}")


@dataclass
class Federation:
    chat: Chat
    tg: FakeTelegram
    smtp: MailServer

    async def ask(self, text: str) -> str:
        return str((await self.chat.ask("ana", "town-square", text, timeout=15))["message"])


@contextlib.asynccontextmanager
async def federation(folder: pathlib.Path) -> AsyncIterator[Federation]:
    async with FakeMattermost() as mm, FakeTelegram() as tg, MailServer(logins={"coopbot": "secret"}) as smtp:
        bot_config(folder, server=True, adapters={
            "mattermost": adapter_settings(mm),
            "telegram": {"enabled": True, "token": tg.token, "chat_id": str(DEFAULT_CHAT.id), "api_url": tg.url},
            "email": {"enabled": True, "smtp_host": "127.0.0.1", "smtp_port": smtp.port, "security": "none",
                      "username": "coopbot", "password": "secret", "from": "coopbot@example.coop",
                      "to": ["council@lists.example.coop"], "language": "es"},
        })
        chat = await Chat(mm, BotProcess(folder / "bot.yaml"), folder).start()
        await chat.bot.wait_for_log(r"coopbot ready")
        try:
            yield Federation(chat, tg, smtp)
        finally:
            await chat.bot.stop()


def parts(message: EmailMessage) -> tuple[str, str]:
    plain, page = (message.get_body(preferencelist=(kind,)) for kind in ("plain", "html"))
    assert plain is not None and page is not None
    return plain.get_content().replace("\r\n", "\n"), page.get_content().replace("\r\n", "\n")


async def test_the_digest_reaches_the_list_in_spanish_beside_telegram(tmp_path: pathlib.Path) -> None:
    async with federation(tmp_path) as f:
        await f.ask(f'!call schedule "Federation call" {soon(5)} 19:00 UTC with FACTTIC, CoTech')
        await f.ask("!decide Compartimos <un> contrato de hosting & dominios #hosting")
        assert await f.ask("!digest now") == "Digest sent to mattermost, telegram, email."
        update, mail = await f.smtp.wait_for_messages(2)
        *_, digest = await f.tg.wait_for_messages(2)
    assert update["Subject"] == "✅ Nueva decisión 1 (#hosting): Compartimos <un> contrato de hosting & dominios — ana"
    assert SPANISH_SUBJECT.fullmatch(mail["Subject"]), mail["Subject"]
    assert mail["From"] == "coopbot <coopbot@example.coop>" and mail["To"] == "council@lists.example.coop"
    assert mail["Message-ID"].endswith("@example.coop>") and mail["Content-Language"] == "es"
    assert abs(parsedate_to_datetime(mail["Date"]).timestamp() - digest.date) < 5
    plain, page = parts(mail)
    assert plain.startswith("📋 Resumen del consejo, ")
    assert "Llamadas de los próximos 14 días\n• Llamada #1: Federation call\n" in plain
    assert SPANISH_DAY.search(plain) and "Buenos Aires (UTC−3)" in plain
    assert "Compartimos <un> contrato de hosting & dominios" in plain
    assert "Compartimos &lt;un&gt; contrato de hosting &amp; dominios" in page and '<html lang="es">' in page
    assert digest.text.startswith("📋 Council digest")  # Telegram keeps the bot's language


async def test_a_list_refusing_for_a_while_gets_the_digest_once_when_it_recovers(tmp_path: pathlib.Path) -> None:
    async with federation(tmp_path) as f:
        await f.ask("!decide We share one hosting contract")
        await f.smtp.wait_for_messages(1)
        f.smtp.refuse_for(2, "451 4.3.0 Greylisted, try again later")
        assert await f.ask("!digest now") == "Digest sent to mattermost, telegram, email."
        await f.tg.wait_for_messages(2)  # the others are not held up
        _, digest = await f.smtp.wait_for_messages(2, timeout=30)
        await f.ask("!decide And one domain registrar")  # an update after it: the list's queue moved on
        messages = await f.smtp.wait_for_messages(3)
        await f.chat.bot.wait_for_log(r"send failed platform=email .* attempt=2 retry_in=")
    assert f.smtp.refused == ["451 4.3.0 Greylisted, try again later"] * 2
    assert [m["Subject"] for m in messages].count(digest["Subject"]) == 1
    assert digest["Subject"].startswith("Resumen de coopbot, ")
    assert messages[2]["Subject"].startswith("✅ Nueva decisión 2")


async def test_a_message_the_list_refuses_for_good_is_logged_with_the_answer_and_not_resent(
        tmp_path: pathlib.Path) -> None:
    async with federation(tmp_path) as f:
        f.smtp.refuse_for(1, "554 5.7.1 Message rejected: the list is moderated")
        await f.ask("!decide We share one hosting contract")
        line = await f.chat.bot.wait_for_log(r"email: the server refused the message for good: .*")
        await f.chat.bot.wait_for_log(r"send failed platform=email .* attempt=1 retry_in=never: SMTP 554")
        await f.ask("!decide And one domain registrar")
        (mail,) = await f.smtp.wait_for_messages(1)
    assert "554 5.7.1 Message rejected: the list is moderated" in line.group(0)
    assert mail["Subject"].startswith("✅ Nueva decisión 2")
    assert f.smtp.refused == ["554 5.7.1 Message rejected: the list is moderated"]


async def test_a_mail_sent_again_after_a_crash_carries_the_same_message_id(tmp_path: pathlib.Path) -> None:
    async with federation(tmp_path) as f:
        f.smtp.hold()
        await f.ask("!decide We share one hosting contract")
        await f.smtp.wait_for_messages(1)  # delivered; the bot waits for the server's answer
        await f.chat.bot.kill()
        f.smtp.release()
        async with BotProcess(tmp_path / "bot.yaml"):  # the row was never marked sent: it goes out again
            first, again = await f.smtp.wait_for_messages(2)
    assert first["Message-ID"] == again["Message-ID"]  # the list and mail clients drop the copy
    assert (first["Date"], first["Subject"]) == (again["Date"], again["Subject"])
    assert parts(first) == parts(again)
