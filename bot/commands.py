"""Command records and their registry.

A handler is a plain function tagged by ``@command``; tagging only attaches a
``CommandSpec`` (as errbot's ``botcmd`` does). ``discover`` collects the tagged
functions of every module in ``handlers/`` and builds a ``Registry``, which
checks names once, at start: a duplicate or malformed name fails then, not
when a message arrives. Help texts come from the message catalogues under
``commands.<key>``, so help is generated in every language.

A command declared with ``args=`` (a dataclass of typed arguments, see
``bot.arguments``) gets its parser, usage line, example and argument errors
from that declaration; the others keep ``commands.<key>.usage`` and
``.example`` in the catalogues and parse ``ctx.args`` themselves.
"""
from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

from bot.arguments import Signature, bound
from bot.zones import fold

if TYPE_CHECKING:
    from bot.context import Context
    from bot.i18n import Catalogue
    from bot.messages import Reply
    from bot.recurrence import WallClockRule
    from config.model import Config

Handler = Callable[["Context"], "list[Reply]"]
F = TypeVar("F", bound=Callable[..., Any])

_WORD = re.compile(r"^[^\W\d_A-Z][^\W_A-Z]*(?:[-_][^\W_A-Z]+)*$")  # lower-case letters first; accents welcome
_ATTRIBUTE = "__coopbot_command__"
_JOB_ATTRIBUTE = "__coopbot_job__"


@dataclass(frozen=True)
class CommandSpec:
    key: str  # catalogue key and stable id, e.g. "call.schedule"
    names: dict[str, tuple[str, ...]]  # language -> words, e.g. {"es": ("llamada", "agendar")}
    func: Handler
    order: int = 100  # position in help listings
    reads_post: bool = False  # the first argument names an earlier post, read before the command runs
    signature: Signature | None = None  # its typed arguments, when declared with ``args=``

    def name(self, lang: str) -> str:
        return " ".join(self.names.get(lang) or self.names["en"])

    def usage(self, catalogue: Catalogue, lang: str) -> str:
        """"decide [#<call>] <text> [#tag …]", without the prefix."""
        if self.signature is None:
            return catalogue.t(lang, f"commands.{self.key}.usage")
        return " ".join(filter(None, (self.name(lang), self.signature.usage(catalogue, lang))))

    def example(self, catalogue: Catalogue, lang: str) -> str:
        """A working example of the command, without the prefix."""
        if self.signature is None:
            return catalogue.t(lang, f"commands.{self.key}.example")
        return " ".join(filter(None, (self.name(lang), self.signature.example(catalogue, lang, self.key))))


def command(key: str, *, en: str, es: str, order: int = 100, reads_post: bool = False,
            args: type[Any] | None = None) -> Callable[[F], F]:
    """Tag ``func`` as the handler of command ``key``, called ``en`` / ``es``.

    ``args``: the dataclass of the command's typed arguments; ``func`` is then
    called as ``func(ctx, parsed_args)``, and a line that does not parse is
    answered with the argument's error and the generated usage.

    ``reads_post``: the first argument names an earlier post of the same
    conversation ("agenda from 2"). Handlers are synchronous and run inside the
    message's transaction, so the dispatcher reads that post through the
    adapter beforehand; the handler gets it from ``ctx.source_post()``.
    """

    def tag(func: F) -> F:
        signature, handler = bound(args, func) if args is not None else (None, func)
        spec = CommandSpec(
            key=key,
            names={"en": tuple(en.split()), "es": tuple(es.split())},
            func=handler,
            order=order,
            reads_post=reads_post,
            signature=signature,
        )
        setattr(func, _ATTRIBUTE, spec)
        return func

    return tag


@dataclass(frozen=True)
class JobSpec:
    """A scheduled job's handler: ``func(ctx: JobContext, payload) -> list[Post]``.

    ``recover(unit)`` lists the jobs that should exist according to the feature's
    own tables, as (job id, run at, payload); on start the app re-plans any the
    scheduler lacks (a crash between commit and scheduling, a dropped misfire).

    ``catch_up``: a job that fell due while the bot was down runs once at start
    however late (a proposal's deadline); otherwise one later than
    ``reminders.misfire_grace`` is dropped (a reminder for a call long begun).

    ``every(config)``: a recurring job's rule (``bot.recurrence``), None while
    the configuration sets none; each occurrence runs at most once, one missed
    while the bot was down at start if at most ``grace(config)`` late.
    """

    kind: str
    func: Callable[..., Any]
    recover: Callable[..., Any] | None = None
    catch_up: bool = False
    every: Callable[[Config], WallClockRule | None] | None = None
    grace: Callable[[Config], timedelta] | None = None


