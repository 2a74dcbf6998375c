"""Telegram's ``parse_mode=HTML`` parser, rule for rule (tdlib ``parse_html``).

It walks the UTF-8 bytes of the text, so error positions are byte offsets:

- tags: b/strong, i/em, u/ins, s/strike/del, tg-spoiler, span class="tg-spoiler",
  a href, code (class="language-x" inside pre), pre, blockquote [expandable],
  tg-emoji emoji-id; names are case-insensitive; any other name (also ``br``,
  ``p``, or the empty name of a bare ``<``) is ``Unsupported start tag``;
- attributes: quoted values, or bare name tokens (letters, digits, ``.``, ``-``);
  unknown attributes are ignored; a valueless one is ignored too (except
  ``expandable`` on blockquote);
- ``</>`` closes whatever is open; a different name is ``Unmatched end tag``;
- entities: ``&lt; &gt; &amp; &quot;`` (case-sensitive, ``;`` optional) and
  numeric ``&#N;`` / ``&#xH;``; any other ``&`` stays as it is, literally;
- an element with no text gives no entity; ``<a>`` without href links its own
  text; a link Telegram cannot use (``mailto:``, no dot in the host) gives no
  entity; ``tg://user?id=N`` gives a text_mention.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from ._telegram_text import Entity, sort_entities

__all__ = ["HtmlError", "parse_html_entities"]

TAGS = frozenset({"a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins", "tg-spoiler", "tg-emoji",
                  "span", "pre", "code", "blockquote"})
SIMPLE = {"b": "bold", "strong": "bold", "i": "italic", "em": "italic", "s": "strikethrough",
          "strike": "strikethrough", "del": "strikethrough", "u": "underline", "ins": "underline",
          "tg-spoiler": "spoiler", "span": "spoiler"}
NAMED = {b"lt": "<", b"gt": ">", b"amp": "&", b"quot": '"'}
SPACES = b" \t\r\n\x0b\x00"  # tdlib is_space; NUL is what it reads past the end
INT64 = re.compile(r"-?[0-9]+")


class HtmlError(ValueError):
    """Markup Telegram refuses; ``str(error)`` is tdlib's message (without ``Can't parse entities:``)."""


def _decode_entity(data: bytes, pos: int) -> tuple[int, int]:
    """The code point of the character reference at ``pos`` (an ``&``) and where it ends; 0 if none."""
    end = pos + 1
    value = 0
    if data[end:end + 1] == b"#":
        end += 1
        hexadecimal = data[end:end + 1] == b"x"
        end += hexadecimal
        digits = b"0123456789abcdefABCDEF" if hexadecimal else b"0123456789"
        start = end
        while end < len(data) and data[end] in digits:
            end += 1
        if end > start:
            value = int(data[start:end], 16 if hexadecimal else 10)
        if value == 0 or value >= 0x10FFFF or end - pos >= 10:
            return 0, pos
    else:
        while end < len(data) and chr(data[end]).isascii() and chr(data[end]).isalpha():
            end += 1
        named = NAMED.get(data[pos + 1:end])
        if named is None:
            return 0, pos
        value = ord(named)
    if data[end:end + 1] == b";":
        end += 1
    return value, end


def _user_id(url: str) -> int | None:
    """The user of a ``tg://user?id=N`` link (tdlib ``get_link_user_id``)."""
    match = re.fullmatch(r"tg:(?://)?user/?\?([^#]*)(?:#.*)?", url.lower(), re.S)
    if not match:
        return None
    for parameter in match.group(1).split("&"):
        name, _, value = parameter.partition("=")
        if name == "id":
            return int(value) if INT64.fullmatch(value) and int(value) > 0 else None
    return None


