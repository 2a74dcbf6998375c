"""Telegram's HTML, measured and cut as Telegram counts it.

A message may hold 4096 characters *after* its markup is parsed, counted in
UTF-16 code units (an emoji outside the BMP counts two), and about 100
entities. ``split_html`` cuts a longer text at line ends, and where one line
is longer than a message, inside the line, but never inside a tag or an
entity (``&amp;``): a tag still open at a cut is closed there and opened again
at the start of the next message, so each message parses on its own.
``to_plain`` is the text Telegram would show, for sending again without markup
when Telegram refuses the markup.
"""
from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

MAX_UNITS = 4096
MAX_ENTITIES = 100

_TAG = re.compile(r"<(/?)([a-zA-Z-]+)[^>]*>")
_DROPPED = re.compile(r"[\r\u2028-\u202e]")  # Telegram deletes these from a message's text
_CONTROL = re.compile(r"[\x00-\x1f]")  # and shows these as spaces
_TOKEN = re.compile(r"<[^>]*>|&(?:#[0-9]+|#x[0-9a-fA-F]+|[a-zA-Z]+);|[^<&]+|[<&]")


def units(text: str) -> int:
    """Length in UTF-16 code units."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def to_plain(text: str) -> str:
    """What Telegram shows of ``text``: tags dropped, entities read."""
    return html.unescape(_TAG.sub("", text))


def shows_nothing(text: str) -> bool:
    """Whether Telegram would find ``text`` empty once it has cleaned and trimmed it (it refuses that)."""
    return not _CONTROL.sub(" ", _DROPPED.sub("", to_plain(text))).strip()


def _visible(text: str) -> int:
    if "<" not in text and "&" not in text:
        return units(text)
    return units(to_plain(text))


@dataclass
class _Piece:
    """A message being filled: its lines, their visible length, and the tags open at its end."""

    opened: list[str] = field(default_factory=list)  # opening tags carried in from the last message
    chunks: list[str] = field(default_factory=list)
    size: int = 0
    entities: int = 0

    def text(self, still_open: list[tuple[str, str]]) -> str:
        closing = "".join(f"</{name}>" for name, _ in reversed(still_open))
        return "".join(self.opened) + "".join(self.chunks) + closing


class _Splitter:
    def __init__(self, limit: int, max_entities: int) -> None:
        self.limit = limit
        self.max_entities = max_entities
        self.pieces: list[str] = []
        self.open: list[tuple[str, str]] = []  # (name, opening tag) of the tags open so far
        self.piece = _Piece()

    def add_line(self, line: str, first: bool) -> None:
        size = _visible(line) + (0 if first else 1)
        entities = sum(1 for tag in _TAG.finditer(line) if not tag.group(1)) if "<" in line else 0
        if self.piece.chunks and (self.piece.size + size > self.limit
                                  or self.piece.entities + entities > self.max_entities):
            self.cut()
            size -= 0 if first else 1
            first = True
        if size > self.limit or entities > self.max_entities:
            self.add_tokens(line if first else "\n" + line)
            return
        self.piece.chunks.append(line if first else "\n" + line)
        self.piece.size += size
        self.piece.entities += entities
        if "<" in line:
            self._track(line)

    def add_tokens(self, line: str) -> None:
        """A line longer than a message: cut between its tokens (a character of text, a tag, an entity)."""
        for token in _tokens(line):
            size = 0 if token.startswith("<") else _visible(token)
            opening = token.startswith("<") and not token.startswith("</")
            if self.piece.chunks and (self.piece.size + size > self.limit
                                      or (opening and self.piece.entities + 1 > self.max_entities)):
                self.cut()
            self.piece.chunks.append(token)
            self.piece.size += size
            self.piece.entities += 1 if opening else 0
            if token.startswith("<"):
                self._track(token)

    def _track(self, text: str) -> None:
        for match in _TAG.finditer(text):
            closing, name = match.group(1), match.group(2).lower()
            if not closing:
                self.open.append((name, match.group(0)))
            elif self.open and self.open[-1][0] == name:
                self.open.pop()

    def cut(self) -> None:
        text = self.piece.text(self.open).strip("\n")
        if not shows_nothing(text):
            self.pieces.append(text)
        self.piece = _Piece(opened=[tag for _, tag in self.open], entities=len(self.open))

    def finish(self) -> list[str]:
        self.cut()
        return self.pieces


def _tokens(line: str) -> Iterator[str]:
    for match in _TOKEN.finditer(line):
        token = match.group(0)
        if token.startswith(("<", "&")):
            yield token
        else:
            yield from token  # text, a character at a time: only for a line longer than a message


def split_html(text: str, limit: int = MAX_UNITS, max_entities: int = MAX_ENTITIES) -> list[str]:
    """``text`` as messages of at most ``limit`` visible UTF-16 units and ``max_entities`` tags each."""
    if len(text) <= limit and "<" not in text and "&" not in text and units(text) <= limit:
        return [] if shows_nothing(text) else [text]
    splitter = _Splitter(limit, max_entities)
    for index, line in enumerate(text.split("\n")):
        splitter.add_line(line, index == 0 or not splitter.piece.chunks)
    return splitter.finish()
