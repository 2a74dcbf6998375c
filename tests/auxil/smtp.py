"""A real SMTP server on loopback (aiosmtpd), in the test's event loop, that keeps what it accepts.

    async with MailServer(logins={"coopbot": "secret"}) as smtp:
        ... bot config: smtp_host 127.0.0.1, smtp_port smtp.port, security none ...
        (mail,) = await smtp.wait_for_messages(1)

``refuse_for(n, "451 4.3.0 Try again later")`` answers the next ``n`` messages' DATA
with that line (a 5xx line refuses for good); ``messages`` are parsed back with
the standard ``email`` package, ``envelopes`` keep MAIL FROM and RCPT TO.
``refuse_recipient(address, "450 …")`` answers RCPT TO for that address so;
``fail_logins(n, "454 …")`` answers the next ``n`` logins so.
``hold()`` keeps the server's "250" for the messages it takes until ``release()``:
they are delivered (in ``messages``) while the sender still waits for the answer,
the moment a crash makes a sender send a message twice.
"""
from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import ssl
import warnings
from dataclasses import dataclass
from email.message import EmailMessage
from types import TracebackType
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


@dataclass(frozen=True)
class Envelope:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    login: str | None
    encrypted: bool = False


class MailServer:
    def __init__(self, *, logins: dict[str, str] | None = None, port: int = 0, tls: ssl.SSLContext | None = None,
                 implicit_tls: bool = False) -> None:
        """``tls``: the server's certificate, offered by STARTTLS (and required before MAIL), or from the
        first byte with ``implicit_tls`` (port 465's way)."""
        logging.getLogger("mail.log").setLevel(logging.ERROR)  # aiosmtpd logs every command at INFO
        self.logins = logins
        self.messages: list[EmailMessage] = []
        self.envelopes: list[Envelope] = []
        self.refused: list[str] = []  # the answers given instead of accepting, in order
        self.logins_tried: list[str] = []
        self.tls = tls
        self.implicit_tls = implicit_tls
        self._refusals: list[str] = []
        self._recipient_refusals: dict[str, str] = {}
        self._login_failures: list[str] = []
        self._answer = asyncio.Event()
        self._answer.set()
        self._arrived = asyncio.Condition()
        self._server: asyncio.Server | None = None
        self.port = port

    def refuse_for(self, count: int, answer: str) -> None:
        """Answer the next ``count`` messages with ``answer`` ("451 …" temporary, "550 …" for good)."""
        self._refusals = [answer] * count

    def refuse_recipient(self, address: str, answer: str | None) -> None:
        """Answer RCPT TO ``address`` with ``answer``; None accepts it again."""
        if answer is None:
            self._recipient_refusals.pop(address, None)
        else:
            self._recipient_refusals[address] = answer

    def fail_logins(self, count: int, answer: str) -> None:
        self._login_failures = [answer] * count

    def hold(self) -> None:
        self._answer.clear()

    def release(self) -> None:
        self._answer.set()

    async def __aenter__(self) -> MailServer:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, "127.0.0.1", self.port,
                                               ssl=self.tls if self.implicit_tls else None)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        assert self._server is not None
        self.release()
        self._server.close()
        await self._server.wait_closed()

    def _protocol(self) -> SMTP:
        starttls: dict[str, Any] = {}
        if self.tls is not None and not self.implicit_tls:
            starttls = {"tls_context": self.tls, "require_starttls": True}
        if self.logins is None:
            return SMTP(self, hostname="mail.test", loop=asyncio.get_running_loop(), **starttls)
        with warnings.catch_warnings():  # "Requiring AUTH while not requiring TLS": loopback, on purpose
            warnings.simplefilter("ignore", UserWarning)
            return SMTP(self, hostname="mail.test", authenticator=self._authenticate, auth_require_tls=False,
                        auth_required=True, loop=asyncio.get_running_loop(), **starttls)

    def _authenticate(self, server: SMTP, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword), mechanism
        login, password = data.login.decode(), data.password.decode()
        self.logins_tried.append(login)
        if self._login_failures:
            return AuthResult(success=False, handled=False, message=self._login_failures.pop(0))
        assert self.logins is not None
        return AuthResult(success=self.logins.get(login) == password, handled=False, auth_data=login)  # 535 if not

    async def handle_RCPT(self, server: SMTP, session: Any, envelope: Any, address: str,  # noqa: N802
                          options: list[str]) -> str:
        refusal = self._recipient_refusals.get(address)
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        if self._refusals:
            answer = self._refusals.pop(0)
            self.refused.append(answer)
            return answer
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        async with self._arrived:
            self.messages.append(message)
            encrypted = server.transport.get_extra_info("ssl_object") is not None
            self.envelopes.append(Envelope(envelope.mail_from, tuple(envelope.rcpt_tos), session.auth_data, encrypted))
            self._arrived.notify_all()
        await self._answer.wait()
        return "250 2.0.0 Message accepted for delivery"

    async def wait_for_messages(self, count: int, timeout: float = 15.0) -> list[EmailMessage]:
        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(lambda: len(self.messages) >= count), timeout)
        return list(self.messages)
