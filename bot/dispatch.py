"""The one entry point: ``dispatch(incoming) -> list[Outgoing]``.

Per message, in one database transaction: claim the message id (a message is
handled once, however often a platform delivers it), run the handler, render
its replies and put them in the outbox. Only after the commit are the planned
scheduler jobs applied and the replies sent. A user-facing error rolls the
handler's writes back and answers with its text and the command's usage;
anything else is logged with an incident id and the user gets a short reply.

A command tagged ``reads_post`` ("agenda from 2") needs an earlier post, and so
the network: ``handle`` reads it through the adapter's optional ``read_post``
before the transaction and hands it to ``dispatch``, which puts it on the context.
"""
from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.adapters.base import Adapter, PostReader, destination
from bot.commands import CommandSpec, Registry
from bot.context import Context, JobPlan, Post, coop_zones, distinct_zones
from bot.delivery import Delivery
from bot.destinations import Outlets
from bot.errors import AdapterError, UsageError, UserError
from bot.i18n import Catalogue
from bot.messages import Incoming, Outgoing, Place, Reply, SourcePost, Text, TimeTable
from bot.metrics import Metrics
from bot.router import Invocation, Router, Unknown
from bot.scheduler import Scheduler
from bot.storage import Store, Unit, UserPrefs
from bot.zones import ResolvedZone, ZoneResolver
from config.model import Config

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


@dataclass
class Services:
    config: Config
    store: Store
    catalogue: Catalogue
    registry: Registry
    zones: ZoneResolver
    default_zone: ResolvedZone
    clock: Clock
    outlets: Outlets


