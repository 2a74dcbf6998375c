"""Turning replies into each platform's text.

Five styles: ``plain`` (console, an e-mail's text part), ``markdown``
(Mattermost: times as a table), ``discourse`` (Discourse's local-date markup,
so each reader sees their own time, plus a plain line as fallback),
``telegram`` (Telegram's HTML: its few tags, and every ``< > &`` of the text
escaped) and ``html`` (an e-mail's HTML part: the body of a page, every
character of the text escaped). A style says how
each kind of part is written (``Style``); a compact time table is one line in
every style but Discourse's. Every style passes its output through
``defuse_mass_mentions``: the bot never pings a whole channel, whatever a user
typed into a title.
"""
from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta, timezone

from bot.messages import Heading, Reply, Text, TimeTable
from bot.timefmt import format_zone_rows

_MASS_MENTION = re.compile(r"@(all|channel|here|everyone|todos)\b", re.IGNORECASE)
_ZWSP = "\u200b"


def defuse_mass_mentions(text: str) -> str:
    """``@all`` → ``@\u200ball``: still readable, no longer a mention."""
    return _MASS_MENTION.sub(lambda m: "@" + _ZWSP + m.group(1), text)


def _plain_table(part: TimeTable, lang: str) -> str:
    rows = format_zone_rows(part.at, part.zones, lang)
    width = max((len(r.label) for r in rows), default=0)
    return "\n".join(
        f"  {r.label.ljust(width)}  {r.weekday} {r.date}  {r.time}  {r.offset}" for r in rows
    )


def _markdown_table(part: TimeTable, lang: str) -> str:
    rows = format_zone_rows(part.at, part.zones, lang)
    lines = ["| | | |", "|---|---|---|"]
    lines += [f"| **{r.label}** | {r.weekday} {r.date} | **{r.time}** {r.offset} |" for r in rows]
    return "\n".join(lines)


def _discourse_dates(part: TimeTable, lang: str) -> str:
    """Local-date markup (each reader sees their own time) and one plain line for e-mails and previews.

    The source zone is the first coop's, so the raw reads as that coop's wall
    clock: ``[date=2018-11-29 time=19:00:00 timezone="Europe/London"
    timezones="Europe/London|America/Argentina/Buenos_Aires"]``; a call with a
    duration is a ``[date-range from=… to=…]``.
    """
    names = _iana_names(part)
    source = next((z.tz for z in part.zones if names and getattr(z.tz, "zone", None) == names[0]), None)
    tz = source or timezone.utc
    start = part.at.astimezone(tz)
    attributes = f'timezone="{names[0]}" timezones="{"|".join(names)}"' if names else 'timezone="Etc/UTC"'
    if part.duration_minutes:
        end = (part.at + timedelta(minutes=part.duration_minutes)).astimezone(tz)
        markup = f"[date-range from={start:%Y-%m-%dT%H:%M:%S} to={end:%Y-%m-%dT%H:%M:%S} {attributes}]"
    else:
        markup = f"[date={start:%Y-%m-%d} time={start:%H:%M:%S} {attributes}]"
    return markup + "\n" + _plain_line(part, lang)


def _plain_line(part: TimeTable, lang: str) -> str:
    """"Thu 29 Nov 2018 19:00 London (UTC+0) · 16:00 Buenos Aires (UTC−3)": the day only when it changes."""
    entries: list[str] = []
    day: tuple[str, str] | None = None
    for row in format_zone_rows(part.at, part.zones, lang):
        when = row.time if (row.weekday, row.date) == day else f"{row.weekday} {row.date} {row.time}"
        day = (row.weekday, row.date)
        entries.append(f"{when} {row.label} ({row.offset})")
    return " · ".join(entries)


def _iana_names(part: TimeTable) -> list[str]:
    names = []
    for zone in part.zones:
        name = getattr(zone.tz, "zone", None)
        if isinstance(name, str) and "/" in name and name not in names:
            names.append(name)
    return names


def _telegram_table(part: TimeTable, lang: str) -> str:
    rows = format_zone_rows(part.at, part.zones, lang)
    return "\n".join(
        f"<b>{_escape(r.label)}</b>  {_escape(r.weekday)} {_escape(r.date)}  <b>{r.time}</b> {r.offset}" for r in rows
    )


def _escape(text: str) -> str:
    """Text as Telegram's HTML reads it back: only ``< > &`` are special there."""
    return html.escape(text, quote=False)


def _html_table(part: TimeTable, lang: str) -> str:
    rows = format_zone_rows(part.at, part.zones, lang)
    cells = "".join(
        f"<tr><th align=\"left\">{html.escape(r.label)}</th><td>{html.escape(r.weekday)} {html.escape(r.date)}</td>"
        f"<td><b>{r.time}</b> {r.offset}</td></tr>" for r in rows
    )
    return f"<table cellpadding=\"4\">{cells}</table>"


def _html_text(text: str) -> str:
    return "<p>" + html.escape(text).replace("\n", "<br>\n") + "</p>"


def _same(text: str) -> str:
    return text


@dataclass(frozen=True)
class Style:
    text: Callable[[str], str]  # a text part (user text inside it), written safely for the platform
    heading: Callable[[str], str]
    table: Callable[[TimeTable, str], str]
    line: Callable[[TimeTable, str], str]  # a compact table


_STYLES: dict[str, Style] = {
    "plain": Style(_same, _same, _plain_table, _plain_line),
    "markdown": Style(_same, lambda text: f"**{text}**", _markdown_table, _plain_line),
    "discourse": Style(_same, lambda text: f"**{text}**", _discourse_dates, _discourse_dates),
    "telegram": Style(_escape, lambda text: f"<b>{_escape(text)}</b>", _telegram_table,
                      lambda part, lang: _escape(_plain_line(part, lang))),
    "html": Style(_html_text, lambda text: f"<h2>{html.escape(text)}</h2>", _html_table,
                  lambda part, lang: _html_text(_plain_line(part, lang))),
}


def render(reply: Reply, style: str) -> str:
    how = _STYLES[style]
    chunks = []
    for part in reply.parts:
        if isinstance(part, Text):
            chunks.append(how.text(part.text))
        elif isinstance(part, Heading):
            chunks.append(how.heading(part.text))
        else:
            chunks.append((how.line if part.compact else how.table)(part, reply.lang))
    return defuse_mass_mentions("\n".join(chunks))


def split_message(text: str, limit: int) -> list[str]:
    """Split on line boundaries into pieces of at most ``limit`` characters."""
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            pieces.append(current)
            current = line
        else:
            current = candidate
    if current:
        pieces.append(current)
    return pieces
