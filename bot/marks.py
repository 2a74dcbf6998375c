"""The mark on every post the bot makes: which outbox row, and which part of it, the post is.

``"<row>/<part>"``: Mattermost carries it in the post's ``props``, Discourse as an
HTML comment at the end of the raw text (which it does not render). After a
crash the adapters read the bot's own recent posts for these marks, so a reply
that went out just before the crash is marked sent instead of sent again,
however long the bot was down.
"""
from __future__ import annotations

import re

_MARK = re.compile(r"([0-9]{1,18})/([0-9]{1,4})")


def mark(outbox_id: int, part: int) -> str:
    return f"{outbox_id}/{part}"


def read_mark(value: object) -> tuple[int, int] | None:
    """(row, part) from a mark; None for anything else."""
    match = _MARK.fullmatch(value) if isinstance(value, str) else None
    return (int(match.group(1)), int(match.group(2))) if match else None


def posted_parts(marks: list[tuple[tuple[int, int], str]]) -> dict[int, dict[int, str]]:
    """The parts found posted, by row: part → the platform's id of its post, from (mark, post id) pairs."""
    found: dict[int, dict[int, str]] = {}
    for (row, part), post_id in marks:
        found.setdefault(row, {})[part] = post_id
    return found