class Dispatcher:
    def __init__(self, services: Services, router: Router, delivery: Delivery,
                 adapters: Mapping[str, Adapter], scheduler: Scheduler | None,
                 metrics: Metrics | None = None) -> None:
        self.s = services
        self.metrics = metrics or Metrics()
        self.router = router
        self.delivery = delivery
        self.adapters = adapters
        self.scheduler = scheduler

    async def handle(self, incoming: Incoming) -> list[Outgoing]:
        """Dispatch, and hand the replies to the delivery's lanes; what the adapters call for every message.

        Returns once the replies are in the outbox, not when they are sent: the
        next command is not kept waiting for this one's network round trip.
        """
        started = time.perf_counter()
        routed = self._route(incoming)
        source = await self._read_source(incoming, routed) if routed is not None else None
        items, plan = self._dispatch(incoming, routed, source)
        self.apply_jobs(plan)
        self.delivery.submit(items)
        if items and log.isEnabledFor(logging.DEBUG):  # a log line costs as much as the SQL: not by default
            log.debug("platform=%s channel=%s dispatched in %.2f ms", incoming.platform,
                      incoming.place.channel_id, (time.perf_counter() - started) * 1000)
        return items

    def dispatch(self, incoming: Incoming) -> tuple[list[Outgoing], JobPlan]:
        """The replies to ``incoming``, queued in the outbox, and the jobs to apply; nothing sent yet."""
        return self._dispatch(incoming, self._route(incoming), None)

    def _route(self, incoming: Incoming) -> Invocation | Unknown | None:
        """The command ``incoming`` is, if any; other bots are never answered."""
        return None if incoming.sender.is_bot else self.router.route(incoming)

    def _dispatch(self, incoming: Incoming, routed: Invocation | Unknown | None,
                  source: SourcePost | UserError | None) -> tuple[list[Outgoing], JobPlan]:
        if routed is None:
            return [], JobPlan()
        now = self.s.clock()
        name = routed.spec.key if isinstance(routed, Invocation) else "unknown"
        try:
            with self.s.store.unit() as unit:
                if not unit.inbox.claim(incoming.platform, incoming.message_id, now):
                    self.metrics.command(name, "duplicate")
                    return [], JobPlan()
                if isinstance(routed, Unknown):
                    lang = self._language(unit, incoming, routed.lang)
                    answer = self._answer(unit, incoming, [self._unknown(routed, lang)]), JobPlan()
                else:
                    ctx = self._context(unit, incoming, routed, now)
                    ctx.source = source
                    replies = routed.spec.func(ctx)
                    answer = self._answer(unit, incoming, replies, ctx.here) + self.post(unit, ctx.posts), ctx.jobs
        except UserError as err:
            assert isinstance(routed, Invocation)
            spec = routed.spec
            self.metrics.command(name, "user_error")
            return self._fail(incoming, now, lambda lang: self._user_error(err, spec, lang)), JobPlan()
        except Exception:
            incident = uuid.uuid4().hex[:8]
            log.exception("incident %s: command failed platform=%s channel=%s",
                          incident, incoming.platform, incoming.place.channel_id)
            self.metrics.command(name, "internal_error")
            return self._fail(incoming, now, lambda lang: self._internal_error(lang, incident)), JobPlan()
        self.metrics.command(name, "unknown" if isinstance(routed, Unknown) else "ok")
        return answer

    async def _read_source(self, incoming: Incoming, routed: Invocation | Unknown) -> SourcePost | UserError | None:
        """For a ``reads_post`` command, the post its first argument names, read through the adapter.

        Runs before the transaction (handlers are synchronous). An adapter
        without ``read_post`` (its platform has no post numbers), a post that
        is not there and a platform failure each become a user error, which the
        handler raises once it has checked its arguments (``ctx.source_post()``).
        """
        if not isinstance(routed, Invocation) or not routed.spec.reads_post or not routed.args.strip():
            return None
        ref = routed.args.split()[0]
        shown = ref if len(ref) <= 12 else ref[:12] + "…"  # for the replies: a ref may be any text
        adapter = self.adapters.get(incoming.platform)
        if not isinstance(adapter, PostReader):
            return UserError("errors.read_post_unavailable")
        try:
            post = await adapter.read_post(incoming.place, ref)
        except AdapterError as err:
            log.warning("reading post %s failed platform=%s channel=%s: %s",
                        ref, incoming.platform, incoming.place.channel_id, err)
            return UserError("errors.read_post_failed", ref=shown)
        except Exception:  # a bug in an adapter must not cost the message its answer
            log.exception("reading post failed platform=%s channel=%s", incoming.platform, incoming.place.channel_id)
            return UserError("errors.read_post_failed", ref=shown)
        return post if post is not None else UserError("errors.post_not_found", ref=shown)

    def _fail(self, incoming: Incoming, now: datetime, make: Callable[[str], Reply]) -> list[Outgoing]:
        """Answer an error in a fresh transaction: the handler's writes are gone, the claim stays."""
        with self.s.store.unit() as unit:
            if not unit.inbox.claim(incoming.platform, incoming.message_id, now):
                return []
            routed = self.router.route(incoming)
            lang = self._language(unit, incoming, routed.lang if isinstance(routed, Invocation) else None)
            return self._answer(unit, incoming, [make(lang)])

    def _answer(self, unit: Unit, incoming: Incoming, replies: list[Reply],
                here: Place | None = None) -> list[Outgoing]:
        """Queue ``replies`` to ``incoming``; ``here`` is where it is answered, if already known."""
        adapter = self.adapters[incoming.platform]
        out = []
        here = here or adapter.reply_place(incoming)
        for reply in replies:
            place = reply.place or destination(adapter, reply, here) or here
            out.append(self.delivery.enqueue(unit, incoming.platform, place, reply, incoming.received_at))
        return out

    def post(self, unit: Unit, posts: list[Post]) -> list[Outgoing]:
        """Queue posts a command or a job makes elsewhere (a digest, an update, a reminder): at their
        place, or the platform's announcement place (``place`` None, or a reply that asks for it).
        Posts for an adapter that is not running, or with nowhere to go, are dropped, logged."""
        out = []
        for post in posts:
            adapter = self.adapters.get(post.platform)
            place = destination(adapter, post.reply, post.place) if adapter else None
            if adapter is None or place is None:
                log.warning("no %s adapter or place; post dropped", post.platform)
                continue
            out.append(self.delivery.enqueue(unit, post.platform, place, post.reply))
        return out

    def apply_jobs(self, plan: JobPlan) -> None:
        if self.scheduler is None:
            return
        for job in plan.jobs:
            if job.run_at is None:
                self.scheduler.cancel(job.job_id)
            else:
                self.scheduler.run_once(job.job_id, job.run_at, job.kind, job.payload)

    def _context(self, unit: Unit, incoming: Incoming, inv: Invocation, now: datetime) -> Context:
        prefs = unit.users.get(incoming.platform, incoming.sender.id)
        return Context(
            incoming=incoming, spec=inv.spec, args=inv.args,
            lang=self._language(unit, incoming, inv.lang, prefs), now=now,
            config=self.s.config, unit=unit, zones=self.s.zones, catalogue=self.s.catalogue,
            registry=self.s.registry, sender_zone=self._sender_zone(incoming, prefs),
            here=self.adapters[incoming.platform].reply_place(incoming), outlets=self.s.outlets,
        )

    def _language(self, unit: Unit, incoming: Incoming, command_lang: str | None,
                  prefs: UserPrefs | None = None) -> str:
        """The user's setting, else the channel's (configured), else the command's own language, else the bot's."""
        prefs = prefs or unit.users.get(incoming.platform, incoming.sender.id)
        if prefs is not None and prefs.lang:
            return prefs.lang
        configured = self.s.config.channel_language(incoming.platform, incoming.place.channel_name)
        return configured or command_lang or self.s.config.bot.language

    def _sender_zone(self, incoming: Incoming, prefs: UserPrefs | None) -> ResolvedZone:
        for name in (prefs.zone if prefs else None, incoming.sender.zone):
            resolved = self.s.zones.resolve(name) if name else None
            if resolved is not None:
                return resolved
        return self.s.default_zone

    def _reply(self, lang: str, text: str) -> Reply:
        """An error reply: only for the asker where the platform can do that."""
        return Reply(parts=(Text(text),), lang=lang, ephemeral=True)

    def _internal_error(self, lang: str, incident: str) -> Reply:
        return self._reply(lang, self.s.catalogue.t(lang, "errors.internal", incident=incident))

    def _unknown(self, unknown: Unknown, lang: str) -> Reply:
        t = self.s.catalogue.t
        prefix = self.s.config.bot.prefix
        lines = [t(lang, "errors.unknown_command", word=unknown.word)]
        if unknown.suggestion:
            lines.append(t(lang, "errors.did_you_mean", command=prefix + unknown.suggestion))
        help_spec = self.s.registry.get("help")
        if help_spec is not None:
            lines.append(t(lang, "errors.try_help", help=prefix + help_spec.name(lang)))
        return self._reply(lang, " ".join(lines))

    def _user_error(self, err: UserError, spec: CommandSpec, lang: str) -> Reply:
        t = self.s.catalogue.t
        text = t(lang, err.key, **err.params)
        parts: list[Text | TimeTable] = [Text(text)]
        readings = getattr(err, "readings", ())
        for number, reading in enumerate(readings, 1):
            parts.append(Text(t(lang, "time.reading", n=number)))
            zones = distinct_zones(*getattr(err, "shown_in", ()), *coop_zones(self.s.zones))
            parts.append(TimeTable(at=reading, zones=zones))
        if isinstance(err, UsageError) and not readings:  # with readings, the choice is the help
            parts.append(Text(usage_text(self.s.catalogue, spec, lang, self.s.config.bot.prefix)))
        return Reply(parts=tuple(parts), lang=lang, ephemeral=True)



def usage_text(catalogue: Catalogue, spec: CommandSpec, lang: str, prefix: str) -> str:
    return catalogue.t(lang, "errors.usage", usage=prefix + spec.usage(catalogue, lang),
                       example=prefix + spec.example(catalogue, lang))
