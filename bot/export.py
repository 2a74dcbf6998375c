"""``coopbot export decisions``: the decision log for the coops' wiki.

Markdown has a section per month (in the bot's zone and language), each
decision with who, when, where (a link where there is one) and its tags;
retracted decisions are marked, never left out. JSON has every field of every
decision, its call and its full history. Both are written as they are read, a
batch of decisions at a time, so a long log never sits in memory whole.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from datetime import datetime
from typing import Any, TextIO

from babel.dates import format_date

from bot.arguments import hashtags
from bot.i18n import Catalogue
from bot.storage import Call, Decision, DecisionFilter, DecisionStatus, DecisionVersion, Store, Unit
from bot.timefmt import format_instant
from bot.zones import ResolvedZone

BATCH = 500
# A line of a decision's text that Markdown would read as structure (a heading, a list item, a quote,
# a rule, a fence): its first character is escaped, so the text stays inside its list item.
_STRUCTURE = re.compile(r"^(\s*)([#>*+=`~|-]|\d+[.)])")


Row = tuple[Decision, Call | None, list[DecisionVersion]]  # a decision, its call, its history


def export_decisions(store: Store, wanted: DecisionFilter, out: TextIO, *, fmt: str, lang: str,
                     zone: ResolvedZone, catalogue: Catalogue) -> int:
    """Write the decisions ``wanted`` selects to ``out``, oldest first; returns how many."""
    writer = _Markdown(lang, zone, catalogue) if fmt == "md" else _Json()
    with store.unit() as unit:
        return writer.write(_rows(unit, wanted), out)


def _rows(unit: Unit, wanted: DecisionFilter) -> Iterator[Row]:
    calls: dict[int, Call | None] = {}
    batch: list[Decision] = []
    for decision in unit.decisions.each(wanted, batch=BATCH):
        batch.append(decision)
        if len(batch) == BATCH:
            yield from _completed(unit, batch, calls)
            batch = []
    yield from _completed(unit, batch, calls)


def _completed(unit: Unit, batch: list[Decision], calls: dict[int, Call | None]) -> Iterator[Row]:
    """The batch's decisions with their calls (each read once) and histories (one query)."""
    history = unit.decisions.histories([d.id for d in batch]) if batch else {}
    for decision in batch:
        if decision.call_id is not None and decision.call_id not in calls:
            calls[decision.call_id] = unit.calls.get(decision.call_id)
        call = calls.get(decision.call_id) if decision.call_id is not None else None
        yield decision, call, history.get(decision.id, [])


class _Markdown:
    def __init__(self, lang: str, zone: ResolvedZone, catalogue: Catalogue) -> None:
        self.lang, self.zone, self.catalogue = lang, zone, catalogue

    def t(self, key: str, **params: Any) -> str:
        return self.catalogue.t(self.lang, key, **params)

    def write(self, rows: Iterable[Row], out: TextIO) -> int:
        out.write(f"# {self.t('export.title')}\n")
        month: tuple[int, int] | None = None
        count = 0
        for decision, call, history in rows:
            local = decision.created_at.astimezone(self.zone.tz)
            if (local.year, local.month) != month:  # Babel is asked once a month, not once a decision
                month = (local.year, local.month)
                heading = format_date(local.date(), "LLLL y", locale=self.lang)
                out.write(f"\n## {heading[:1].upper()}{heading[1:]}\n\n")
            out.write(self._item(decision, call, history))
            count += 1
        if not count:
            out.write(f"\n{self.t('export.none')}\n")
        return count

    def _item(self, decision: Decision, call: Call | None, history: list[DecisionVersion]) -> str:
        retracted = decision.status is DecisionStatus.RETRACTED
        mark = f" {self.t('decisions.retracted_mark')}" if retracted else ""
        head = f"- **{self.t('export.decision', id=decision.id)}**{mark}: {_inline(decision.text)}\n"
        where = self.t("decisions.where", channel=decision.channel_name or decision.channel_id,
                       platform=decision.platform)
        if decision.link:
            where = f"[{where}]({decision.link})"
        lines = [self.t("export.recorded", by=decision.created_by, when=self._when(decision.created_at), where=where)]
        if call is not None:
            lines.append(self.t("decisions.call", id=call.id, title=call.title))
        if decision.tags:
            lines.append(self.t("decisions.tags", tags=hashtags(decision.tags)))
        if len(history) > 1:
            last = history[-1]
            key = "export.retracted" if retracted else "export.edited"
            lines.append(self.t(key, by=last.changed_by, when=self._when(last.changed_at), version=last.version))
        return head + "".join(f"  - {line}\n" for line in lines)

    def _when(self, at: datetime) -> str:
        return format_instant(at, self.zone, self.lang)


def _inline(text: str) -> str:
    """The text inside its list item: later lines indented under it, structure characters escaped."""
    lines = [_STRUCTURE.sub(lambda m: m[1] + "\\" + m[2], line) for line in text.splitlines() or [""]]
    return "\n    ".join(lines)


class _Json:
    def write(self, rows: Iterable[Row], out: TextIO) -> int:
        out.write('{"decisions": [')
        count = 0
        for decision, call, history in rows:
            record = json.dumps(_record(decision, call, history), ensure_ascii=False)
            out.write(("," if count else "") + "\n  " + record)
            count += 1
        out.write("\n]}\n")
        return count


def _record(decision: Decision, call: Call | None, history: list[DecisionVersion]) -> dict[str, Any]:
    fields = _plain(asdict(decision))
    fields["call"] = None if call is None else {"id": call.id, "title": call.title,
                                                 "starts_at": call.starts_at.isoformat()}
    fields["history"] = [_plain(asdict(version)) for version in history]
    return fields


def _plain(fields: dict[str, Any]) -> dict[str, Any]:
    """Datetimes as ISO 8601 with their UTC offset, enums as their value, tuples as lists."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, DecisionStatus):
            value = value.value
        elif isinstance(value, tuple):
            value = list(value)
        out[key] = value
    return out
