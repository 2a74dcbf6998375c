"""!call / !llamada: schedule international calls, list, show, move, cancel; reminders.

``call show`` and the reminders include the call's agenda (see ``handlers/agenda.py``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.commands import command, job
from bot.context import Context, JobContext, Post
from bot.i18n import format_minutes
from bot.messages import Place, Reply, Target, Text, TimeTable
from bot.numbers import small_number
from bot.storage import AgendaItem, Call, Unit
from bot.timefmt import format_instant
from bot.timeparse import parse_duration, parse_when
from handlers.time import zones_for_reading

_QUOTED = re.compile(r'^\s*["“”«](?P<title>[^"“”«»]+)["“”»]\s*(?P<rest>.*)$', re.DOTALL)
_TAIL = re.compile(
    r"^(?P<when>.+?)(?:\s+(?:for|por|durante)\s+(?P<duration>.+?))?(?:\s+(?:with|con)\s+(?P<coops>.+))?$",
    re.IGNORECASE | re.DOTALL,
)


@dataclass(frozen=True)
class ScheduleArgs:
    title: str
    when: str
    duration: str | None
    coops: tuple[str, ...]


def parse_schedule_args(args: str) -> ScheduleArgs | None:
    quoted = _QUOTED.match(args)
    if not quoted or not quoted["rest"].strip():
        return None
    tail = _TAIL.match(quoted["rest"].strip())
    if tail is None:
        return None
    coops = tuple(c.strip() for c in (tail["coops"] or "").replace(" y ", ",").replace(" and ", ",").split(",") if c.strip())
    return ScheduleArgs(quoted["title"].strip(), tail["when"].strip(), tail["duration"], coops)


def _coop_names(ctx: Context, wanted: tuple[str, ...]) -> tuple[str, ...]:
    names = []
    for word in wanted:
        coop = next((c for c in ctx.coops() if word.lower() in {c.name.lower(), *(a.lower() for a in c.aliases)}), None)
        if coop is None:
            raise ctx.usage_error("calls.unknown_coop", coop=word, known=", ".join(c.name for c in ctx.coops()))
        names.append(coop.name)
    return tuple(names)


def _future(ctx: Context, at: datetime) -> datetime:
    if at <= ctx.now:
        raise ctx.usage_error("calls.in_the_past")
    return at


def _plan_reminders(ctx: Context | JobContext, call: Call, now: datetime) -> list[int]:
    """Store the call's reminders still ahead and plan their jobs; returns their offsets."""
    due = [(m, call.starts_at - timedelta(minutes=m)) for m in ctx.config.reminders.offset_minutes]
    ahead = [(m, at) for m, at in due if at > now]
    for old in ctx.unit.reminders.for_call(call.id):
        ctx.jobs.cancel(_job_id(old.id))
    for reminder in ctx.unit.reminders.replace_for_call(call.id, ahead):
        ctx.jobs.run_once(_job_id(reminder.id), reminder.due_at, "reminder", {"reminder_id": reminder.id})
    return [m for m, _ in ahead]


def _job_id(reminder_id: int) -> str:
    return f"reminder:{reminder_id}"


def scheduled_call(ctx: Context, text: str) -> Call:
    """The scheduled call ``text`` names ("3" or "#3"); a usage error pointing to the list otherwise."""
    number = text.strip().lstrip("#")
    call_id = small_number(number)
    call = ctx.unit.calls.get(call_id) if call_id is not None else None
    if call is None or call.status != "scheduled":
        raise ctx.usage_error("calls.no_such_call", id=text.strip(), list=ctx.command("call.list"))
    return call


def _split_id(ctx: Context) -> tuple[str, str]:
    parts = ctx.args.split(None, 1)
    if not parts:
        raise ctx.usage_error("calls.missing_id")
    return parts[0], parts[1] if len(parts) > 1 else ""


def agenda_lines(ctx: Context | JobContext, lang: str, items: list[AgendaItem]) -> list[str]:
    """The items as a numbered list, in ``lang``."""
    return [ctx.catalogue.t(lang, "agenda.line", n=item.position, text=item.text) for item in items]


def agenda_parts(ctx: Context | JobContext, lang: str, call: Call) -> tuple[Text, ...]:
    """The call's agenda under its heading, as reply parts; none if it has no items."""
    items = ctx.unit.agenda.for_call(call.id)
    if not items:
        return ()
    return (Text("\n".join([ctx.catalogue.t(lang, "agenda.heading"), *agenda_lines(ctx, lang, items)])),)


def _table(ctx: Context | JobContext, call: Call) -> TimeTable:
    zones = ctx.coop_zones(tuple(call.coops) or None)
    return TimeTable(at=call.starts_at, zones=zones, duration_minutes=call.duration_minutes)


@command("call", en="call", es="llamada", order=40)
def call_group(ctx: Context) -> list[Reply]:
    raise ctx.usage_error("calls.which_subcommand", word=ctx.args)


