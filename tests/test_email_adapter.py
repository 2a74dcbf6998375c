"""The e-mail adapter against a real SMTP server on loopback (aiosmtpd): the message, its parts and headers,
refusals temporary and permanent, and the checks at start."""
from __future__ import annotations

import asyncio
import logging
import pathlib
import socket
import ssl
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import pytest
import trustme

from bot.adapters.email import EmailAdapter
from bot.errors import AdapterError, RejectedError, SettingRefused
from bot.messages import Heading, Incoming, Outgoing, Reply, Text
from tests.auxil.smtp import MailServer

QUEUED = datetime(2026, 12, 7, 12, 0, 3, tzinfo=timezone.utc)
SPANISH = Reply(parts=(Heading("📋 Resumen del consejo, 30 nov 2026 – 7 dic 2026"),
                       Text("• Decisión 3. Año nuevo: <compartir> el hosting & más @all — ñandú")),
                lang="es", subject="Resumen de coopbot, 30 nov – 7 dic 2026")


async def nothing_read(_: Incoming) -> None:
    """The adapter only sends: nothing ever arrives here."""


def adapter(port: int, **settings: str) -> EmailAdapter:
    values = {"security": "none", "username": None, "password": None, "ca_file": None, **settings}
    return EmailAdapter(host="127.0.0.1", port=port, sender="coopbot@example.coop",
                        recipients=("council@lists.example.coop", "ana@example.coop"), name="coopbot",
                        security=str(values["security"]), username=values["username"], password=values["password"],
                        ca_file=values["ca_file"])


@pytest.fixture
async def smtp() -> AsyncIterator[MailServer]:
    async with MailServer(logins={"coopbot": "secret"}) as server:
        yield server


@pytest.fixture
async def mail(smtp: MailServer) -> AsyncIterator[EmailAdapter]:
    started = adapter(smtp.port, username="coopbot", password="secret")
    await started.start(nothing_read)
    yield started
    await started.stop()


def outgoing(mail: EmailAdapter, reply: Reply, row: int = 1) -> Outgoing:
    return Outgoing(platform="email", channel_id="list", text=mail.render(reply), outbox_id=row, queued_at=QUEUED)


async def test_a_reply_is_one_message_to_the_list_with_a_plain_and_an_html_part(
        smtp: MailServer, mail: EmailAdapter) -> None:
    (message_id,) = await mail.send(outgoing(mail, SPANISH))
    (message,) = smtp.messages
    assert message["From"] == "coopbot <coopbot@example.coop>"
    assert message["To"] == "council@lists.example.coop, ana@example.coop"
    assert message["Subject"] == "Resumen de coopbot, 30 nov – 7 dic 2026"
    assert parsedate_to_datetime(message["Date"]) == QUEUED
    assert message["Message-ID"] == message_id and message_id.endswith("@example.coop>")
    assert message["Content-Language"] == "es"
    assert message.get_content_type() == "multipart/alternative"
    plain, page = (message.get_body(preferencelist=(kind,)) for kind in ("plain", "html"))
    assert plain is not None and page is not None
    assert plain.get_content_charset() == "utf-8"
    assert plain.get_content().splitlines() == [
        "📋 Resumen del consejo, 30 nov 2026 – 7 dic 2026",
        "• Decisión 3. Año nuevo: <compartir> el hosting & más @\u200ball — ñandú"]
    html = page.get_content()
    assert '<html lang="es">' in html and "<h2>📋 Resumen del consejo, 30 nov 2026 – 7 dic 2026</h2>" in html
    assert "<p>• Decisión 3. Año nuevo: &lt;compartir&gt; el hosting &amp; más @\u200ball — ñandú</p>" in html
    (envelope,) = smtp.envelopes
    assert envelope == type(envelope)("coopbot@example.coop", ("council@lists.example.coop", "ana@example.coop"),
                                      "coopbot")


