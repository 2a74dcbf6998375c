"""The decision log: what was decided, by whom, where, and every later version.

A decision row holds its current version; ``decision_versions`` holds every
version, the first included, with who made it and when. Editing or retracting
adds a version and never deletes one. Tags live in ``decision_tags``, keyed by
tag first, so listing one tag's decisions newest first walks that tag's ids.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Row, Select, bindparam, insert, select, update

from bot.storage.driver import db_time, execute
from bot.storage.records import Decision, DecisionLine, DecisionStatus, DecisionVersion, RecordNotFound
from bot.storage.schema import decision_tags, decision_versions, decisions

_ADD = insert(decisions).returning(decisions.c.id)
_ADD_VERSION = insert(decision_versions)
_ADD_TAG = insert(decision_tags)
_GET = select(decisions).where(decisions.c.id == bindparam("decision_id"))
_LOCK = _GET.with_for_update()
_TAGS_OF = select(decision_tags.c.decision_id, decision_tags.c.tag).where(
    decision_tags.c.decision_id.in_(bindparam("ids", expanding=True))
)
_HISTORIES = (
    select(decision_versions)
    .where(decision_versions.c.decision_id.in_(bindparam("ids", expanding=True)))
    .order_by(decision_versions.c.decision_id, decision_versions.c.version)
)
# A digest's lines: the few columns it shows, and the tags of the same range. Driver-level (see
# bot/storage/driver.py): a digest may read 10,000 rows, and SQLAlchemy's rows cost five times the query.
_LINES_AFTER = "SELECT id, text, status, created_by FROM decisions WHERE created_at > ? ORDER BY id"
_TAGS_AFTER = (
    "SELECT decision_id, tag FROM decision_tags"
    " WHERE decision_id IN (SELECT id FROM decisions WHERE created_at > ?)"
)
_REVISE = update(decisions).where(decisions.c.id == bindparam("decision_id"))


@dataclass(frozen=True)
class DecisionFilter:
    """Which decisions a listing or an export wants; every condition must hold."""

    since: datetime | None = None  # recorded at or after
    tags: tuple[str, ...] = ()  # carries every one of them
    call_id: int | None = None

    def params(self) -> dict[str, Any]:
        found: dict[str, Any] = {f"tag{n}": tag for n, tag in enumerate(self.tags)}
        return found | {"since": self.since, "call_id": self.call_id}


@lru_cache(maxsize=128)
def _listing(tags: int, since: bool, call: bool, bound: str, newest_first: bool) -> Select[Any]:
    """The statement for one shape of filter, built once; the values are bound at execution.

    ``bound`` is "<" (older than ``:bound``), ">" (newer) or "" (none). With a tag,
    the walk starts from that tag's index entries, ordered and bounded by their own
    ``decision_id``: SQLite reads the index backwards, ten entries for ten
    decisions, instead of sorting every decision of the tag.
    """
    query = select(decisions)
    key = decisions.c.id
    if tags:
        joined = decisions.join(decision_tags, decision_tags.c.decision_id == decisions.c.id)
        query = query.select_from(joined).where(decision_tags.c.tag == bindparam("tag0"))
        key = decision_tags.c.decision_id
    for n in range(1, tags):
        also = select(decision_tags.c.decision_id).where(decision_tags.c.tag == bindparam(f"tag{n}"))
        query = query.where(decisions.c.id.in_(also))
    if since:
        query = query.where(decisions.c.created_at >= bindparam("since", type_=decisions.c.created_at.type))
    if call:
        query = query.where(decisions.c.call_id == bindparam("call_id"))
    if bound:
        query = query.where(key < bindparam("bound") if bound == "<" else key > bindparam("bound"))
    return query.order_by(key.desc() if newest_first else key).limit(bindparam("limit"))


def _select(wanted: DecisionFilter, bound: str, newest_first: bool) -> Select[Any]:
    return _listing(len(wanted.tags), wanted.since is not None, wanted.call_id is not None, bound, newest_first)


class DecisionRepo:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def record(self, *, text: str, tags: Sequence[str], call_id: int | None, by: str, by_id: str,
               platform: str, channel_id: str, thread_id: str | None = None, channel_name: str | None = None,
               link: str | None = None, now: datetime) -> Decision:
        """Store a new decision as version 1; ``tags`` lower-case, without "#"."""
        decision_id: int = self._conn.execute(_ADD, {
            "text": text, "status": DecisionStatus.ACTIVE.value, "version": 1, "call_id": call_id,
            "platform": platform, "channel_id": channel_id, "thread_id": thread_id,
            "channel_name": channel_name, "link": link, "created_by": by, "created_by_id": by_id,
            "created_at": now, "updated_at": now,
        }).scalar_one()
        self._add_version(decision_id, 1, text, DecisionStatus.ACTIVE, by, by_id, now)
        unique = sorted(set(tags))
        if unique:
            self._conn.execute(_ADD_TAG, [{"tag": tag, "decision_id": decision_id} for tag in unique])
        return self._one(decision_id)

    def get(self, decision_id: int) -> Decision | None:
        row = self._conn.execute(_GET, {"decision_id": decision_id}).one_or_none()
        return None if row is None else self._with_tags([row])[0]

    def history(self, decision_id: int) -> list[DecisionVersion]:
        """Every version of the decision, the first first."""
        return self.histories([decision_id]).get(decision_id, [])

    def histories(self, decision_ids: Sequence[int]) -> dict[int, list[DecisionVersion]]:
        """``history`` of several decisions in one query (for exports), by decision id."""
        found: dict[int, list[DecisionVersion]] = {}
        for row in self._conn.execute(_HISTORIES, {"ids": list(decision_ids)}):
            found.setdefault(row.decision_id, []).append(_version(row))
        return found

    def revise(self, decision_id: int, *, text: str | None = None, status: DecisionStatus | None = None,
               by: str, by_id: str, now: datetime) -> Decision:
        """Add a version with a new text, a new status or both; raises ``RecordNotFound``."""
        row = self._conn.execute(_LOCK, {"decision_id": decision_id}).one_or_none()
        if row is None:
            raise RecordNotFound("decisions", decision_id)
        version = row.version + 1
        new_text = row.text if text is None else text
        new_status = DecisionStatus(row.status) if status is None else status
        self._conn.execute(_REVISE, {"decision_id": decision_id, "text": new_text, "status": new_status.value,
                                     "version": version, "updated_at": now})
        self._add_version(decision_id, version, new_text, new_status, by, by_id, now)
        return self._one(decision_id)

    def page(self, wanted: DecisionFilter, *, before_id: int | None = None, limit: int = 10) -> list[Decision]:
        """Up to ``limit`` decisions matching ``wanted``, newest first, older than ``before_id`` if given."""
        query = _select(wanted, "" if before_id is None else "<", newest_first=True)
        rows = self._conn.execute(query, wanted.params() | {"bound": before_id, "limit": limit}).all()
        return self._with_tags(rows)

    def each(self, wanted: DecisionFilter, *, batch: int = 500) -> Iterator[Decision]:
        """Every decision matching ``wanted``, oldest first, read ``batch`` at a time (for exports)."""
        after, query = 0, _select(wanted, ">", newest_first=False)
        while True:
            found = self._with_tags(self._conn.execute(query, wanted.params() | {"bound": after, "limit": batch}))
            yield from found
            if len(found) < batch:
                return
            after = found[-1].id

    def lines_after(self, after: datetime) -> list[DecisionLine]:
        """Every decision recorded after ``after``, oldest first, as a digest shows it (one read of
        10,000 decisions takes a few tens of milliseconds, not the hundreds ``each`` needs)."""
        at = (db_time(self._conn, after),)
        tags: dict[int, list[str]] = {}
        for decision_id, tag in execute(self._conn, _TAGS_AFTER, at).fetchall():
            tags.setdefault(decision_id, []).append(tag)
        statuses = {status.value: status for status in DecisionStatus}
        return [DecisionLine(id, text, statuses[status], by, tuple(sorted(tags.get(id, ()))))
                for id, text, status, by in execute(self._conn, _LINES_AFTER, at).fetchall()]

    def _add_version(self, decision_id: int, version: int, text: str, status: DecisionStatus,
                     by: str, by_id: str, now: datetime) -> None:
        self._conn.execute(_ADD_VERSION, {
            "decision_id": decision_id, "version": version, "text": text, "status": status.value,
            "changed_by": by, "changed_by_id": by_id, "changed_at": now,
        })

    def _one(self, decision_id: int) -> Decision:
        found = self.get(decision_id)
        if found is None:
            raise RecordNotFound("decisions", decision_id)
        return found

    def _with_tags(self, rows: Iterable[Row[Any]]) -> list[Decision]:
        rows = list(rows)
        tags: dict[int, list[str]] = {}
        if rows:
            for decision_id, tag in self._conn.execute(_TAGS_OF, {"ids": [row.id for row in rows]}):
                tags.setdefault(decision_id, []).append(tag)
        return [_decision(row, tags.get(row.id, ())) for row in rows]


def _decision(row: Row[Any], tags: Iterable[str]) -> Decision:
    fields = row._asdict()  # the columns of ``decisions``, which every query here selects
    fields["status"] = DecisionStatus(fields["status"])
    return Decision(tags=tuple(sorted(tags)), **fields)


def _version(row: Row[Any]) -> DecisionVersion:
    fields = dict(row._mapping)
    fields["status"] = DecisionStatus(fields["status"])
    return DecisionVersion(**fields)
