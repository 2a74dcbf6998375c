"""!time / !hora: one instant in every coop's zone, or first in the zone asked for."""
from __future__ import annotations

from bot.commands import command
from bot.context import Context, distinct_zones
from bot.messages import Reply
from bot.timeparse import parse_conversion
from bot.zones import ResolvedZone


def zones_for_reading(ctx: Context, *extra: ResolvedZone) -> tuple[ResolvedZone, ...]:
    """The coops' zones, then any other zone the reader cares about (the phrase's, their own)."""
    return distinct_zones(*ctx.coop_zones(), *extra)


@command("time", en="time", es="hora", order=10)
def time_(ctx: Context) -> list[Reply]:
    if not ctx.args:
        table = ctx.time_table(ctx.now, zones_for_reading(ctx, ctx.sender_zone))
        return [ctx.reply(ctx.t("time.now"), table)]
    asked = parse_conversion(ctx.args, now=ctx.now, zone=ctx.sender_zone, resolver=ctx.zones,
                             day_first=ctx.config.bot.day_first)
    when = asked.when
    lead = (asked.target,) if asked.target else ()
    table = ctx.time_table(when.at, distinct_zones(*lead, *ctx.coop_zones(), when.zone, ctx.sender_zone))
    return [ctx.reply(ctx.t("time.is", phrase=ctx.args), table)]
