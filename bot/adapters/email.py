"""The e-mail adapter: the digest and decision updates to a mailing list, over SMTP (aiosmtplib). Output only.

Each reply is one message to every address in ``to``, with a plain-text and
an HTML part (``email_message``). A connection is opened per message: the list
hears from the bot a few times a week, not enough to keep one open.

At start the bot connects, upgrades the connection as ``security`` says
(``starttls``: STARTTLS, required; ``tls``: TLS from the first byte, port 465;
``none``: neither, for a relay on this host) and logs in if a ``username`` is
set. A server that refuses the login for good, or cannot give the TLS asked
for, ends the process naming the key; one that cannot be reached, or answers
"try again later" (4xx), is retried until it can. When sending, a refusal the
server calls temporary (4xx, also for one address of several) is retried with
backoff, and so is a refused login (the password changed since the start: an
admin fixes it, and ``/healthz`` names the key meanwhile); a permanent one
(5xx) is logged with the server's answer and the message parked.
"""
from __future__ import annotations

import asyncio
import logging
import ssl
from datetime import datetime, timezone
from email.policy import SMTP as SMTP_POLICY
from typing import Any

import aiosmtplib

from bot.adapters.email_message import compose, written
from bot.adapters.startup import CheckedOutput
from bot.errors import AdapterError, RejectedError, SettingRefused
from bot.messages import Incoming, Outgoing, Place, Reply

log = logging.getLogger(__name__)

PLATFORM = "email"
TIMEOUT = 30.0  # seconds for connecting and for each SMTP reply
SETUP_MAX_DELAY = 300.0
LIST = "list"  # the one place: the ``to`` addresses
# The server is away or slow (a greeting other than 220 included): another try may find it.
_AWAY = (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPTimeoutError, aiosmtplib.SMTPServerDisconnected)


