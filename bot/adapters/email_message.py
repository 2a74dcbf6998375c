"""An e-mail made of a reply: a subject, a plain-text part and an HTML part.

``written`` turns a reply into the text the outbox keeps (JSON: the subject, both
parts and the language), so a resend, also after a crash, sends what was
written then. ``compose`` builds the message from it. Its ``Message-ID`` is a
digest of its outbox row, that text and the addresses it goes to, so a resend
carries the same id and list software and mail clients drop the second copy,
while two messages alike in words keep ids of their own; its ``Date`` is when
the reply was queued.
"""
from __future__ import annotations

import hashlib
import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

import orjson

from bot.messages import Heading, Reply, Text
from bot.rendering import defuse_mass_mentions, render

SUBJECT_LENGTH = 120


@dataclass(frozen=True)
class Written:
    subject: str
    plain: str
    html: str
    lang: str


def subject_of(reply: Reply) -> str:
    """The reply's subject, else its first heading's or text's first line, cut at ``SUBJECT_LENGTH``."""
    first = next((p.text for p in reply.parts if isinstance(p, (Heading, Text)) and p.text.strip()), "")
    line = " ".join((reply.subject or first).split("\n", 1)[0].split())
    return defuse_mass_mentions(line if len(line) <= SUBJECT_LENGTH else line[:SUBJECT_LENGTH - 1] + "…")


def written(reply: Reply) -> str:
    """What the outbox keeps for ``reply``: its subject, both parts and its language, as JSON."""
    subject = subject_of(reply)
    page = (f'<!DOCTYPE html>\n<html lang="{reply.lang}"><head><meta charset="utf-8">'
            f"<title>{html.escape(subject)}</title></head>\n"
            f'<body style="font-family: sans-serif">\n{render(reply, "html")}\n</body></html>\n')
    fields = {"subject": subject, "plain": render(reply, "plain") + "\n", "html": page, "lang": reply.lang}
    return orjson.dumps(fields).decode()


def read_back(text: str) -> Written:
    fields = orjson.loads(text)
    return Written(fields["subject"], fields["plain"], fields["html"], fields["lang"])


def message_id(text: str, recipients: Sequence[str], sender: str, row: int | None = None) -> str:
    """``<digest@sender's domain>``, the same for the same row, text and addresses."""
    digest = hashlib.sha256("\n".join([str(row), *recipients, text]).encode()).hexdigest()[:40]
    return f"<{digest}@{sender.rpartition('@')[2]}>"


def compose(text: str, *, sender: str, name: str, recipients: Sequence[str], queued_at: datetime,
            row: int | None = None) -> EmailMessage:
    """The message for the outbox row ``row``'s ``text``, from ``name <sender>`` to ``recipients``."""
    mail = read_back(text)
    message = EmailMessage()
    user, _, domain = sender.rpartition("@")
    message["From"] = Address(display_name=name, username=user, domain=domain)
    message["To"] = ", ".join(recipients)
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(queued_at)
    message["Message-ID"] = message_id(text, recipients, sender, row)
    # Quoted-printable, as the library would choose for such text, but without first trying base64 too.
    message.set_content(mail.plain, cte="quoted-printable")
    message.add_alternative(mail.html, subtype="html", cte="quoted-printable")
    message["Content-Language"] = mail.lang  # after the parts: setting content clears the Content- headers
    return message
