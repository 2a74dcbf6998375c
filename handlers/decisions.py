"""!decide, !decisions, !decision: the decision log.

A decision is recorded with who, when, where (platform, channel or topic, a
link to the post where the platform gives one), the call it belongs to and its
tags. Which call: one named as ``#3``; else the scheduled call of this channel
or topic that started within the last day; else none. Editing and retracting
add versions; nothing is deleted. Anyone in a watched channel may do all of it.

These are the first commands declared with typed arguments (``bot.arguments``):
their parser, usage, example and argument errors come from the dataclasses below.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from bot.arguments import CallRef, NoArgs, Number, Since, Tags, Text, arg, hashtags
from bot.commands import command
from bot.context import Context
from bot.errors import UserError
from bot.messages import Reply
from bot.messages import Text as TextPart
from bot.storage import Call, Decision, DecisionFilter, DecisionStatus, DecisionVersion
from bot.timefmt import format_day, format_instant

PAGE_SIZE = 10
MAX_TEXT = 4000
LINE_TEXT = 160  # a decision's text in a listing is cut here; ``decision <id>`` shows it whole
CALL_WINDOW = timedelta(days=1)  # a decision belongs to this channel's call that started this recently


@dataclass(frozen=True)
class DecideArgs:
    call: int | None = arg(CallRef(optional=True))
    text: str = arg(Text())
    tags: tuple[str, ...] = arg(Tags())


@dataclass(frozen=True)
class ListArgs:
    since: datetime | None = arg(Since())
    tags: tuple[str, ...] = arg(Tags())
    call: int | None = arg(CallRef(optional=True))


@dataclass(frozen=True)
class DecisionArgs:
    decision: int = arg(Number("decision"))


@dataclass(frozen=True)
class EditArgs:
    decision: int = arg(Number("decision"))
    text: str = arg(Text())


# --- recording ---------------------------------------------------------------------------

@command("decision.record", en="decide", es="decidir", order=60, args=DecideArgs)
def decide(ctx: Context, args: DecideArgs) -> list[Reply]:
    text = _checked(ctx, args.text)
    call = _named_call(ctx, args.call) if args.call is not None else _call_here(ctx)
    place, sender = ctx.incoming.place, ctx.incoming.sender
    decision = ctx.unit.decisions.record(
        text=text, tags=args.tags, call_id=call.id if call else None, by=sender.name, by_id=sender.id,
        platform=ctx.incoming.platform, channel_id=place.channel_id, thread_id=place.thread_id,
        channel_name=place.channel_name, link=ctx.incoming.link, now=ctx.now,
    )
    labels = _labels(ctx.t, decision)
    about = f" ({' · '.join(labels)})" if labels else ""
    ctx.publish(partial(_update, ctx, decision))
    return [ctx.reply(ctx.t("decisions.recorded", id=decision.id, about=about, text=text))]


def _update(ctx: Context, decision: Decision, lang: str) -> Reply:
    """The decision as news, for the update destinations (``digest.updates``), in ``lang``."""
    t = partial(ctx.catalogue.t, lang)
    labels = _labels(t, decision)
    lines = [t("updates.decision", id=decision.id, about=f" ({' · '.join(labels)})" if labels else "",
               text=decision.text, by=decision.created_by)]
    if decision.link:
        lines.append(t("decisions.link", link=decision.link))
    return Reply(parts=(TextPart("\n".join(lines)),), lang=lang)


def _checked(ctx: Context, text: str) -> str:
    if len(text) > MAX_TEXT:
        raise ctx.usage_error("decisions.too_long", limit=MAX_TEXT)
    return text


def _named_call(ctx: Context, call_id: int) -> Call:
    call = ctx.unit.calls.get(call_id)
    if call is None:
        raise ctx.usage_error("decisions.no_such_call", id=call_id, list=ctx.command("call.list"))
    return call


def _call_here(ctx: Context) -> Call | None:
    return ctx.unit.calls.latest_started(ctx.now, ctx.now - CALL_WINDOW, platform=ctx.incoming.platform,
                                         channel_id=ctx.incoming.place.channel_id)


# --- listing -----------------------------------------------------------------------------

@command("decision.list", en="decisions", es="decisiones", order=61, args=ListArgs)
def list_decisions(ctx: Context, args: ListArgs) -> list[Reply]:
    if args.call is not None:
        _named_call(ctx, args.call)
    wanted = DecisionFilter(since=args.since, tags=args.tags, call_id=args.call)
    return [_page(ctx, wanted, before_id=None, first=True)]


@command("decision.more", en="decisions more", es="decisiones más", order=62, args=NoArgs)
def more_decisions(ctx: Context, args: NoArgs) -> list[Reply]:
    saved = ctx.unit.cursors.get(_listing_key(ctx))
    if saved is None:
        raise UserError("decisions.no_listing", list=ctx.command("decision.list"))
    state = json.loads(saved)
    if state["before"] is None:
        raise UserError("decisions.no_more")
    since = datetime.fromisoformat(state["since"]) if state["since"] else None
    wanted = DecisionFilter(since=since, tags=tuple(state["tags"]), call_id=state["call"])
    return [_page(ctx, wanted, before_id=state["before"], first=False)]


def _page(ctx: Context, wanted: DecisionFilter, *, before_id: int | None, first: bool) -> Reply:
    """Ten decisions, newest first, and where the next ten start (kept per member and channel)."""
    found = ctx.unit.decisions.page(wanted, before_id=before_id, limit=PAGE_SIZE + 1)
    shown, more = found[:PAGE_SIZE], len(found) > PAGE_SIZE
    ctx.unit.cursors.set(_listing_key(ctx), json.dumps({
        "since": wanted.since.isoformat() if wanted.since else None, "tags": list(wanted.tags),
        "call": wanted.call_id, "before": shown[-1].id if more else None,
    }))
    if not shown:
        nothing_at_all = first and wanted == DecisionFilter()
        key = "decisions.none" if nothing_at_all else "decisions.none_matching"
        return ctx.reply(ctx.t(key, decide=ctx.command("decision.record")))
    lines = [ctx.t("decisions.header"), *(_line(ctx, decision) for decision in shown)]
    if more:
        lines.append(ctx.t("decisions.more", more=ctx.command("decision.more")))
    return ctx.reply("\n".join(lines))


def _listing_key(ctx: Context) -> str:
    place = ctx.incoming.place
    return f"decisions.listing:{ctx.incoming.platform}:{place.channel_id}:{ctx.incoming.sender.id}"


def _line(ctx: Context, decision: Decision) -> str:
    text = " ".join(decision.text.split())
    if len(text) > LINE_TEXT:
        text = text[:LINE_TEXT - 1].rstrip() + "…"
    if decision.status is DecisionStatus.RETRACTED:
        text = f"{ctx.t('decisions.retracted_mark')} {text}"
    day = format_day(decision.created_at.astimezone(ctx.sender_zone.tz).date(), ctx.lang)
    about = "".join(f" · {label}" for label in _labels(ctx.t, decision))
    return ctx.t("decisions.line", id=decision.id, text=text, by=decision.created_by, day=day, about=about)


def _labels(t: Callable[..., str], decision: Decision) -> list[str]:
    """["call #3", "#hosting #infra"]: what a decision belongs to, for one line."""
    labels = [t("decisions.about_call", id=decision.call_id)] if decision.call_id else []
    return labels + ([hashtags(decision.tags)] if decision.tags else [])


# --- one decision: show, edit, retract ----------------------------------------------------

@command("decision", en="decision", es="decisión", order=63, args=DecisionArgs)
def show_decision(ctx: Context, args: DecisionArgs) -> list[Reply]:
    decision = _decision(ctx, args.decision)
    status = f" {ctx.t('decisions.retracted_mark')}" if decision.status is DecisionStatus.RETRACTED else ""
    where = ctx.t("decisions.where", channel=decision.channel_name or decision.channel_id,
                  platform=decision.platform)
    lines = [ctx.t("decisions.show_header", id=decision.id, status=status), decision.text,
             ctx.t("decisions.recorded_by", by=decision.created_by, when=_when(ctx, decision.created_at),
                   where=where)]
    if decision.link:
        lines.append(ctx.t("decisions.link", link=decision.link))
    call = ctx.unit.calls.get(decision.call_id) if decision.call_id else None
    if call is not None:
        lines.append(ctx.t("decisions.call", id=call.id, title=call.title))
    if decision.tags:
        lines.append(ctx.t("decisions.tags", tags=hashtags(decision.tags)))
    history = ctx.unit.decisions.history(decision.id)
    if len(history) > 1:
        lines.append(ctx.t("decisions.history"))
        lines += [_version(ctx, version, history[n - 1] if n else None) for n, version in enumerate(history)]
    return [ctx.reply("\n".join(lines))]


def _version(ctx: Context, version: DecisionVersion, before: DecisionVersion | None) -> str:
    if before is None:
        key = "decisions.version_recorded"
    elif version.status is DecisionStatus.RETRACTED and before.status is DecisionStatus.ACTIVE:
        key = "decisions.version_retracted"
    else:
        key = "decisions.version_edited"
    return ctx.t(key, version=version.version, when=_when(ctx, version.changed_at), by=version.changed_by,
                 text=" ".join(version.text.split()))


@command("decision.edit", en="decision edit", es="decisión editar", order=64, args=EditArgs)
def edit_decision(ctx: Context, args: EditArgs) -> list[Reply]:
    decision = _decision(ctx, args.decision)
    text = _checked(ctx, args.text)
    if decision.status is DecisionStatus.RETRACTED:
        raise UserError("decisions.edit_retracted", id=decision.id)
    if text == decision.text:
        raise UserError("decisions.unchanged", id=decision.id)
    sender = ctx.incoming.sender
    edited = ctx.unit.decisions.revise(decision.id, text=text, by=sender.name, by_id=sender.id, now=ctx.now)
    return [ctx.reply(ctx.t("decisions.edited", id=edited.id, version=edited.version, text=text))]


@command("decision.retract", en="decision retract", es="decisión retirar", order=65, args=DecisionArgs)
def retract_decision(ctx: Context, args: DecisionArgs) -> list[Reply]:
    decision = _decision(ctx, args.decision)
    if decision.status is DecisionStatus.RETRACTED:
        raise UserError("decisions.already_retracted", id=decision.id)
    sender = ctx.incoming.sender
    ctx.unit.decisions.revise(decision.id, status=DecisionStatus.RETRACTED, by=sender.name, by_id=sender.id,
                              now=ctx.now)
    return [ctx.reply(ctx.t("decisions.retracted", id=decision.id, text=decision.text))]


def _decision(ctx: Context, decision_id: int) -> Decision:
    decision = ctx.unit.decisions.get(decision_id)
    if decision is None:
        raise ctx.usage_error("decisions.no_such_decision", id=decision_id,
                              list=ctx.command("decision.list"))
    return decision


def _when(ctx: Context, at: datetime) -> str:
    return format_instant(at, ctx.sender_zone, ctx.lang)
