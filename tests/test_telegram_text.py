"""Telegram's HTML cut into messages as Telegram counts them, and the per-chat message limit.

Every piece is parsed by the fake Bot API's parser (``tests.fakes.telegram.parse_html``,
which follows Telegram's own rules), so a piece Telegram would refuse fails here.
"""
from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.adapters.telegram import ChatLimiter
from bot.adapters.telegram_text import MAX_UNITS, split_html, to_plain, units
from tests.fakes.telegram import parse_html


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def parsed_pieces(text: str, limit: int = MAX_UNITS, max_entities: int = 100) -> list[tuple[str, int]]:
    """Each piece as Telegram shows it, with its entity count; fails if Telegram would refuse one."""
    found = []
    for piece in split_html(text, limit, max_entities):
        plain, entities = parse_html(piece)
        assert plain.strip(), f"an empty message: {piece!r}"
        assert utf16(plain) <= limit, (utf16(plain), piece[:80])
        assert len(entities) <= max_entities
        found.append((plain, len(entities)))
    return found


def words_only(text: str) -> str:
    """What is left to read: no spaces, no line breaks, none of the characters Telegram deletes."""
    return "".join(re.sub(r"[\r\u2028-\u202e]", "", text).split())


def test_units_are_utf16_code_units() -> None:
    assert units("abc") == 3 and units("ñandú") == 5 and units("📋 ok") == 5
    assert to_plain("<b>R&amp;D</b> &lt;3") == "R&D <3"


def test_a_ten_thousand_character_digest_goes_in_three_messages_cut_at_line_ends() -> None:
    lines = [f"<b>Call #{n}</b>: R&amp;D review — “{'x' * 60}”" for n in range(120)]
    text = "\n".join(lines)
    assert len(to_plain(text)) > 10_000
    pieces = parsed_pieces(text)
    assert len(pieces) == 3
    assert words_only("".join(plain for plain, _ in pieces)) == words_only(to_plain(text))
    assert all(plain.startswith("Call #") for plain, _ in pieces)  # each starts at a line's start


def test_a_line_longer_than_a_message_is_cut_inside_its_tag_which_is_closed_and_opened_again() -> None:
    text = "<b>" + "y" * 5000 + "</b> tail &amp; more"
    first, second = split_html(text)
    assert first == "<b>" + "y" * 4096 + "</b>"
    assert second == "<b>" + "y" * 904 + "</b> tail &amp; more"
    parsed_pieces(text)


def test_an_emoji_counts_two_and_is_never_cut_in_half() -> None:
    text = "📋" * 3000  # 6000 UTF-16 units
    pieces = parsed_pieces(text)
    assert [utf16(plain) for plain, _ in pieces] == [4096, 1904]


def test_no_message_has_more_than_a_hundred_entities() -> None:
    text = "\n".join(f"<b>{n}</b>" for n in range(250))
    assert [count for _, count in parsed_pieces(text)] == [100, 100, 50]


def test_nested_tags_open_at_a_cut_are_closed_innermost_first_and_opened_again_outermost_first() -> None:
    text = "<b>bold <i>" + "z" * 30 + "</i> end</b>"
    pieces = split_html(text, limit=20)
    assert pieces[0] == "<b>bold <i>" + "z" * 15 + "</i></b>"
    assert pieces[1].startswith("<b><i>")
    assert [plain for plain, _ in parsed_pieces(text, limit=20)][-1].endswith("end")


def test_blank_lines_at_a_cut_leave_no_empty_message() -> None:
    assert split_html("\n\n\n") == []
    assert [plain for plain, _ in parsed_pieces("a\n\n\n\nb", limit=2)] == ["a", "b"]


piece_of_text = st.one_of(
    st.text(alphabet="ab ñ📋<>&\"\r\u202c\u2028\t", min_size=0, max_size=30).map(
        lambda t: t.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")),
    st.sampled_from(["<b>bold</b>", "<i>it &amp; al</i>", '<a href="https://example.coop/a?b=1&amp;c=2">link</a>',
                     "<code>x &lt; y</code>"]),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(piece_of_text, max_size=8).map("".join), min_size=1, max_size=40),
       st.integers(min_value=12, max_value=120))
def test_any_text_is_cut_into_messages_telegram_accepts_and_nothing_is_lost(lines: list[str], limit: int) -> None:
    text = "\n".join(lines)
    pieces = parsed_pieces(text, limit=limit, max_entities=5)
    assert words_only("".join(plain for plain, _ in pieces)) == words_only(to_plain(text))


# --- the limiter --------------------------------------------------------------------------------

class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_twenty_messages_a_minute_then_a_wait_for_the_oldest_to_age_out() -> None:
    clock = Clock()
    limiter = ChatLimiter(clock=clock)
    for n in range(20):
        assert limiter.wait() == 0
        limiter.sent()
        clock.now += 1
    assert limiter.wait() == 40  # the first went at 1000, so the 21st may go at 1060
    clock.now = 1060
    assert limiter.wait() == 0


def test_a_retry_after_holds_every_message_until_it_has_run() -> None:
    clock = Clock()
    limiter = ChatLimiter(clock=clock)
    limiter.hold(7)
    assert limiter.wait() == 7
    clock.now += 7
    assert limiter.wait() == 0
