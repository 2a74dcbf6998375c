"""!coops: each coop, its local time now and whether it is inside working hours."""
from __future__ import annotations

from bot.commands import command
from bot.context import Context
from bot.messages import Reply
from bot.timefmt import format_instant
from bot.zones import ResolvedZone


@command("coops", en="coops", es="coops", order=30)
def list_coops(ctx: Context) -> list[Reply]:
    if not ctx.coops():
        return [ctx.reply(ctx.t("coops.none"))]
    lines = [ctx.t("coops.header")]
    for coop in ctx.coops():
        resolved = ctx.zones.resolve(coop.zone)
        if resolved is None:
            continue
        zone = ResolvedZone(tz=resolved.tz, label=coop.city or coop.name)
        local = ctx.now.astimezone(zone.tz)
        open_now = coop.working_hours.contains(local.time()) and local.weekday() < 5
        status = ctx.t("coops.working" if open_now else "coops.outside", hours=str(coop.working_hours))
        lines.append(ctx.t("coops.line", name=coop.name, time=format_instant(ctx.now, zone, ctx.lang),
                           zone=coop.zone, status=status))
    return [ctx.reply("\n".join(lines))]
