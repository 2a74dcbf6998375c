"""!language / !idioma: the language the bot writes to this person in."""
from __future__ import annotations

from bot.commands import command
from bot.context import Context
from bot.i18n import LANGUAGES
from bot.messages import Reply


@command("language", en="language", es="idioma", order=25)
def language(ctx: Context) -> list[Reply]:
    wanted = ctx.args.strip().lower()
    if not wanted:
        return [ctx.reply(ctx.t("language.current", set=ctx.prefix + ctx.t("commands.language.example")))]
    if wanted not in LANGUAGES:
        raise ctx.usage_error("language.unknown", text=ctx.args.strip())
    ctx.unit.users.set_lang(ctx.incoming.platform, ctx.incoming.sender.id, wanted, ctx.now)
    ctx.lang = wanted
    return [ctx.reply(ctx.t("language.saved"))]