async def test_a_resend_carries_the_same_message_id_and_another_message_another(
        smtp: MailServer, mail: EmailAdapter) -> None:
    first = await mail.send(outgoing(mail, SPANISH))
    again = await mail.send(outgoing(mail, SPANISH))  # a resend after a crash: the outbox row's text, again
    other = await mail.send(outgoing(mail, Reply(parts=(Text("✅ New decision 4: @here we move"),), lang="en"), 2))
    alike = await mail.send(outgoing(mail, SPANISH, row=3))  # another message in the same words
    assert first == again and len({*first, *other, *alike}) == 3
    assert [m["Message-ID"] for m in smtp.messages] == [*first, *again, *other, *alike]
    assert smtp.messages[2]["Subject"] == "✅ New decision 4: @\u200bhere we move"  # its first line, defused


async def test_a_temporary_refusal_is_retried_and_a_permanent_one_is_parked_with_the_servers_answer(
        smtp: MailServer, mail: EmailAdapter, caplog: pytest.LogCaptureFixture) -> None:
    smtp.refuse_for(1, "451 4.3.0 Mailbox busy, try again later")
    with pytest.raises(AdapterError) as temporary:
        await mail.send(outgoing(mail, SPANISH))
    assert not isinstance(temporary.value, RejectedError)
    assert "451" not in caplog.text  # not an error to log: the outbox logs the retry
    smtp.refuse_for(1, "554 5.7.1 Message rejected: list is moderated")
    with pytest.raises(RejectedError) as permanent:
        await mail.send(outgoing(mail, SPANISH))
    assert permanent.value.status == 554 and "list is moderated" in str(permanent.value)
    assert "554 5.7.1 Message rejected: list is moderated" in caplog.text
    assert smtp.messages == []
    await mail.send(outgoing(mail, SPANISH))
    assert len(smtp.messages) == 1


async def test_a_login_refused_while_sending_waits_and_is_named_in_health(
        smtp: MailServer, mail: EmailAdapter) -> None:
    assert mail.health() is None
    smtp.logins = {"coopbot": "changed"}
    with pytest.raises(AdapterError) as refused:
        await mail.send(outgoing(mail, SPANISH))
    assert not isinstance(refused.value, RejectedError)  # an admin fixes it: the message waits, never parked
    assert "adapters.email.password" in (mail.health() or "") and "changed" not in (mail.health() or "")
    assert "secret" not in str(refused.value)
    smtp.logins = {"coopbot": "secret"}
    await mail.send(outgoing(mail, SPANISH))
    assert mail.health() is None and len(smtp.messages) == 1


async def test_starttls_on_a_server_without_it_is_refused_at_start_naming_the_key(smtp: MailServer) -> None:
    with pytest.raises(SettingRefused) as refused:
        await adapter(smtp.port, security="starttls").start(nothing_read)
    assert str(refused.value).startswith("adapters.email.security: the SMTP server refused it (")
    assert "STARTTLS" in str(refused.value)


