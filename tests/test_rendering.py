"""Rendering: safe text, per-platform shapes, message splitting."""
from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from datetime import datetime, timezone

import pytz

from bot.messages import Heading, Reply, Text, TimeTable
from bot.rendering import defuse_mass_mentions, render, split_message
from bot.zones import ResolvedZone


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


# --- Discourse: local-date markup and a plain line ------------------------------------------

LONDON = ResolvedZone(pytz.timezone("Europe/London"), "London")
BUENOS_AIRES = ResolvedZone(pytz.timezone("America/Argentina/Buenos_Aires"), "Buenos Aires")
TOKYO = ResolvedZone(pytz.timezone("Asia/Tokyo"), "Tokyo")
AT = datetime(2018, 11, 29, 19, 0, tzinfo=timezone.utc)


def _discourse(table: TimeTable, lang: str = "en") -> list[str]:
    return render(Reply(parts=(table,), lang=lang), "discourse").split("\n")


def test_discourse_time_is_local_date_markup_in_the_first_coops_zone_then_one_plain_line() -> None:
    markup, plain = _discourse(TimeTable(at=AT, zones=(LONDON, BUENOS_AIRES, TOKYO)))
    assert markup == ('[date=2018-11-29 time=19:00:00 timezone="Europe/London" '
                      'timezones="Europe/London|America/Argentina/Buenos_Aires|Asia/Tokyo"]')
    assert plain == "Thu 29 Nov 2018 19:00 London (UTC+0) · 16:00 Buenos Aires (UTC−3) · Fri 30 Nov 2018 04:00 Tokyo (UTC+9)"


def test_discourse_call_with_a_duration_is_a_date_range_in_the_readers_language() -> None:
    markup, plain = _discourse(TimeTable(at=AT, zones=(BUENOS_AIRES, LONDON), duration_minutes=90), "es")
    assert markup.startswith("[date-range from=2018-11-29T16:00:00 to=2018-11-29T17:30:00 "
                             'timezone="America/Argentina/Buenos_Aires"')
    assert plain.startswith("jue 29 nov 2018 16:00 Buenos Aires")


def test_discourse_time_without_a_named_zone_is_given_in_utc() -> None:
    markup, _ = _discourse(TimeTable(at=AT, zones=(ResolvedZone(pytz.utc, "UTC"),)))
    assert markup == '[date=2018-11-29 time=19:00:00 timezone="Etc/UTC"]'


# --- headings, compact time lines and Telegram's HTML ----------------------------------------

BUENOS_AIRES = ResolvedZone(pytz.timezone("America/Argentina/Buenos_Aires"), "Buenos Aires")
DIGEST = Reply(parts=(Heading("Calls <soon> & later"), Text("• Call #1: R&D <review>"),
                      TimeTable(at=datetime(2026, 12, 10, 19, 0, tzinfo=timezone.utc),
                                zones=(LONDON, BUENOS_AIRES), compact=True)), lang="en")


def test_a_heading_is_bold_where_the_platform_has_bold_and_a_line_in_plain_text() -> None:
    assert render(DIGEST, "plain").splitlines()[0] == "Calls <soon> & later"
    assert render(DIGEST, "markdown").splitlines()[0] == "**Calls <soon> & later**"
    assert render(DIGEST, "telegram").splitlines()[0] == "<b>Calls &lt;soon&gt; &amp; later</b>"


def test_a_compact_time_table_is_one_line_in_every_coops_zone() -> None:
    line = "Thu 10 Dec 2026 19:00 London (UTC+0) · 16:00 Buenos Aires (UTC−3)"
    assert render(DIGEST, "plain").splitlines()[2] == line
    assert render(DIGEST, "markdown").splitlines()[2] == line
    assert render(DIGEST, "telegram").splitlines()[2] == line
    discourse = render(DIGEST, "discourse").splitlines()
    assert discourse[2].startswith('[date=2026-12-10 time=19:00:00 timezone="Europe/London"')  # each reader's own


def test_telegram_escapes_user_text_and_writes_a_full_table_with_its_own_tags() -> None:
    assert render(DIGEST, "telegram").splitlines()[1] == "• Call #1: R&amp;D &lt;review&gt;"
    table = Reply(parts=(TimeTable(at=datetime(2026, 12, 10, 19, 0, tzinfo=timezone.utc), zones=(LONDON,)),),
                  lang="es")
    assert render(table, "telegram") == "<b>London</b>  jue 10 dic 2026  <b>19:00</b> UTC+0"


def test_html_escapes_every_user_character_and_keeps_the_lines_and_the_table() -> None:
    page = render(DIGEST, "html").splitlines()
    assert page[0] == "<h2>Calls &lt;soon&gt; &amp; later</h2>"
    assert page[1] == "<p>• Call #1: R&amp;D &lt;review&gt;</p>"
    assert page[2] == "<p>Thu 10 Dec 2026 19:00 London (UTC+0) · 16:00 Buenos Aires (UTC−3)</p>"
    two_lines = render(Reply(parts=(Text('a "quoted" <b>\nline'),), lang="es"), "html")
    assert two_lines == "<p>a &quot;quoted&quot; &lt;b&gt;<br>\nline</p>"
    table = Reply(parts=(TimeTable(at=datetime(2026, 12, 10, 19, 0, tzinfo=timezone.utc), zones=(LONDON,)),),
                  lang="es")
    assert render(table, "html") == ('<table cellpadding="4"><tr><th align="left">London</th>'
                                     "<td>jue 10 dic 2026</td><td><b>19:00</b> UTC+0</td></tr></table>")
