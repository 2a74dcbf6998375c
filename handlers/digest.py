"""!digest now, !digest preview: the council digest.

A digest holds the calls of the next 14 days, each in its coops' zones with
its agenda; what is new since that destination's last digest (decisions
recorded, proposals opened or closed); and the proposals still open with their
deadlines. Calls are not news of their own: each was announced when it was
scheduled, and the digest lists those ahead. ``digest now`` posts it at
every destination (``bot.destinations``), each in its language, and moves that
destination's "last digest" in the same transaction, so a digest is queued
once; a destination with nothing new gets nothing, and the answer says so.
``digest preview`` shows it here only and moves nothing. A destination's
first digest looks back ``FIRST_LOOKBACK``. With ``digest.schedule`` set, the
digest also goes out on its own at that wall-clock time, as ``digest now``
would send it (a recurring job: ``bot.schedules``).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from bot.arguments import NoArgs
from bot.commands import command, job
from bot.context import Context, JobContext, Post, coop_zones
from bot.destinations import Destination
from bot.messages import Heading, Part, Reply, Text, TimeTable
from bot.storage import AgendaItem, Call, DecisionLine, DecisionStatus, Proposal, Unit
from bot.timefmt import format_day, format_period
from bot.zones import ZoneResolver

HORIZON = timedelta(days=14)  # calls this far ahead are listed
FIRST_LOOKBACK = timedelta(days=7)  # a destination's first digest covers this much
LINE_TEXT = 200  # a decision's or a proposal's text is cut here
_AFTER = timedelta(microseconds=1)  # "since the last digest" is strictly after it


def cursor_name(destination: str) -> str:
    return f"digest:{destination}"


@dataclass(frozen=True)
class News:
    """What happened since a destination's last digest."""

    since: datetime
    decisions: list[DecisionLine]
    opened: list[Proposal]
    closed: list[Proposal]
    standing: dict[int, int]  # a closed proposal's positions when it closed (its outcome's count), by id

    def __bool__(self) -> bool:
        return bool(self.decisions or self.opened or self.closed)


@dataclass(frozen=True)
class Outlook:
    """What every destination's digest shows alike: the calls ahead, the proposals still open."""

    calls: list[Call]
    agendas: dict[int, list[AgendaItem]]
    still_open: list[Proposal]


def news_since(unit: Unit, since: datetime) -> News:
    closed = unit.proposals.closed_since(since + _AFTER)
    outcomes = {p.decision_id for p in closed}
    decisions = [d for d in unit.decisions.lines_after(since) if d.id not in outcomes]
    standing = {p.id: len(unit.proposals.standing(p.id)) for p in closed}
    return News(since, decisions, unit.proposals.opened_since(since + _AFTER), closed, standing)


def outlook(unit: Unit, now: datetime) -> Outlook:
    calls = unit.calls.between(now, now + HORIZON)
    return Outlook(calls, unit.agenda.for_calls([c.id for c in calls]) if calls else {}, unit.proposals.still_open())


def last_digest(unit: Unit, destination: str, now: datetime) -> datetime:
    """When ``destination`` last got a digest; ``FIRST_LOOKBACK`` ago if never."""
    value = unit.cursors.get(cursor_name(destination))
    return datetime.fromisoformat(value) if value else now - FIRST_LOOKBACK


