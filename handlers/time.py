"""!time / !hora: one instant in every coop's zone."""
from __future__ import annotations

from bot.commands import command
from bot.context import Context
from bot.messages import Reply
from bot.timeparse import parse_when
from bot.zones import ResolvedZone


def zones_for_reading(ctx: Context, *extra: ResolvedZone) -> tuple[ResolvedZone, ...]:
    """The coops' zones, then any other zone the reader cares about (the phrase's, their own)."""
    zones = list(ctx.coop_zones())
    for zone in extra:
        if all(_differs(zone, z) for z in zones):
            zones.append(zone)
    return tuple(zones)


def _differs(a: ResolvedZone, b: ResolvedZone) -> bool:
    return str(a.tz) != str(b.tz)


@command("time", en="time", es="hora", order=10)
def time_(ctx: Context) -> list[Reply]:
    if not ctx.args:
        table = ctx.time_table(ctx.now, zones_for_reading(ctx, ctx.sender_zone))
        return [ctx.reply(ctx.t("time.now"), table)]
    when = parse_when(ctx.args, now=ctx.now, zone=ctx.sender_zone, resolver=ctx.zones,
                      day_first=ctx.config.bot.day_first)
    table = ctx.time_table(when.at, zones_for_reading(ctx, when.zone, ctx.sender_zone))
    return [ctx.reply(ctx.t("time.is", phrase=ctx.args), table)]