@command("call.schedule", en="call schedule", es="llamada agendar", order=41)
def schedule(ctx: Context) -> list[Reply]:
    parsed = parse_schedule_args(ctx.args)
    if parsed is None:
        raise ctx.usage_error()
    when = parse_when(parsed.when, now=ctx.now, zone=ctx.sender_zone, resolver=ctx.zones,
                      day_first=ctx.config.bot.day_first)
    if not when.has_time:
        raise ctx.usage_error("calls.needs_time", when=parsed.when)
    duration = parse_duration(parsed.duration) if parsed.duration else ctx.config.calls.default_duration
    place = ctx.incoming.place
    call = ctx.unit.calls.add(
        title=parsed.title, starts_at=_future(ctx, when.at), duration_minutes=int(duration.total_seconds() // 60),
        coops=list(_coop_names(ctx, parsed.coops)), created_by=ctx.incoming.sender.name,
        platform=ctx.incoming.platform, channel_id=place.channel_id, thread_id=place.thread_id,
        lang=ctx.lang, now=ctx.now,
    )
    offsets = _plan_reminders(ctx, call, ctx.now)
    reminders = ", ".join(format_minutes(m, ctx.lang) for m in offsets) or ctx.t("calls.no_reminders")
    announcement = ctx.reply(ctx.t("calls.announce", id=call.id, title=call.title, by=call.created_by),
                             _table(ctx, call), target=Target.ANNOUNCE)
    confirmation = ctx.reply(ctx.t("calls.scheduled", id=call.id, title=call.title, reminders=reminders))
    return [confirmation, announcement]


@command("call.list", en="call list", es="llamada lista", order=42)
def list_calls(ctx: Context) -> list[Reply]:
    calls = ctx.unit.calls.upcoming(ctx.now, 20)
    if not calls:
        return [ctx.reply(ctx.t("calls.none"))]
    lines = [ctx.t("calls.list_header")]
    lines += [ctx.t("calls.list_line", id=c.id, title=c.title,
                    when=format_instant(c.starts_at, ctx.sender_zone, ctx.lang)) for c in calls]
    return [ctx.reply("\n".join(lines))]


@command("call.show", en="call show", es="llamada ver", order=43)
def show_call(ctx: Context) -> list[Reply]:
    call = scheduled_call(ctx, ctx.args or "")
    reminders = [r for r in ctx.unit.reminders.for_call(call.id) if r.fired_at is None]
    text = ctx.t("calls.show", id=call.id, title=call.title, minutes=call.duration_minutes, by=call.created_by,
                 reminders=", ".join(format_minutes(r.offset_minutes, ctx.lang) for r in reminders)
                 or ctx.t("calls.no_reminders"))
    return [ctx.reply(text, _table(ctx, call), *agenda_parts(ctx, ctx.lang, call))]


@command("call.move", en="call move", es="llamada mover", order=44)
def move_call(ctx: Context) -> list[Reply]:
    number, when_text = _split_id(ctx)
    if not when_text:
        raise ctx.usage_error("calls.missing_when")
    call = scheduled_call(ctx, number)
    when = parse_when(when_text, now=ctx.now, zone=ctx.sender_zone, resolver=ctx.zones,
                      day_first=ctx.config.bot.day_first)
    moved = ctx.unit.calls.move(call.id, _future(ctx, when.at), ctx.now)
    _plan_reminders(ctx, moved, ctx.now)
    return [ctx.reply(ctx.t("calls.moved", id=moved.id, title=moved.title), _table(ctx, moved),
                      target=Target.ANNOUNCE)]


@command("call.cancel", en="call cancel", es="llamada cancelar", order=45)
def cancel_call(ctx: Context) -> list[Reply]:
    call = scheduled_call(ctx, ctx.args or "")
    for reminder in ctx.unit.reminders.for_call(call.id):
        ctx.jobs.cancel(_job_id(reminder.id))
    ctx.unit.calls.cancel(call.id, ctx.now)
    return [ctx.reply(ctx.t("calls.cancelled", id=call.id, title=call.title), target=Target.ANNOUNCE)]


def pending_reminders(unit: Unit) -> list[tuple[str, datetime, dict[str, Any]]]:
    """Reminder jobs that should exist: one per unfired reminder of a scheduled call."""
    return [(_job_id(r.id), r.due_at, {"reminder_id": r.id}) for r in unit.reminders.pending()]


@job("reminder", recover=pending_reminders)
def remind(ctx: JobContext, payload: dict[str, Any]) -> list[Post]:
    reminder = ctx.unit.reminders.claim(int(payload["reminder_id"]), ctx.now)
    if reminder is None:
        return []  # already fired (or replaced): exactly once
    call = ctx.unit.calls.get(reminder.call_id)
    if call is None or call.status != "scheduled":
        return []
    lang = call.lang or ctx.config.bot.language
    left = max(0, int((call.starts_at - ctx.now).total_seconds() // 60))
    text = ctx.t(lang, "calls.reminder", id=call.id, title=call.title, left=format_minutes(left, lang))
    reply = Reply(parts=(Text(text), _table(ctx, call), *agenda_parts(ctx, lang, call)), lang=lang)
    place = Place(platform=call.platform, channel_id=call.channel_id, thread_id=call.thread_id)
    return [Post(platform=call.platform, place=place, reply=reply)]