@dataclass(frozen=True)
class Composer:
    """Writes a digest in one language."""

    t: Callable[..., str]
    lang: str
    zones: ZoneResolver
    bot_name: str

    def digest(self, news: News, ahead: Outlook, now: datetime, zone_name: str) -> Reply:
        home = self.zones.resolve(zone_name)
        first, last = ((when.astimezone(home.tz) if home else when).date() for when in (news.since, now))
        parts: list[Part] = [Heading(self.t("digest.title", start=format_day(first, self.lang),
                                            end=format_day(last, self.lang)))]
        parts += self._calls(ahead)
        parts += self._decisions(news.decisions)
        parts += self._proposals(news, ahead)
        parts += self._still_open(ahead.still_open)
        subject = self.t("digest.subject", name=self.bot_name, period=format_period(first, last, self.lang))
        return Reply(parts=tuple(parts), lang=self.lang, subject=subject)

    def _calls(self, ahead: Outlook) -> list[Part]:
        parts: list[Part] = [Heading(self.t("digest.calls", days=HORIZON.days))]
        if not ahead.calls:
            return parts + [Text(self.t("digest.no_calls"))]
        for call in ahead.calls:
            parts.append(Text(self.t("digest.call", id=call.id, title=_line(call.title))))
            zones = coop_zones(self.zones, call.coops or None)
            parts.append(TimeTable(at=call.starts_at, zones=zones, duration_minutes=call.duration_minutes,
                                   compact=True))
            items = ahead.agendas.get(call.id, [])
            if items:
                parts.append(Text("\n".join(self.t("digest.agenda_item", n=i.position, text=_line(i.text))
                                            for i in items)))
        return parts

    def _decisions(self, decisions: Sequence[DecisionLine]) -> list[Part]:
        if not decisions:
            return []
        retracted = " " + self.t("decisions.retracted_mark")
        lines = [self.t("digest.decision", id=d.id, text=_line(d.text), by=d.created_by,
                        tags=(" " + " ".join(f"#{tag}" for tag in d.tags) if d.tags else "")
                        + (retracted if d.status is DecisionStatus.RETRACTED else "")) for d in decisions]
        return [Heading(self.t("digest.decisions", count=len(decisions))), Text("\n".join(lines))]

    def _proposals(self, news: News, ahead: Outlook) -> list[Part]:
        if not (news.opened or news.closed):
            return []
        lines = [self.t("digest.opened", id=p.id, text=_line(p.text), by=p.created_by) for p in news.opened]
        lines += [self.t("digest.closed", id=p.id, text=_line(p.text), outcome=self._outcome(p, news.standing[p.id]))
                  for p in news.closed]
        return [Heading(self.t("digest.proposals")), Text("\n".join(lines))]

    def _outcome(self, closed: Proposal, count: int) -> str:
        assert closed.outcome is not None, closed.id
        return self.t(f"proposals.outcome.{closed.outcome.value}", count=count, quorum=closed.quorum)

    def _still_open(self, still_open: Sequence[Proposal]) -> list[Part]:
        if not still_open:
            return []
        parts: list[Part] = [Heading(self.t("digest.open"))]
        everyone = coop_zones(self.zones)
        for proposal in still_open:
            parts.append(Text(self.t("digest.open_line", id=proposal.id, text=_line(proposal.text))))
            parts.append(TimeTable(at=proposal.deadline_at, zones=everyone, compact=True))
        return parts


def _line(text: str) -> str:
    """The first line of ``text``, cut at ``LINE_TEXT``."""
    first = " ".join(text.split("\n", 1)[0].split())
    return first if len(first) <= LINE_TEXT else first[:LINE_TEXT - 1] + "…"


def composer(ctx: Context | JobContext, lang: str) -> Composer:
    return Composer(t=partial(ctx.catalogue.t, lang), lang=lang, zones=ctx.zones, bot_name=ctx.config.bot.name)


def send_digest(ctx: Context | JobContext, destinations: Sequence[Destination]) -> tuple[list[str], list[str]]:
    """Post the digest at each destination with news, moving its last digest; (those sent, those without news)."""
    ahead = outlook(ctx.unit, ctx.now)
    by_since: dict[datetime, News] = {}
    written: dict[tuple[datetime, str], Reply] = {}  # destinations alike in both share one digest
    sent, idle = [], []
    for destination in destinations:
        since = last_digest(ctx.unit, destination.name, ctx.now)
        if since not in by_since:
            by_since[since] = news_since(ctx.unit, since)
        news = by_since[since]
        if not news:
            idle.append(destination.name)
            continue
        if (since, destination.lang) not in written:
            written[since, destination.lang] = composer(ctx, destination.lang).digest(news, ahead, ctx.now,
                                                                                      ctx.config.bot.zone)
        ctx.post(destination, written[since, destination.lang])
        ctx.unit.cursors.set(cursor_name(destination.name), ctx.now.isoformat())
        sent.append(destination.name)
    return sent, idle


@command("digest.now", en="digest now", es="resumen ahora", order=80, args=NoArgs)
def digest_now(ctx: Context, _: NoArgs) -> list[Reply]:
    destinations = ctx.outlets.every()
    if not destinations:
        return [ctx.reply(ctx.t("digest.no_destinations"))]
    sent, idle = send_digest(ctx, destinations)
    lines = [ctx.t("digest.sent", places=", ".join(sent))] if sent else []
    if idle:
        lines.append(ctx.t("digest.nothing_new", places=", ".join(idle)))
    return [ctx.reply(" ".join(lines))]


@command("digest.preview", en="digest preview", es="resumen vista", order=81, args=NoArgs)
def digest_preview(ctx: Context, _: NoArgs) -> list[Reply]:
    here = next((d for d in ctx.outlets.every() if d.name == ctx.incoming.platform), None)
    since = last_digest(ctx.unit, here.name, ctx.now) if here else ctx.now - FIRST_LOOKBACK
    news = news_since(ctx.unit, since)
    digest = composer(ctx, ctx.lang).digest(news, outlook(ctx.unit, ctx.now), ctx.now, ctx.config.bot.zone)
    if news:
        return [digest]
    return [Reply(parts=(Text(ctx.t("digest.preview_no_news")), *digest.parts), lang=ctx.lang)]


@job("digest", every=lambda config: config.digest.schedule, grace=lambda config: config.digest.misfire_grace)
def scheduled_digest(ctx: JobContext, _: dict[str, Any]) -> list[Post]:
    send_digest(ctx, ctx.outlets.every())
    return []
