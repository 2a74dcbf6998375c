"""Rendering: safe text, per-platform shapes, message splitting."""
from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from bot.messages import Reply, Text
from bot.rendering import defuse_mass_mentions, render, split_message


def test_mass_mentions_from_user_text_are_defused() -> None:
    out = render(Reply(parts=(Text("call “@all hands” @channel @here @ana"),), lang="en"), "markdown")
    assert "@all" not in out and "@channel" not in out and "@here" not in out
    assert "@ana" in out  # ordinary mentions stay


@given(st.text())
def test_no_rendered_text_can_ping_a_whole_channel(text: str) -> None:
    out = defuse_mass_mentions(text)
    assert not re.search(r"@(all|channel|here)(?!\w)", out, re.IGNORECASE)


@given(st.lists(st.text(alphabet="abc xyz", max_size=50), max_size=40), st.integers(min_value=10, max_value=200))
def test_split_keeps_every_line_within_the_limit_and_loses_nothing(lines: list[str], limit: int) -> None:
    text = "\n".join(lines)
    pieces = split_message(text, limit)
    assert all(len(p) <= limit for p in pieces)
    assert "".join(pieces).replace("\n", "") == text.replace("\n", "")
