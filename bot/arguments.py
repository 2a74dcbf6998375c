"""Typed command arguments, declared once.

A command's arguments are a frozen dataclass whose fields say what they are
(as errbot's ``arg_botcmd`` derives everything from one argparse parser)::

    @dataclass(frozen=True)
    class DecideArgs:
        call: int | None = arg(CallRef())
        text: str = arg(Text())
        tags: tuple[str, ...] = arg(Tags())

From that one declaration come the parser, the usage line
("decide [#<call>] <text> [#tag …]"), the help example and the error for a
missing or bad argument, in every language of the catalogues (``args.*``).

How a line is read. A *quoted* argument, declared first, is the line's
opening quote to its last closing quote ('"We adopt the plan" until Friday').
In the rest, tokens are runs of non-space. Each kind of argument has a
``Role``. A *marked* argument is known
by its shape wherever it stands: ``#12`` is a call, ``#word`` a tag. An
*option* starts with its keyword ("since" / "desde") and runs to the next
marked token or keyword. A *positional* one (a number) takes the next token,
and ``Text`` takes the rest of the line as written. With a ``Text``, the
arguments declared before it may only come before it and those after it only
after it ("decide #3 we pay invoice #12 #budget": #12 is text, #budget a tag);
without one, arguments may come in any order.
"""
from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

import pytz

from bot.errors import TimeParseError, UsageError
from bot.timefmt import format_day
from bot.timeparse import parse_when
from bot.zones import fold

if TYPE_CHECKING:
    from bot.i18n import Catalogue
    from bot.zones import ResolvedZone, ZoneResolver

T = TypeVar("T")
_PARAM = "coopbot_param"
_TOKEN = re.compile(r"\S+")
_CALL = re.compile(r"^#(\d{1,9})$")
_TAG = re.compile(r"^#([^\W\d_][\w-]{0,63})$")
_NUMBER = re.compile(r"^\d{1,9}$")
_OPENING_QUOTES = "\"“«„"
_CLOSING_QUOTES = "\"”»“"
_MEMBER = re.compile(r"^@([^\W_][\w.-]{0,59})$")  # @ana, @juan.perez: Mattermost and Discourse usernames
_MASS_MENTIONS = frozenset({"all", "channel", "here", "everyone"})
_MEMBER_JOINERS = frozenset({"and", "y", "&", ","})


@dataclass(frozen=True)
class Reading:
    """What converting an argument may need: the clock, the sender's zone, the words of each language."""

    now: datetime
    zone: ResolvedZone
    resolver: ZoneResolver
    catalogue: Catalogue

    def words(self, key: str) -> frozenset[str]:
        """The folded forms of catalogue text ``key`` in every language ("since", "desde")."""
        return _folded_words(self.catalogue, key)


@lru_cache(maxsize=64)
def _folded_words(catalogue: Catalogue, key: str) -> frozenset[str]:
    """Catalogues do not change once loaded, so each keyword set is worked out once."""
    return frozenset(fold(catalogue.t(lang, key)) for lang in catalogue.languages)


class Role(enum.Enum):
    """How an argument is found in a line."""

    QUOTED = "quoted"  # in quotes, first: '"We adopt the plan"'
    MARKED = "marked"  # by its shape, wherever it stands: "#3", "#hosting"
    OPTION = "option"  # by its keyword, followed by a phrase: "since 1 Dec"
    POSITIONAL = "positional"  # the next token: a record's number
    REST = "rest"  # the rest of the line, as written


class Param(Generic[T]):
    """One kind of argument. ``kind`` names its catalogue texts: ``args.<kind>.usage``,
    ``.missing``, ``.bad`` and ``.example`` (and ``.keyword`` for an option)."""

    kind: str
    role: ClassVar[Role] = Role.POSITIONAL
    repeats: ClassVar[bool] = False

    def __init__(self, *, optional: bool = False) -> None:
        self.optional = optional or self.repeats

    @property
    def default(self) -> Any:
        return () if self.repeats else None

    def claims(self, token: str) -> bool:
        """Whether ``token`` has this argument's shape (marked arguments only)."""
        return False

    def keywords(self, reading: Reading) -> frozenset[str]:
        """The folded words that start this argument in any language (options only)."""
        return reading.words(f"args.{self.kind}.keyword") if self.role is Role.OPTION else frozenset()

    def read(self, text: str, reading: Reading) -> T:
        """The value ``text`` stands for; a ``UsageError`` naming it if it is not one."""
        raise NotImplementedError

    def show(self, value: T, lang: str, reading: Reading) -> str:
        """``value`` as a member would type it: ``read`` of it gives ``value`` back."""
        return str(value)

    def usage(self, catalogue: Catalogue, lang: str) -> str:
        shown = catalogue.t(lang, f"args.{self.kind}.usage")
        return f"[{shown}]" if self.optional else shown

    def bad(self, text: str) -> UsageError:
        return UsageError(f"args.{self.kind}.bad", value=text)