async def test_a_login_on_a_server_without_auth_is_refused_at_start_naming_the_username() -> None:
    async with MailServer() as open_relay:
        with pytest.raises(SettingRefused) as refused:
            await adapter(open_relay.port, username="coopbot", password="x").start(nothing_read)
    assert str(refused.value).startswith("adapters.email.username: the SMTP server refused it (")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_a_server_away_at_start_is_waited_for_and_nothing_is_sent_before(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    port = free_port()
    mail = adapter(port)
    back = asyncio.Event()
    mail.on_reconnect = back.set
    await mail.start(nothing_read)  # the first attempt failed: start returns, the bot runs
    try:
        assert mail.health() == "SMTP server not checked yet"
        with pytest.raises(AdapterError):
            await mail.send(outgoing(mail, SPANISH))
        async with MailServer(port=port) as smtp:
            await asyncio.wait_for(back.wait(), 10)
            await mail.send(outgoing(mail, SPANISH))
            assert len(smtp.messages) == 1 and mail.health() is None
        assert "smtp check failed (attempt 1)" in caplog.text
    finally:
        await mail.stop()


@pytest.fixture
def authority() -> trustme.CA:
    return trustme.CA()


def server_context(authority: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    return context


@pytest.mark.parametrize(("security", "implicit"), [("starttls", False), ("tls", True)])
async def test_starttls_and_tls_log_in_and_send_over_an_encrypted_connection(
        tmp_path: pathlib.Path, authority: trustme.CA, security: str, implicit: bool) -> None:
    ca_file = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    async with MailServer(logins={"coopbot": "secret"}, tls=server_context(authority), implicit_tls=implicit) as smtp:
        mail = adapter(smtp.port, security=security, username="coopbot", password="secret", ca_file=str(ca_file))
        await mail.start(nothing_read)
        try:
            await mail.send(outgoing(mail, SPANISH))
        finally:
            await mail.stop()
    (envelope,) = smtp.envelopes
    assert (envelope.login, envelope.encrypted) == ("coopbot", True)
    assert smtp.messages[0]["Subject"] == SPANISH.subject


@pytest.mark.parametrize(("security", "implicit"), [("starttls", False), ("tls", True)])
async def test_a_certificate_the_bot_cannot_trust_is_refused_at_start_naming_ca_file(
        authority: trustme.CA, security: str, implicit: bool) -> None:
    async with MailServer(tls=server_context(authority), implicit_tls=implicit) as smtp:
        with pytest.raises(SettingRefused) as refused:  # the system's certificates do not know this authority
            await adapter(smtp.port, security=security).start(nothing_read)
    assert str(refused.value).startswith("adapters.email.ca_file: the TLS check of the SMTP server refused it (")
    assert "certificate" in str(refused.value) and smtp.messages == []


async def test_a_recipient_refused_for_now_gets_the_message_again_with_the_same_id(
        smtp: MailServer, mail: EmailAdapter, caplog: pytest.LogCaptureFixture) -> None:
    smtp.refuse_recipient("ana@example.coop", "450 4.2.0 Mailbox busy")
    with pytest.raises(AdapterError) as later:  # the list took it; Ana's mailbox did not, yet
        await mail.send(outgoing(mail, SPANISH))
    assert not isinstance(later.value, RejectedError) and "ana@example.coop: 450" in str(later.value)
    smtp.refuse_recipient("ana@example.coop", "550 5.1.1 No such user")
    await mail.send(outgoing(mail, SPANISH))  # the retry: Ana's address is gone for good, the rest is sent
    assert "refused for good by some addresses: ana@example.coop: 550 5.1.1 No such user" in caplog.text
    first, again = smtp.messages
    assert first["Message-ID"] == again["Message-ID"]  # the list drops the second copy
    assert [e.rcpt_tos for e in smtp.envelopes] == [("council@lists.example.coop",)] * 2


async def test_a_temporary_refusal_at_start_is_tried_again_not_taken_for_a_wrong_setting(
        smtp: MailServer, caplog: pytest.LogCaptureFixture) -> None:
    smtp.fail_logins(2, "454 4.7.0 Temporary authentication failure")  # PLAIN, then LOGIN: one attempt
    mail = adapter(smtp.port, username="coopbot", password="secret")
    back = asyncio.Event()
    mail.on_reconnect = back.set
    await mail.start(nothing_read)
    try:
        await asyncio.wait_for(back.wait(), 10)
        assert mail.health() is None and "smtp check failed (attempt 1)" in caplog.text
    finally:
        await mail.stop()


async def test_tls_from_the_first_byte_to_a_starttls_port_is_refused_at_start_naming_security(
        authority: trustme.CA) -> None:
    async with MailServer(tls=server_context(authority)) as smtp:  # STARTTLS, as on port 587
        with pytest.raises(SettingRefused) as refused:
            await adapter(smtp.port, security="tls").start(nothing_read)
    assert str(refused.value).startswith("adapters.email.security: the TLS handshake with the SMTP server refused "
                                         "it (")
    assert "port 465 expects security: tls, port 587 security: starttls" in str(refused.value)