def checked_link(url: str) -> str | None:
    """The URL as a text_link carries it, or None if Telegram drops the link (tdlib ``check_link``).

    Simplified: http(s) (the scheme defaults to http) needs a dotted host and
    gets a ``/`` path if it has none; tg:, ton:, tonsite: keep their host and
    query; anything else (ftp:, javascript:) is not a link.
    """
    lowered = url.lower()
    for scheme in ("tg", "ton", "tonsite"):
        if lowered.startswith(scheme + ":"):
            rest = url[len(scheme) + 1:].removeprefix("//")
            host = re.match(r"[^/?#]*", rest)
            assert host is not None
            allowed = r"[A-Za-z0-9_.-]+" if scheme == "tonsite" else r"[A-Za-z0-9_-]+"
            if not re.fullmatch(allowed, host.group()):
                return None
            query = rest[host.end():]
            return f"{scheme}://{host.group()}{query[1:] if query.startswith('/?') else query}"
    if "://" not in url:
        url = "http://" + url
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or "." not in (parts.hostname or ""):
        return None
    if re.search(r"[\s<>\"]", url):
        return None
    userinfo, at, host_port = parts.netloc.rpartition("@")
    tail = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    tail += f"#{parts.fragment}" if parts.fragment else ""
    return f"{parts.scheme.lower()}://{userinfo}{at}{host_port}{tail}"