class CallRef(Param[int]):
    """A call by its number: ``#3``."""

    kind = "call"
    role = Role.MARKED

    def claims(self, token: str) -> bool:
        return _CALL.match(token) is not None

    def read(self, text: str, reading: Reading) -> int:
        found = _CALL.match(text)
        if found is None:
            raise self.bad(text)
        return int(found[1])

    def show(self, value: int, lang: str, reading: Reading) -> str:
        return f"#{value}"


class Tags(Param[tuple[str, ...]]):
    """Tags: ``#hosting #infra``. A tag starts with a letter and has letters, digits, "-" and "_";
    it is kept lower-case. Any other ``#word`` in a tag's place is a malformed tag."""

    kind = "tag"
    role = Role.MARKED
    repeats = True

    def claims(self, token: str) -> bool:
        return len(token) > 1 and token.startswith("#") and not _CALL.match(token)

    def read(self, text: str, reading: Reading) -> tuple[str, ...]:
        found = _TAG.match(text)
        if found is None:
            raise self.bad(text)
        return (found[1].lower(),)

    def show(self, value: tuple[str, ...], lang: str, reading: Reading) -> str:
        return hashtags(value)


def hashtags(tags: Iterable[str]) -> str:
    """"#hosting #infra": tags as members write them."""
    return " ".join(f"#{tag}" for tag in tags)


class Number(Param[int]):
    """A positional whole number naming a record (a decision's id); ``kind`` says which."""

    def __init__(self, kind: str, *, optional: bool = False) -> None:
        super().__init__(optional=optional)
        self.kind = kind  # one Number class serves every kind of record

    def read(self, text: str, reading: Reading) -> int:
        if not _NUMBER.match(text):
            raise self.bad(text)
        return int(text)


class Text(Param[str]):
    """The rest of the line, as written (inner spacing and line breaks kept); ``kind`` names its
    texts: "text" for a decision's, "reason" for an objection's."""

    role = Role.REST

    def __init__(self, kind: str = "text", *, optional: bool = False) -> None:
        super().__init__(optional=optional)
        self.kind = kind

    def read(self, text: str, reading: Reading) -> str:
        return text.strip()

    def show(self, value: str, lang: str, reading: Reading) -> str:
        return value


class Option(Param[T]):
    """An optional argument started by its keyword: "since 1 Dec", "quorum 3" (``args.<kind>.keyword``)."""

    role = Role.OPTION

    def __init__(self) -> None:
        super().__init__(optional=True)

    def show(self, value: T, lang: str, reading: Reading) -> str:
        return f"{reading.catalogue.t(lang, f'args.{self.kind}.keyword')} {self.show_value(value, lang, reading)}"

    def show_value(self, value: T, lang: str, reading: Reading) -> str:
        return str(value)

    def usage(self, catalogue: Catalogue, lang: str) -> str:
        return f"[{catalogue.t(lang, f'args.{self.kind}.keyword')} {catalogue.t(lang, f'args.{self.kind}.usage')}]"


class Since(Option[datetime]):
    """"since <date>" / "desde <fecha>": the start of a day already begun, in the sender's zone."""

    kind = "since"

    def read(self, text: str, reading: Reading) -> datetime:
        try:
            when = parse_when(text, now=reading.now, zone=reading.zone, resolver=reading.resolver, past=True)
        except TimeParseError:
            raise self.bad(text) from None
        return when.at

    def show_value(self, value: datetime, lang: str, reading: Reading) -> str:
        return format_day(value.astimezone(reading.zone.tz).date(), lang)


class Until(Option[datetime]):
    """"until <moment>" / "hasta <momento>": a deadline ahead. A day without a time means the end
    of that day (23:59) in the zone it was read in; a moment already past is refused."""

    kind = "until"

    def read(self, text: str, reading: Reading) -> datetime:
        try:
            when = parse_when(text, now=reading.now, zone=reading.zone, resolver=reading.resolver)
        except TimeParseError as error:
            if error.key != "time.unreadable":  # a DST gap, a wrong weekday: its own explanation
                raise
            raise self.bad(text) from None
        at = when.at
        if not when.has_time:
            tz = when.zone.tz
            day = at.astimezone(tz).date()
            at = tz.normalize(tz.localize(datetime.combine(day, time(23, 59)))).astimezone(pytz.utc)
        if at <= reading.now:
            raise UsageError(f"args.{self.kind}.past", value=text)
        return at

    def show_value(self, value: datetime, lang: str, reading: Reading) -> str:
        utc = value.astimezone(pytz.utc)
        return utc.strftime("%Y-%m-%d %H:%M:%S UTC" if utc.second else "%Y-%m-%d %H:%M UTC")


