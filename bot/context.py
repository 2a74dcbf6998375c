"""What a handler gets: who asked, where, in which language, and the services it may use.

Handlers never send, sleep or touch the scheduler directly: they write through
``unit`` (one database transaction, shared with the exactly-once bookkeeping),
plan jobs in ``jobs`` (applied only after the transaction commits) and return
replies.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.errors import UsageError, UserError
from bot.messages import Incoming, Part, Place, Reply, SourcePost, Target, Text, TimeTable

if TYPE_CHECKING:
    from bot.commands import CommandSpec, Registry
    from bot.destinations import Destination, Outlets
    from bot.i18n import Catalogue
    from bot.storage import Unit
    from bot.zones import ResolvedZone, ZoneResolver
    from config.model import Config, CoopSettings


@dataclass(frozen=True)
class PlannedJob:
    job_id: str
    run_at: datetime | None  # None: cancel the job
    kind: str = ""
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass
class JobPlan:
    """Scheduler changes a handler asks for; the dispatcher applies them after commit."""

    jobs: list[PlannedJob] = field(default_factory=list)

    def run_once(self, job_id: str, run_at: datetime, kind: str, payload: dict[str, Any]) -> None:
        self.jobs.append(PlannedJob(job_id, run_at, kind, payload))

    def cancel(self, job_id: str) -> None:
        self.jobs.append(PlannedJob(job_id, None))


@dataclass
class Context:
    incoming: Incoming
    spec: CommandSpec
    args: str
    lang: str
    now: datetime  # aware UTC, injected
    config: Config
    unit: Unit
    zones: ZoneResolver
    catalogue: Catalogue
    registry: Registry
    sender_zone: ResolvedZone
    outlets: Outlets
    jobs: JobPlan = field(default_factory=JobPlan)
    posts: list[Post] = field(default_factory=list)  # to other places (a digest, an update), queued with the replies
    # For ``reads_post`` commands: the post the first argument names, read by the
    # dispatcher before the transaction, or the user error that kept it unread.
    source: SourcePost | UserError | None = None
    here: Place | None = None  # where replies to this command go (its thread); the dispatcher sets it

    @property
    def reply_place(self) -> Place:
        """Where replies to this command go: later posts about what it made (a proposal) go there too."""
        return self.here or self.incoming.place

    @property
    def prefix(self) -> str:
        return self.config.bot.prefix

    def t(self, key: str, **params: Any) -> str:
        return self.catalogue.t(self.lang, key, **params)

    def registry_name(self, key: str) -> str:
        """The name of command ``key`` in this context's language ("tz.set" → "zona fijar")."""
        spec = self.registry.get(key)
        return spec.name(self.lang) if spec else key

    def command(self, key: str) -> str:
        """Command ``key`` as a member types it in this context's language: "!zona fijar"."""
        return self.prefix + self.registry_name(key)

    def reply(self, *parts: Part | str, target: Target = Target.THREAD) -> Reply:
        made = tuple(Text(p) if isinstance(p, str) else p for p in parts)
        return Reply(parts=made, lang=self.lang, target=target)

    def post(self, destination: Destination, reply: Reply) -> None:
        """Post ``reply`` at ``destination`` too, in this command's transaction."""
        self.posts.append(Post(destination.name, destination.place, reply))

    def publish(self, make: Callable[[str], Reply], also: Place | None = None) -> None:
        """A decision update: ``make(lang)`` at each update destination, except where this command was
        written (it is answered there already) and ``also`` (where the thing it is about lives)."""
        self.posts += update_posts(self.outlets, make, self.reply_place, also)

    def usage_error(self, key: str = "errors.bad_arguments", **params: Any) -> UsageError:
        return UsageError(key, **params)

    def source_post(self) -> SourcePost:
        """The post a ``reads_post`` command names; raises the user error that kept it unread."""
        if isinstance(self.source, SourcePost):
            return self.source
        raise self.source or UserError("errors.read_post_unavailable")

    def coops(self) -> tuple[CoopSettings, ...]:
        return tuple(self.config.coops)

    def coop_zones(self, names: tuple[str, ...] | None = None) -> tuple[ResolvedZone, ...]:
        return coop_zones(self.zones, names)

    def time_table(self, at: datetime, zones: tuple[ResolvedZone, ...], minutes: int | None = None) -> TimeTable:
        return TimeTable(at=at, zones=zones, duration_minutes=minutes)


def coop_zones(resolver: ZoneResolver, names: tuple[str, ...] | None = None) -> tuple[ResolvedZone, ...]:
    """Zones of the named coops (all of them by default), one per distinct zone, labelled by city."""
    return distinct_zones(*(zone for name, zone in resolver.coops if names is None or name in names))


def distinct_zones(*zones: ResolvedZone) -> tuple[ResolvedZone, ...]:
    """The zones in order, each pytz zone once (the first label wins)."""
    seen: dict[str, ResolvedZone] = {}
    for zone in zones:
        seen.setdefault(str(zone.tz), zone)
    return tuple(seen.values())


@dataclass(frozen=True)
class Post:
    """A message a scheduled job wants posted; ``place`` None means the announcement channel."""

    platform: str
    place: Place | None
    reply: Reply


@dataclass
class JobContext:
    """What a scheduled job's handler gets: like ``Context`` without a sender."""

    now: datetime
    config: Config
    unit: Unit
    zones: ZoneResolver
    catalogue: Catalogue
    registry: Registry
    outlets: Outlets
    jobs: JobPlan = field(default_factory=JobPlan)
    posts: list[Post] = field(default_factory=list)  # updates, posted beside what the job returns

    def t(self, lang: str, key: str, **params: Any) -> str:
        return self.catalogue.t(lang, key, **params)

    def post(self, destination: Destination, reply: Reply) -> None:
        """Post ``reply`` at ``destination``, in this job's transaction."""
        self.posts.append(Post(destination.name, destination.place, reply))

    def publish(self, make: Callable[[str], Reply], origin: Place | None) -> None:
        """A decision update: ``make(lang)`` at each update destination, except ``origin``'s channel."""
        self.posts += update_posts(self.outlets, make, origin)

    def coop_zones(self, names: tuple[str, ...] | None = None) -> tuple[ResolvedZone, ...]:
        return coop_zones(self.zones, names)


def update_posts(outlets: Outlets, make: Callable[[str], Reply], *origins: Place | None) -> list[Post]:
    """``make(lang)`` for each update destination in none of the ``origins``' channels, each in its language."""
    made: dict[str, Reply] = {}
    posts = []
    for destination in outlets.for_updates():
        if not any(destination.is_at(origin) for origin in origins):
            if destination.lang not in made:
                made[destination.lang] = make(destination.lang)
            posts.append(Post(destination.name, destination.place, made[destination.lang]))
    return posts