class EmailAdapter(CheckedOutput):
    platform = PLATFORM

    def __init__(self, *, host: str, port: int, security: str, sender: str, recipients: tuple[str, ...],
                 name: str, username: str | None = None, password: str | None = None,
                 ca_file: str | None = None) -> None:
        super().__init__("smtp check", SETUP_MAX_DELAY, unchecked="SMTP server not checked yet")
        self._connection: dict[str, Any] = {
            "hostname": host, "port": port, "timeout": TIMEOUT, "username": username, "password": password,
            "use_tls": security == "tls", "start_tls": security == "starttls", "cert_bundle": ca_file,
        }
        self._security = security
        self._sender = sender
        self._recipients = recipients
        self._name = name
        self._place = Place(PLATFORM, LIST)

    # lifecycle ----------------------------------------------------------------------------

    async def _check(self) -> None:
        """Connect, secure the connection and log in; raises ``SettingRefused`` if a setting is refused."""
        client = aiosmtplib.SMTP(**self._connection)
        try:
            await client.connect()
        except (aiosmtplib.SMTPException, ssl.SSLError) as err:
            refusal = self._start_refusal(err)
            if refusal is not None:
                raise refusal from None
            raise  # away, slow, or busy for now (4xx): tried again
        try:
            await client.quit()
        finally:
            client.close()
        log.info("email: %s:%s accepts the bot (%s); the digest goes to %s", self._connection["hostname"],
                 self._connection["port"], self._security, ", ".join(self._recipients))

    def _start_refusal(self, err: Exception) -> SettingRefused | None:
        """The setting a failed connection at start points at; None if another try may work."""
        handshake = _ssl_cause(err)
        if isinstance(handshake, ssl.SSLCertVerificationError):
            return SettingRefused("adapters.email.ca_file", "the TLS check of the SMTP server", 0,
                                  f"{handshake.verify_message}; without ca_file, the system's certificates are "
                                  "trusted")
        if handshake is not None:
            return SettingRefused("adapters.email.security", "the TLS handshake with the SMTP server", 0,
                                  f"{handshake.reason or handshake}; port 465 expects security: tls, "
                                  "port 587 security: starttls")
        if not isinstance(err, aiosmtplib.SMTPException) or isinstance(err, _AWAY):
            return None
        if isinstance(err, aiosmtplib.SMTPResponseException):
            if 400 <= err.code < 500:
                return None  # 421 busy, 454 temporary authentication failure
            if isinstance(err, aiosmtplib.SMTPAuthenticationError):
                return self._login_refused(err)
            return SettingRefused("adapters.email.security", "the SMTP server", err.code, err.message,
                                  protocol="SMTP")  # STARTTLS refused
        key = "adapters.email.username" if "auth" in str(err).lower() else "adapters.email.security"
        return SettingRefused(key, "the SMTP server", 0, str(err))  # no STARTTLS, or no AUTH, offered

    def _login_refused(self, err: aiosmtplib.SMTPResponseException) -> SettingRefused:
        return SettingRefused("adapters.email.password", "the SMTP server", err.code,
                              f"{err.message} (for username {self._connection['username']!r})", protocol="SMTP")

    # sending ------------------------------------------------------------------------------

    def render(self, reply: Reply) -> str:
        return written(reply)

    def reply_place(self, incoming: Incoming) -> Place:
        return self._place  # output only: nothing is read from e-mail

    def announce_place(self) -> Place | None:
        return self._place

    async def send(self, out: Outgoing) -> tuple[str, ...]:
        """Send ``out`` as one message; returns its Message-ID. Nothing goes out before the server is checked."""
        if not self.ready.is_set():
            raise AdapterError(f"email: {self.unchecked}")
        message_id, raw = await asyncio.to_thread(self._flattened, out)  # a big digest takes a while to encode
        try:
            refused, _ = await aiosmtplib.send(raw, sender=self._sender, recipients=list(self._recipients),
                                               **self._connection)
        except aiosmtplib.SMTPAuthenticationError as err:
            if 400 <= err.code < 500:
                raise _refusal(err.code, err.message) from err
            self._trouble = str(self._login_refused(err))
            log.error("email: %s. Messages wait until it is fixed", self._trouble)
            raise AdapterError(f"email: {self._trouble}") from err
        except aiosmtplib.SMTPRecipientsRefused as err:
            raise _refusal(*_worst([(r.recipient, r.code, r.message) for r in err.recipients])) from err
        except aiosmtplib.SMTPSenderRefused as err:
            raise _refusal(err.code, f"{err.message} (for adapters.email.from {err.sender!r})") from err
        except aiosmtplib.SMTPResponseException as err:
            raise _refusal(err.code, err.message) from err
        except (aiosmtplib.SMTPException, OSError) as err:
            raise AdapterError(f"email: {type(err).__name__}: {err}") from err
        if refused:  # some addresses took it, some did not
            code, answer = _worst([(address, r.code, r.message) for address, r in refused.items()])
            if 400 <= code < 500:  # sent again to all: the same Message-ID lets those who have it drop the copy
                raise _refusal(code, answer)
            log.error("email: refused for good by some addresses: %s", answer)
        if self._trouble is not None:
            log.info("email: the SMTP server accepts the bot's login again")
            self._trouble = None
        return (message_id,)

    def _flattened(self, out: Outgoing) -> tuple[str, bytes]:
        """``out`` as the bytes of its message, and its Message-ID."""
        message = compose(out.text, sender=self._sender, name=self._name, recipients=self._recipients,
                          queued_at=out.queued_at or datetime.now(timezone.utc), row=out.outbox_id)
        return str(message["Message-ID"]), message.as_bytes(policy=SMTP_POLICY)


def _ssl_cause(err: BaseException | None) -> ssl.SSLError | None:
    """The TLS failure behind ``err`` (aiosmtplib wraps it on connecting), if there is one."""
    while err is not None and not isinstance(err, ssl.SSLError):
        err = err.__cause__ or err.__context__
    return err


def _worst(refusals: list[tuple[str, int, str]]) -> tuple[int, str]:
    """One code for refused recipients, given as (address, code, answer): a temporary one first, since then a
    retry may reach them all; and every answer."""
    temporary = [code for _, code, _ in refusals if 400 <= code < 500]
    code = min(temporary) if temporary else max(code for _, code, _ in refusals)
    return code, "; ".join(f"{address}: {code} {answer}" for address, code, answer in refusals)


def _refusal(code: int, answer: str) -> AdapterError:
    """A permanent refusal (5xx), logged with the server's answer, is parked; any other is retried with backoff."""
    if 500 <= code < 600:
        log.error("email: the server refused the message for good: %s %s", code, answer)
        return RejectedError(code, answer, protocol="SMTP")
    return AdapterError(f"email: the server asks to try again later: {code} {answer}")


def create(settings: Any, *, config: Any, **_: Any) -> EmailAdapter:
    """Factory the app calls with the ``adapters.email`` settings."""
    password = settings.password.get_secret_value() if settings.password is not None else None
    return EmailAdapter(host=settings.smtp_host, port=settings.smtp_port, security=settings.security,
                        sender=settings.from_, recipients=tuple(settings.to), name=config.bot.name,
                        username=settings.username, password=password, ca_file=settings.ca_file)
