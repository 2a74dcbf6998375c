"""!tz / !zona: the sender's own time zone, stored per user."""
from __future__ import annotations

from bot.commands import command
from bot.context import Context
from bot.messages import Reply
from bot.zones import unknown_zone, utc_offset_label


@command("tz", en="tz", es="zona", order=20)
def show_zone(ctx: Context) -> list[Reply]:
    if ctx.args:
        raise ctx.usage_error("tz.unexpected_argument", text=ctx.args, set=ctx.command("tz.set"))
    prefs = ctx.unit.users.get(ctx.incoming.platform, ctx.incoming.sender.id)
    if prefs is not None and prefs.zone:
        source = "tz.source_user"
    elif ctx.incoming.sender.zone:
        source = "tz.source_profile"
    else:
        source = "tz.source_default"
    zone = ctx.sender_zone
    return [ctx.reply(ctx.t("tz.current", zone=zone.label, offset=utc_offset_label(ctx.now, zone.tz),
                            source=ctx.t(source), set=ctx.command("tz.set")))]


@command("tz.set", en="tz set", es="zona fijar", order=21)
def set_zone(ctx: Context) -> list[Reply]:
    if not ctx.args:
        raise ctx.usage_error("tz.missing_zone")
    zone = ctx.zones.resolve(ctx.args)
    if zone is None:
        raise unknown_zone(ctx.zones, ctx.args)
    stored = str(zone.tz.zone) if getattr(zone.tz, "zone", None) else ctx.args.strip()
    ctx.unit.users.set_zone(ctx.incoming.platform, ctx.incoming.sender.id, stored, ctx.now)
    return [ctx.reply(ctx.t("tz.saved", zone=zone.label, offset=utc_offset_label(ctx.now, zone.tz)))]
