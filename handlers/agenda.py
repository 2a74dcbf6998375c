"""!agenda: what a call will be about. Show it, add and remove items, or take a post's bullet list.

Which call: one named as ``#3``; else the next call scheduled in this channel
(or Discourse topic); else, if only one call lies ahead at all, that one.
The agenda is posted with the call's reminders and by ``call show``.
"""
from __future__ import annotations

import re

from bot.commands import command
from bot.context import Context
from bot.errors import UserError
from bot.messages import Reply
from bot.numbers import small_number
from bot.storage import AgendaItem, Call
from bot.timefmt import format_instant
from handlers.calls import agenda_lines, scheduled_call

MAX_ITEM_LENGTH = 300
MAX_ITEMS_FROM_A_POST = 30

# A list item: its indent, a marker ("-", "*", "+", "•", "1.", "1)"; or a dash straight before a
# word, "-Distribution and salary", as people type lists in plain text), an optional task box.
_BULLET = re.compile(
    r"^(?P<indent> *)(?:[-*+•]\s+|-(?=[^\W\d_])|\d{1,3}[.)]\s+)(?:\[[ xX]\]\s+)?(?P<text>\S.*?)\s*$"
)
_CALL_REF = re.compile(r"^#(?P<id>\d+)$")


def bullet_items(text: str) -> list[str]:
    """The items of the lists in ``text``, in order; sub-items (indented deeper than the
    shallowest item by two spaces or more) are details of their item and stay out."""
    found = [m for m in (_BULLET.match(line.replace("\t", "    ")) for line in text.splitlines()) if m]
    top = min((len(m["indent"]) for m in found), default=0)
    return [m["text"] for m in found if len(m["indent"]) < top + 2]


def _split_call_ref(args: str) -> tuple[str | None, str]:
    """("3", rest) when the arguments start with "#3"; (None, args) otherwise."""
    first, *rest = args.split(None, 1) or [""]
    found = _CALL_REF.match(first)
    return (found["id"], rest[0].strip() if rest else "") if found else (None, args.strip())


def _call(ctx: Context, ref: str | None) -> Call:
    """The call ``ref`` names, else the next one here, else the only one ahead."""
    if ref is not None:
        return scheduled_call(ctx, ref)
    place = ctx.incoming.place
    here = ctx.unit.calls.next_scheduled(ctx.now, platform=ctx.incoming.platform, channel_id=place.channel_id)
    if here is not None:
        return here
    ahead = ctx.unit.calls.upcoming(ctx.now, limit=2)
    if len(ahead) == 1:
        return ahead[0]
    raise UserError("agenda.which_call", list=ctx.command("call.list"))  # no usage: it is not one


def _title(ctx: Context, call: Call) -> str:
    return ctx.t("agenda.call", id=call.id, title=call.title,
                 when=format_instant(call.starts_at, ctx.sender_zone, ctx.lang))


def _listing(ctx: Context, call: Call, items: list[AgendaItem], header_key: str, **params: object) -> Reply:
    header = ctx.t(header_key, call=_title(ctx, call), **params)
    return ctx.reply("\n".join([header, *agenda_lines(ctx, ctx.lang, items)]))


def _checked(ctx: Context, text: str) -> str:
    """One line (an item cannot fake the numbered lines after it), not too long."""
    text = " ".join(text.split())
    if len(text) > MAX_ITEM_LENGTH:
        raise ctx.usage_error("agenda.too_long", limit=MAX_ITEM_LENGTH)
    return text


@command("agenda", en="agenda", es="agenda", order=50)
def show_agenda(ctx: Context) -> list[Reply]:
    ref, rest = _split_call_ref(ctx.args)
    if ref is None and small_number(rest) is not None:
        ref, rest = rest, ""
    if rest:
        raise ctx.usage_error()
    call = _call(ctx, ref)
    items = ctx.unit.agenda.for_call(call.id)
    if not items:
        add = ctx.command("agenda.add")
        return [ctx.reply(ctx.t("agenda.empty", call=_title(ctx, call), add=add))]
    return [_listing(ctx, call, items, "agenda.header")]


@command("agenda.add", en="agenda add", es="agenda agregar", order=51)
def add_item(ctx: Context) -> list[Reply]:
    ref, text = _split_call_ref(ctx.args)
    if not text:
        raise ctx.usage_error("agenda.missing_text")
    call = _call(ctx, ref)
    (item,) = ctx.unit.agenda.add(call.id, [_checked(ctx, text)], added_by=ctx.incoming.sender.name, now=ctx.now)
    return [ctx.reply(ctx.t("agenda.added", call=_title(ctx, call), n=item.position, text=item.text))]


@command("agenda.remove", en="agenda remove", es="agenda quitar", order=52)
def remove_item(ctx: Context) -> list[Reply]:
    ref, typed = _split_call_ref(ctx.args)
    number = small_number(typed)
    if number is None:
        raise ctx.usage_error("agenda.missing_number")
    call = _call(ctx, ref)
    removed = ctx.unit.agenda.remove(call.id, number)
    if removed is None:
        raise ctx.usage_error("agenda.no_such_item", n=typed, call=_title(ctx, call))
    return [ctx.reply(ctx.t("agenda.removed", call=_title(ctx, call), n=removed.position, text=removed.text))]


@command("agenda.from", en="agenda from", es="agenda desde", order=53, reads_post=True)
def items_from_post(ctx: Context) -> list[Reply]:
    words = ctx.args.split(None, 1)  # as the dispatcher split them to read the post
    ref, extra = _split_call_ref(words[1] if len(words) > 1 else "")
    if not words or extra:
        raise ctx.usage_error()
    post = ctx.source_post()
    texts = bullet_items(post.text)
    if not texts:
        raise ctx.usage_error("agenda.no_bullets", ref=post.ref)
    if len(texts) > MAX_ITEMS_FROM_A_POST:
        raise ctx.usage_error("agenda.too_many", ref=post.ref, limit=MAX_ITEMS_FROM_A_POST)
    call = _call(ctx, ref)
    added = ctx.unit.agenda.add(call.id, [_checked(ctx, t) for t in texts], added_by=ctx.incoming.sender.name,
                                now=ctx.now, source=f"post {post.ref}")
    return [_listing(ctx, call, added, "agenda.taken", ref=post.ref, author=post.author)]
