"""!help / !ayuda: generated from the command registry, in the asker's language."""
from __future__ import annotations

from bot.commands import CommandSpec, command
from bot.context import Context
from bot.messages import Reply
from bot.zones import fold


def _line(ctx: Context, spec: CommandSpec) -> str:
    return f"{ctx.prefix}{spec.usage(ctx.catalogue, ctx.lang)} — {ctx.t(f'commands.{spec.key}.help')}"


def _detail(ctx: Context, spec: CommandSpec) -> str:
    other = [spec.name(lang) for lang in spec.names if lang != ctx.lang and spec.name(lang) != spec.name(ctx.lang)]
    lines = [
        f"{ctx.prefix}{spec.usage(ctx.catalogue, ctx.lang)}",
        ctx.t(f"commands.{spec.key}.help"),
        ctx.t("help.example", example=ctx.prefix + spec.example(ctx.catalogue, ctx.lang)),
    ]
    if other:
        lines.append(ctx.t("help.also", names=", ".join(ctx.prefix + n for n in other)))
    return "\n".join(lines)


@command("help", en="help", es="ayuda", order=0)
def help_(ctx: Context) -> list[Reply]:
    words = fold(ctx.args).lstrip(ctx.prefix).split()
    if words:
        found = ctx.registry.match(words)
        group = ctx.registry.group(words[0]) if found is None else []
        if found is None and not group:
            raise ctx.usage_error("help.no_such_command", word=ctx.args)
        specs = [found.spec] if found else group
        return [ctx.reply("\n\n".join(_detail(ctx, spec) for spec in specs))]
    listing = [_line(ctx, spec) for spec in ctx.registry.specs if ctx.catalogue.has(f"commands.{spec.key}.help")]
    header = ctx.t("help.header", name=ctx.config.bot.name)
    footer = ctx.t("help.footer", help=ctx.prefix + ctx.spec.name(ctx.lang))
    return [ctx.reply("\n".join([header, *listing, footer]))]