class Quorum(Option[int]):
    """"quorum <n>": how many positions a proposal needs, at least 1."""

    kind = "quorum"

    def read(self, text: str, reading: Reading) -> int:
        if not _NUMBER.match(text) or int(text) < 1:
            raise self.bad(text)
        return int(text)


class Members(Option[tuple[str, ...]]):
    """"with @ana @bo" / "con @ana y @bo": members by username, as written without the "@",
    each once (ignoring case). A mass mention ("@all", "@channel") names no member."""

    kind = "members"

    @property
    def default(self) -> Any:
        return ()

    def read(self, text: str, reading: Reading) -> tuple[str, ...]:
        found: dict[str, str] = {}
        for word in text.replace(",", " , ").split():
            if word.lower() in _MEMBER_JOINERS:
                continue
            member = _MEMBER.match(word.rstrip("."))
            if member is None or member[1].lower() in _MASS_MENTIONS:
                raise self.bad(word)
            found.setdefault(member[1].casefold(), member[1])
        if not found:
            raise UsageError(f"args.{self.kind}.missing")
        return tuple(found.values())

    def show_value(self, value: tuple[str, ...], lang: str, reading: Reading) -> str:
        return mentions(value)


def mentions(members: Iterable[str]) -> str:
    """"@ana @bo": members as written to notify them."""
    return " ".join(f"@{member}" for member in members)


class Quoted(Param[str]):
    """Text in quotes, first on the line: '"We adopt the plan"'. It ends at the line's last
    closing quote, so quotes inside it are kept."""

    role = Role.QUOTED

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    def split(self, line: str) -> tuple[str, str]:
        """The quoted text and the rest of the line; ``UsageError`` if it is missing or unquoted."""
        opened = line.lstrip()
        if not opened:
            raise UsageError(f"args.{self.kind}.missing")
        closing = max(opened.rfind(q) for q in _CLOSING_QUOTES)
        if opened[0] not in _OPENING_QUOTES or closing < 1:
            raise self.bad(opened.split()[0])
        text = opened[1:closing].strip()
        if not text:
            raise UsageError(f"args.{self.kind}.missing")
        return text, opened[closing + 1:]

    def show(self, value: str, lang: str, reading: Reading) -> str:
        return f'"{value}"'


def arg(param: Param[Any]) -> Any:
    """A dataclass field declared as ``param``; its default is "not given"."""
    return dataclasses.field(default=param.default, metadata={_PARAM: param})


@dataclass(frozen=True)
class NoArgs:
    """The arguments of a command that takes none."""


@dataclass(frozen=True)
class _Token:
    start: int
    end: int
    text: str


