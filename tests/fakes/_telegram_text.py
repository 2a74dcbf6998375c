"""Message entities and the clean-up Telegram applies to every sent text.

Whatever the markup, the text and its entities go through the same
normalisation in tdlib (``fix_formatted_text`` in ``td/telegram/MessageEntity.cpp``)
before a message is sent, and the Bot API answers with the result:

- control characters become spaces, ``\\r`` and U+2028..U+202E are dropped;
- entities are sorted (offset, longer first, then a per-type priority);
- nested formatting is re-split so no bold/italic/... entity contains another
  entity: ``<b>a <i>b</i></b>`` gives bold(0,2), bold(2,1), italic(2,1); bold
  etc. are dropped inside code/pre; a link or code inside a link is dropped;
- entities lose leading spaces/newlines, whitespace-only ones vanish;
- the text is trimmed of spaces and newlines (at the start only up to the
  first entity) and must not end up empty.

Offsets and lengths are UTF-16 code units, as in the Bot API. Not modelled:
the entities Telegram finds by itself (url, mention, hashtag, ...).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["Entity", "TextError", "bot_api_description", "fix_formatted_text", "sort_entities", "utf16_len"]

SPLITTABLE = ("bold", "italic", "underline", "strikethrough", "spoiler")  # flush order in tdlib
BLOCKQUOTES = frozenset({"blockquote", "expandable_blockquote"})
PRE_KINDS = frozenset({"code", "pre", "pre_code"})
CONTINUOUS = frozenset({"text_link", "text_mention", "custom_emoji"})  # the kinds HTML can produce
HIDDEN_DATA = frozenset({"text_link", "text_mention", "custom_emoji"})  # kept even if whitespace only
PRIORITY = {  # tdlib MessageEntity::get_type_priority; lower sorts first at equal offset and length
    "blockquote": 0, "expandable_blockquote": 1, "pre_code": 10, "pre": 11, "code": 20, "text_link": 49,
    "text_mention": 49, "bold": 90, "italic": 91, "underline": 92, "strikethrough": 93, "spoiler": 94,
    "custom_emoji": 99,
}
MAX_ENTITY_NUMBER = 1_000_000


class TextError(ValueError):
    """A text Telegram refuses; ``str(error)`` is tdlib's message (``Message must be non-empty``)."""


@dataclass
class Entity:
    """One MessageEntity; ``offset`` and ``length`` in UTF-16 code units."""

    type: str
    offset: int
    length: int
    url: str | None = None
    language: str | None = None
    custom_emoji_id: str | None = None
    user_id: int | None = None

    @property
    def end(self) -> int:
        return self.offset + self.length

    @property
    def kind(self) -> str:
        """tdlib's entity type: a ``pre`` with a language is its own type (PreCode)."""
        return "pre_code" if self.type == "pre" and self.language else self.type

    def piece(self, offset: int, length: int) -> Entity:
        return Entity(self.type, offset, length, self.url, self.language, self.custom_emoji_id, self.user_id)

    def to_json(self) -> dict[str, Any]:
        """The Bot API's MessageEntity object (key order as the server writes it)."""
        out: dict[str, Any] = {"offset": self.offset, "length": self.length, "type": self.type}
        if self.type == "text_link":
            out["url"] = self.url
        elif self.type == "pre" and self.language:
            out["language"] = self.language
        elif self.type == "custom_emoji":
            out["custom_emoji_id"] = self.custom_emoji_id
        elif self.type == "text_mention":
            # what the Bot API writes for a user it knows nothing about (Client::JsonUser)
            out["user"] = {"id": self.user_id, "is_bot": False, "first_name": ""}
        return out


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units (characters outside the BMP count twice)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def bot_api_description(message: str) -> str:
    """A tdlib error message as the Bot API words it: ``Bad Request: `` + first letter lowered.

    The letter stays when the second character is upper case or ``_`` (an
    error code such as ``MESSAGE_TOO_LONG``) (``Client::fail_query_with_error``).
    """
    if len(message) >= 2 and (message[1] == "_" or message[1].isupper()):
        return f"Bad Request: {message}"
    return f"Bad Request: {message[:1].lower()}{message[1:]}"


def sort_entities(entities: Iterable[Entity]) -> list[Entity]:
    return sorted(entities, key=lambda e: (e.offset, -e.length, PRIORITY.get(e.kind, 50)))