def job(kind: str, *, recover: Callable[..., Any] | None = None, catch_up: bool = False,
        every: Callable[[Config], WallClockRule | None] | None = None,
        grace: Callable[[Config], timedelta] | None = None) -> Callable[[F], F]:
    """Tag ``func`` as the handler of scheduler jobs of ``kind`` (e.g. "reminder")."""

    def tag(func: F) -> F:
        setattr(func, _JOB_ATTRIBUTE, JobSpec(kind=kind, func=func, recover=recover, catch_up=catch_up,
                                               every=every, grace=grace))
        return func

    return tag


@dataclass(frozen=True)
class Match:
    spec: CommandSpec
    lang: str | None  # None when the name is the same in every language
    words: int  # how many words of the input the name used


class Registry:
    def __init__(self, specs: Iterable[CommandSpec], jobs: Iterable[JobSpec] = ()) -> None:
        self.specs: tuple[CommandSpec, ...] = tuple(sorted(specs, key=lambda s: (s.order, s.key)))
        self.jobs: dict[str, JobSpec] = {}
        for job_spec in jobs:
            if job_spec.kind in self.jobs:
                raise ValueError(f"job kind {job_spec.kind!r} is registered twice")
            self.jobs[job_spec.kind] = job_spec
        self._by_words: dict[tuple[str, ...], tuple[CommandSpec, str | None]] = {}
        seen_keys: set[str] = set()
        for spec in self.specs:
            if spec.key in seen_keys:
                raise ValueError(f"command {spec.key!r} is registered twice")
            seen_keys.add(spec.key)
            self._add(spec)
        self._longest = max((len(w) for w in self._by_words), default=0)

    def _add(self, spec: CommandSpec) -> None:
        """Register the spec under each language's name, folded ("decisión" is found as "decision")."""
        folded = {lang: tuple(fold(w) for w in words) for lang, words in spec.names.items()}
        shared = len(set(folded.values())) == 1
        for lang, words in spec.names.items():
            if not words or not all(_WORD.match(w) for w in words):
                raise ValueError(f"command {spec.key!r}: bad {lang} name {' '.join(words)!r}")
            owner = self._by_words.get(folded[lang])
            if owner is not None and owner[0] is not spec:
                raise ValueError(f"command name {' '.join(words)!r} is taken by {owner[0].key!r}")
            self._by_words[folded[lang]] = (spec, None if shared else lang)

    def match(self, words: Sequence[str]) -> Match | None:
        """The longest registered name that starts ``words`` (already folded: ``bot.zones.fold``)."""
        for size in range(min(self._longest, len(words)), 0, -1):
            found = self._by_words.get(tuple(words[:size]))
            if found:
                return Match(spec=found[0], lang=found[1], words=size)
        return None

    def get(self, key: str) -> CommandSpec | None:
        return next((s for s in self.specs if s.key == key), None)

    def names(self) -> list[str]:
        return [" ".join(words) for words in self._by_words]

    def group(self, first_word: str) -> list[CommandSpec]:
        """Commands whose name starts with ``first_word`` ("call" → call schedule, call list…)."""
        return [spec for words, (spec, _) in self._by_words.items() if words[0] == fold(first_word)]


def specs_in(module: ModuleType) -> list[CommandSpec]:
    found = (getattr(obj, _ATTRIBUTE, None) for obj in vars(module).values())
    return [spec for spec in found if isinstance(spec, CommandSpec)]


def jobs_in(module: ModuleType) -> list[JobSpec]:
    found = (getattr(obj, _JOB_ATTRIBUTE, None) for obj in vars(module).values())
    return [spec for spec in found if isinstance(spec, JobSpec)]


def discover(package: str = "handlers") -> Registry:
    """Import every module of ``package`` and register the commands it tags."""
    root = importlib.import_module(package)
    specs: list[CommandSpec] = []
    jobs: list[JobSpec] = []
    for info in pkgutil.iter_modules(root.__path__):
        if not info.name.startswith("_"):
            module = importlib.import_module(f"{package}.{info.name}")
            specs.extend(specs_in(module))
            jobs.extend(jobs_in(module))
    return Registry(specs, jobs)