class Signature:
    """The parser, usage and example of one arguments dataclass."""

    def __init__(self, record: type[Any]) -> None:
        if not dataclasses.is_dataclass(record):
            raise TypeError(f"{record!r}: command arguments are declared as a dataclass")
        self.record = record
        self.params: tuple[tuple[str, Param[Any]], ...] = tuple(
            (field.name, field.metadata[_PARAM]) for field in dataclasses.fields(record)
        )
        texts = [n for n, (_, p) in enumerate(self.params) if p.role is Role.REST]
        if len(texts) > 1:
            raise TypeError(f"{record.__name__}: at most one Text argument, the rest of the line")
        quoted = [n for n, (_, p) in enumerate(self.params) if p.role is Role.QUOTED]
        if quoted not in ([], [0]) or (quoted and texts):
            raise TypeError(f"{record.__name__}: a Quoted argument comes first, once, and without a Text")
        self._text_at = texts[0] if texts else None

    # --- reading ------------------------------------------------------------------------

    def parse(self, line: str, reading: Reading) -> Any:
        """The arguments ``line`` gives, as the dataclass; ``UsageError`` if they are wrong."""
        values: dict[str, Any] = {}
        params = self.params
        quoted = params[0][1] if params else None
        if isinstance(quoted, Quoted):
            values[params[0][0]], line = quoted.split(line)
            params = params[1:]
        tokens = [_Token(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(line)]
        if self._text_at is None:
            rest = self._free(tokens, params, values, reading)
            if rest:
                raise UsageError("args.unexpected", value=rest[0].text)
        else:
            name, text = self.params[self._text_at]
            before, after = self.params[:self._text_at], self.params[self._text_at + 1:]
            middle = self._free(tokens, before, values, reading)
            middle = self._trailing(middle, after, values, reading)
            if middle:
                values[name] = text.read(line[middle[0].start:middle[-1].end], reading)
        for name, param in self.params:
            if name not in values and not param.optional:
                raise UsageError(f"args.{param.kind}.missing")
        return self.record(**values)

    def _free(self, tokens: Sequence[_Token], params: Sequence[tuple[str, Param[Any]]],
              values: dict[str, Any], reading: Reading) -> list[_Token]:
        """Read ``tokens`` from the front, arguments in any order; the tokens from the first one
        none of ``params`` takes (for a command with a text: where the text begins)."""
        at = 0
        while at < len(tokens):
            taken = self._take(tokens, at, params, values, reading)
            if taken == at:
                break
            at = taken
        return list(tokens[at:])

    def _trailing(self, tokens: list[_Token], params: Sequence[tuple[str, Param[Any]]],
                  values: dict[str, Any], reading: Reading) -> list[_Token]:
        """Marked arguments declared after the text, from the back; the tokens left."""
        found: dict[str, list[Any]] = {}
        while tokens:
            owner = next(((n, p) for n, p in params if p.claims(tokens[-1].text)), None)
            if owner is None or (owner[0] in found and not owner[1].repeats):
                break
            found.setdefault(owner[0], []).insert(0, owner[1].read(tokens.pop().text, reading))
        for name, read in found.items():
            param = dict(params)[name]
            values[name] = tuple(v for value in read for v in value) if param.repeats else read[0]
        return tokens

    def _take(self, tokens: Sequence[_Token], at: int, params: Sequence[tuple[str, Param[Any]]],
              values: dict[str, Any], reading: Reading) -> int:
        """Read the argument starting at ``tokens[at]``; returns where the next one starts (``at``: none)."""
        word = tokens[at].text
        for name, param in params:
            if fold(word) in param.keywords(reading):
                end = self._phrase_end(tokens, at + 1, params, reading)
                if name in values or end == at + 1:
                    raise UsageError("args.unexpected" if name in values else f"args.{param.kind}.missing",
                                     value=word)
                values[name] = param.read(" ".join(t.text for t in tokens[at + 1:end]), reading)
                return end
        for name, param in params:
            if param.claims(word):
                value = param.read(word, reading)
                if name in values and not param.repeats:
                    raise UsageError("args.unexpected", value=word)
                values[name] = values.get(name, ()) + value if param.repeats else value
                return at + 1
        for name, param in params:
            if param.role is Role.POSITIONAL and name not in values:
                values[name] = param.read(word, reading)
                return at + 1
        return at

    def _phrase_end(self, tokens: Sequence[_Token], at: int, params: Sequence[tuple[str, Param[Any]]],
                    reading: Reading) -> int:
        """Where an option's phrase ends: at the next marked token or keyword, or the end."""
        keywords = {k for _, p in params for k in p.keywords(reading)}
        while at < len(tokens):
            word = tokens[at].text
            if fold(word) in keywords or any(p.claims(word) for _, p in params):
                break
            at += 1
        return at

    # --- writing ------------------------------------------------------------------------

    def usage(self, catalogue: Catalogue, lang: str) -> str:
        """"[#<call>] <text> [#tag …]": each argument's placeholder, optional ones in brackets."""
        return " ".join(param.usage(catalogue, lang) for _, param in self.params)

    def example(self, catalogue: Catalogue, lang: str, command_key: str) -> str:
        """The arguments of the help example: ``commands.<key>.examples.<field>`` where the
        catalogue has one, the kind's own example for a required argument without one."""
        shown = []
        for name, param in self.params:
            own = f"commands.{command_key}.examples.{name}"
            if catalogue.has(own):
                shown.append(catalogue.t(lang, own))
            elif not param.optional:
                shown.append(catalogue.t(lang, f"args.{param.kind}.example"))
        return " ".join(shown)

    def show(self, values: Any, lang: str, reading: Reading) -> str:
        """``values`` as a line that ``parse`` reads back to them (not-given arguments left out)."""
        shown = []
        for name, param in self.params:
            value = getattr(values, name)
            if value is not None and value != ():
                shown.append(param.show(value, lang, reading))
        return " ".join(shown)


def bound(record: type[Any], func: Callable[..., T]) -> tuple[Signature, Callable[..., T]]:
    """The signature of ``record`` and ``func(ctx, args)`` as a handler of the context alone."""
    signature = Signature(record)

    def handler(ctx: Any) -> T:
        reading = Reading(now=ctx.now, zone=ctx.sender_zone, resolver=ctx.zones, catalogue=ctx.catalogue)
        return func(ctx, signature.parse(ctx.args, reading))

    handler.__name__ = getattr(func, "__name__", "handler")
    return signature, handler


__all__ = ["CallRef", "Members", "NoArgs", "Number", "Option", "Param", "Quorum", "Quoted", "Reading", "Role",
           "Signature", "Since", "Tags", "Text", "Until", "arg", "bound", "hashtags", "mentions"]