def _non_empty(entities: Iterable[Entity]) -> list[Entity]:
    return [e for e in entities if e.length > 0]


def _valid(entities: list[Entity]) -> bool:
    """tdlib ``are_entities_valid``: already in the shape ``fix_entities`` would produce."""
    last_end = dict.fromkeys(SPLITTABLE, -1)
    stack: list[Entity] = []
    for entity in entities:
        while stack and entity.offset >= stack[-1].end:
            stack.pop()
        kinds = {e.kind for e in stack}
        if stack and (
            entity.end > stack[-1].end  # crosses its parent
            or entity.kind in kinds
            or stack[-1].kind in PRE_KINDS  # code and pre contain nothing
            or (entity.kind in PRE_KINDS and kinds - BLOCKQUOTES)  # and sit only in a blockquote
            or ((entity.kind in CONTINUOUS or entity.kind in BLOCKQUOTES) and kinds & CONTINUOUS)
            or (entity.kind in BLOCKQUOTES and kinds & BLOCKQUOTES)
            or kinds & set(SPLITTABLE)  # anything inside bold etc. makes tdlib re-split it
        ):
            return False
        if entity.kind in last_end:
            if last_end[entity.kind] >= entity.offset:  # touching or overlapping: to be merged
                return False
            last_end[entity.kind] = entity.end
        stack.append(entity)
    return True


def _without_intersecting(entities: list[Entity]) -> list[Entity]:
    """Keep, in sorted order, only entities starting after the last kept one ends (drops nested too)."""
    kept: list[Entity] = []
    last_end = 0
    for entity in entities:
        if entity.offset >= last_end:
            kept.append(entity)
            last_end = entity.end
    return kept


def _outside_blockquotes(entities: list[Entity], quotes: list[Entity]) -> list[Entity]:
    """Drop entities that stick out of a blockquote (being wholly inside or outside is fine)."""
    kept: list[Entity] = []
    index = 0
    for entity in entities:
        while index < len(quotes) and quotes[index].end <= entity.offset:
            index += 1
        if index < len(quotes):
            quote = quotes[index]
            if quote.end < entity.end or entity.offset < quote.offset < entity.end:
                continue
        kept.append(entity)
    return kept


def _split(splittable: list[Entity], others: list[Entity]) -> list[Entity]:
    """tdlib ``split_entities``: merge same-type formatting, cut it where other entities start or end.

    Pieces falling inside code or pre are dropped.
    """
    begin = dict.fromkeys(SPLITTABLE, 0)
    end = dict.fromkeys(SPLITTABLE, 0)  # 0: nothing open of that type
    result: list[Entity] = []
    position = 0

    def flush(offset: int) -> None:
        for kind in SPLITTABLE:
            if end[kind] != 0 and begin[kind] < offset:
                stop = min(end[kind], offset)
                result.append(Entity(kind, begin[kind], stop - begin[kind]))
                if end[kind] <= offset:
                    begin[kind] = end[kind] = 0
                else:
                    begin[kind] = offset

    def add_up_to(end_offset: int) -> None:
        nonlocal position
        while position < len(splittable) and splittable[position].offset < end_offset:
            entity = splittable[position]
            if end[entity.type] != 0 and entity.offset <= end[entity.type]:
                end[entity.type] = max(end[entity.type], entity.end)
            else:
                flush(entity.offset)
                begin[entity.type], end[entity.type] = entity.offset, entity.end
            position += 1
        flush(end_offset)

    stack: list[Entity] = []

    def advance(offset: int) -> None:
        while stack and offset >= stack[-1].end:
            before = len(result)
            add_up_to(stack[-1].end)
            if stack[-1].kind in PRE_KINDS:
                del result[before:]
            stack.pop()
        add_up_to(offset)

    for other in others:
        advance(other.offset)
        stack.append(other)
    advance(2**62)
    return sort_entities(result)


def fix_entities(entities: list[Entity]) -> list[Entity]:
    """tdlib ``fix_entities``: sorted, non-crossing, formatting re-split around other entities."""
    entities = sort_entities(entities)
    if _valid(entities):
        return entities
    splittable = [e for e in entities if e.kind in SPLITTABLE]
    quotes = [e for e in entities if e.kind in BLOCKQUOTES]
    others = _without_intersecting([e for e in entities if e.kind not in SPLITTABLE and e.kind not in BLOCKQUOTES])
    if quotes:
        quotes = _without_intersecting(quotes)
        others = sort_entities(_outside_blockquotes(others, quotes) + quotes)
    if not splittable:
        return others
    return sort_entities(_split(splittable, others) + others)