class _Parser:
    """One pass over the bytes, as in tdlib; positions past the end read as NUL."""

    def __init__(self, text: str) -> None:
        self.data = text.encode("utf-8")
        self.out = bytearray()
        self.utf16 = 0
        self.open: list[tuple[str, str, int, int]] = []  # tag, argument, UTF-16 offset, byte length of out
        self.entities: list[Entity] = []
        self.surrogate = False

    def at(self, i: int) -> int:
        return self.data[i] if i < len(self.data) else 0

    def is_space(self, i: int) -> bool:
        return self.at(i) in SPACES

    def run(self) -> tuple[str, list[Entity]]:
        i = 0
        while i < len(self.data):
            c = self.data[i]
            if c == 0x26:  # &
                code, after = _decode_entity(self.data, i)
                if code:
                    self.surrogate |= 0xD800 <= code <= 0xDFFF
                    self.utf16 += 2 if code > 0xFFFF else 1
                    self.out += chr(code).encode("utf-8", "surrogatepass")
                    i = after
                    continue
            if c != 0x3C:  # not <
                if c & 0xC0 != 0x80:
                    self.utf16 += 2 if c >= 0xF0 else 1
                self.out.append(c)
                i += 1
                continue
            i = self.end_tag(i) if self.at(i + 1) == 0x2F else self.start_tag(i)
        if self.open:
            raise HtmlError(f'Can\'t find end tag corresponding to start tag "{self.open[-1][0]}"')
        if self.surrogate:
            raise HtmlError("Text contains invalid Unicode characters after decoding HTML entities, "
                            "check for unmatched surrogate code units")
        for entity in self.entities:
            if entity.type == "code":
                entity.language = None
        return self.out.decode("utf-8"), sort_entities(self.entities)

    def start_tag(self, begin: int) -> int:
        i = begin + 1
        while not self.is_space(i) and self.at(i) != 0x3E:
            i += 1
        if self.at(i) == 0:
            raise HtmlError(f"Unclosed start tag at byte offset {begin}")
        tag = self.data[begin + 1:i].lower().decode("utf-8", "replace")
        if tag not in TAGS:
            raise HtmlError(f'Unsupported start tag "{tag}" at byte offset {begin}')
        argument = ""
        while self.at(i) != 0x3E:
            while self.at(i) != 0 and self.is_space(i):
                i += 1
            if self.at(i) == 0x3E:
                break
            name_start = i
            while not self.is_space(i) and self.at(i) not in b"=>/\"'":
                i += 1
            name = self.data[name_start:i]
            if not name:
                raise HtmlError(f'Empty attribute name in the tag "{tag}" at byte offset {begin}')
            while self.at(i) != 0 and self.is_space(i):
                i += 1
            if self.at(i) != 0x3D:  # a valueless attribute
                if self.at(i) == 0:
                    raise HtmlError(f'Unclosed start tag "{tag}" at byte offset {begin}')
                if tag == "blockquote" and name == b"expandable":
                    argument = "1"
                continue
            i += 1
            while self.at(i) != 0 and self.is_space(i):
                i += 1
            if self.at(i) == 0:
                raise HtmlError(f'Unclosed start tag "{tag}" at byte offset {begin}')
            value, i = self.attribute_value(i)
            if self.at(i) == 0:
                raise HtmlError(f"Unclosed start tag at byte offset {begin}")
            if tag == "a" and name == b"href":
                argument = value
            elif tag == "code" and name == b"class" and value.startswith("language-"):
                argument = value[len("language-"):]
            elif tag == "span" and name == b"class" and value.startswith("tg-"):
                argument = value[len("tg-"):]
            elif tag == "tg-emoji" and name == b"emoji-id":
                argument = value
            elif tag == "blockquote" and name == b"expandable":
                argument = "1"
        if tag == "span" and argument != "spoiler":
            raise HtmlError(f'Tag "span" must have class "tg-spoiler" at byte offset {begin}')
        self.open.append((tag, argument, self.utf16, len(self.out)))
        return i + 1

    def attribute_value(self, i: int) -> tuple[str, int]:
        quote = self.at(i)
        if quote not in b"\"'":  # a name token, case-insensitive
            start = i
            while chr(self.at(i)).isascii() and (chr(self.at(i)).isalnum() or self.at(i) in b".-"):
                i += 1
            if not self.is_space(i) and self.at(i) != 0x3E:
                raise HtmlError(f"Unexpected end of name token at byte offset {start}")
            return self.data[start:i].lower().decode(), i
        i += 1
        value = bytearray()
        while self.at(i) != quote and self.at(i) != 0:
            if self.at(i) == 0x26:
                code, after = _decode_entity(self.data, i)
                if code:
                    value += chr(code).encode("utf-8", "surrogatepass")
                    i = after
                    continue
            value.append(self.data[i])
            i += 1
        if self.at(i) == quote:
            i += 1
        return value.decode("utf-8", "replace"), i

    def end_tag(self, begin: int) -> int:
        if not self.open:
            raise HtmlError(f"Unexpected end tag at byte offset {begin}")
        i = begin + 2
        while not self.is_space(i) and self.at(i) != 0x3E:
            i += 1
        name = self.data[begin + 2:i].lower().decode("utf-8", "replace")
        while self.is_space(i) and self.at(i) != 0:
            i += 1
        if self.at(i) != 0x3E:
            raise HtmlError(f"Unclosed end tag at byte offset {begin}")
        tag, argument, offset, out_at = self.open[-1]
        if name and name != tag:
            raise HtmlError(f'Unmatched end tag at byte offset {begin}, expected "</{tag}>", found "</{name}>"')
        if self.utf16 > offset:
            self.add_entity(tag, argument, offset, self.utf16 - offset, out_at)
        self.open.pop()
        return i + 1

    def add_entity(self, tag: str, argument: str, offset: int, length: int, out_at: int) -> None:
        last = self.entities[-1] if self.entities else None
        same_span = last is not None and last.offset == offset and last.length == length
        if tag in SIMPLE:
            self.entities.append(Entity(SIMPLE[tag], offset, length))
        elif tag == "tg-emoji":
            if not INT64.fullmatch(argument) or int(argument) == 0 or abs(int(argument)) >= 2**63:
                raise HtmlError("Invalid custom emoji identifier specified")
            self.entities.append(Entity("custom_emoji", offset, length, custom_emoji_id=str(int(argument))))
        elif tag == "a":
            url = argument or self.out[out_at:].decode("utf-8", "replace")
            user_id = _user_id(url)
            if user_id is not None:
                self.entities.append(Entity("text_mention", offset, length, user_id=user_id))
            elif (link := checked_link(url)) is not None:
                self.entities.append(Entity("text_link", offset, length, url=link))
        elif tag == "pre":
            if same_span and last is not None and last.type == "code" and last.language:
                last.type = "pre"  # <pre><code class="language-x">: one pre entity with a language
            else:
                self.entities.append(Entity("pre", offset, length))
        elif tag == "code":
            if same_span and last is not None and last.type == "pre" and argument:
                last.language = argument
            else:
                self.entities.append(Entity("code", offset, length, language=argument or None))
        else:  # blockquote
            kind = "expandable_blockquote" if argument else "blockquote"
            self.entities.append(Entity(kind, offset, length))


def parse_html_entities(text: str) -> tuple[str, list[Entity]]:
    """The plain text and the raw entities of ``text``; raises ``HtmlError`` like Telegram."""
    return _Parser(text).run()