def _clean(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """tdlib ``clean_input_string``: controls to spaces, ``\\r`` and U+2028..U+202E removed."""
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        raise TextError("Strings must be encoded in UTF-8")
    total = utf16_len(text)
    for entity in entities:
        if entity.end > total:
            raise TextError(f"Entity beginning at UTF-16 offset {entity.offset} ends after the end of the text "
                            f"at UTF-16 offset {entity.end}")
    out: list[str] = []
    new_at: list[int] = []  # old UTF-16 position -> new one
    position = 0
    for ch in text:
        wide = ord(ch) > 0xFFFF
        new_at.extend([position, position] if wide else [position])
        if ch == "\r" or 0x2028 <= ord(ch) <= 0x202E:
            continue
        if ord(ch) < 32 and ch not in "\t\n":
            ch = " "
        out.append(ch)
        position += 2 if wide else 1
    new_at.append(position)
    for entity in entities:
        start, stop = new_at[entity.offset], new_at[entity.end]
        entity.offset, entity.length = start, stop - start
    return "".join(out), _non_empty(entities)


def _drop_blank(text: str, entities: list[Entity]) -> tuple[int, int, list[Entity]]:
    """tdlib ``remove_invalid_entities``: entities lose leading blanks; blank-only ones vanish.

    Blanks are spaces and newlines. Returns the index of the last non-blank
    character, its UTF-16 offset (-1 if there is none) and the entities left.
    """
    if not entities:
        for index in range(len(text) - 1, -1, -1):
            if text[index] not in " \n":
                return index, 0, []
        return len(text), -1, []
    entities = _non_empty(entities)
    stack: list[Entity] = []
    following = 0
    offset = 0
    last_index, last_offset = len(text), -1
    for index in range(len(text) + 1):
        while stack and offset >= stack[-1].end:
            done = stack.pop()
            if last_offset < done.offset and done.type not in HIDDEN_DATA:
                done.length = 0
        while following < len(entities) and offset >= entities[following].offset:
            stack.append(entities[following])
            following += 1
        if index == len(text):
            break
        ch = text[index]
        if stack and stack[-1].offset == offset and ch in " \n":
            for depth in range(len(stack) - 1, -1, -1):
                entity = stack[depth]
                if entity.offset != offset or entity.type in HIDDEN_DATA:
                    break
                entity.offset += 1
                entity.length -= 1
                if entity.length == 0:
                    del stack[depth]
        if ch not in " \n":
            offset += 1 if ord(ch) > 0xFFFF else 0
            last_index, last_offset = index, offset
        offset += 1
    return last_index, last_offset, _non_empty(entities)


def fix_formatted_text(text: str, entities: list[Entity], *, allow_empty: bool = False) -> tuple[str, list[Entity]]:
    """The text and entities Telegram stores for a message (tdlib ``fix_formatted_text``)."""
    for entity in entities:
        if not 0 <= entity.offset <= MAX_ENTITY_NUMBER:
            raise TextError(f"Receive an entity with incorrect offset {entity.offset}")
        if not 0 <= entity.length <= MAX_ENTITY_NUMBER:
            raise TextError(f"Receive an entity with incorrect length {entity.length}")
    entities = fix_entities(_non_empty(entities))
    text, entities = _clean(text, entities)
    last_index, last_offset, entities = _drop_blank(text, entities)
    if last_offset == -1:
        if allow_empty:
            return "", []
        raise TextError("Message must be non-empty")
    entities = fix_entities(entities)
    text = text[:last_index + 1]  # right trim; entities are cut at the last non-blank character
    entities = [e for e in entities if e.offset <= last_offset]
    for entity in entities:
        entity.length = min(entity.length, last_offset + 1 - entity.offset)
    entities = sort_entities(entities)
    first_entity = entities[0].offset if entities else len(text)
    blank = 0
    while blank < min(first_entity, len(text)) and text[blank] in " \n":
        blank += 1
    if blank:
        text = text[blank:]
        for entity in entities:
            entity.offset -= blank
    _, _, entities = _drop_blank(text, entities)
    return text, sort_entities(entities)
