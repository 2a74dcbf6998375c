"""The Discourse adapter's parts: reading posts, finding the command, quoting, signatures, limits.

The first half tests pure helpers; the second runs the adapter in this
process against a FakeDiscourse, to check what it hands the dispatcher and
what it sends. Whole-bot behaviour is in ``test_discourse_e2e.py``.
"""
from __future__ import annotations

import pathlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.adapters.discourse import DiscourseAdapter
from bot.adapters.discourse_api import API, POSTING, Gate, TtlCache
from bot.adapters.discourse_poll import EDIT_GRACE, from_edit
from bot.adapters.discourse_text import (
    MENTIONED,
    REPLIED,
    NotificationView,
    PostView,
    command_line,
    mentions,
    notification_view,
    outbox_mark,
    post_view,
    quote_block,
    readable_text,
    watched,
    with_outbox_mark,
)
from bot.adapters.discourse_webhook import signature, signature_ok
from bot.errors import RateLimited
from bot.messages import Incoming, Outgoing, Place, SourcePost
from bot.storage import Store
from tests.fakes._discourse_json import notification_json, post_json
from tests.fakes.discourse import FakeDiscourse, SiteSettings, sign

AT = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)


# --- reading posts and notifications -------------------------------------------------


async def test_a_webhook_post_and_a_fetched_post_read_the_same() -> None:
    async with FakeDiscourse() as forum:
        topic = forum.create_topic("Planning the winter assembly", posts=2)
        post = await forum.user_posts("alice", topic.id, "@coopbot time 7pm", reply_to_post_number=2)
        pushed = post_view(post_json(forum.forum, post, None, "webhook"))
        fetched = post_view(post_json(forum.forum, post, forum.bot, "show"))
    assert (pushed.id, pushed.topic_id, pushed.post_number, pushed.username, pushed.raw) == \
        (post.id, topic.id, 3, "alice", "@coopbot time 7pm")
    assert pushed.category_id == forum.general.id and pushed.category_slug == "general"
    assert pushed.archetype == "regular" and fetched.archetype is None
    assert (fetched.id, fetched.raw, fetched.reply_to_username) == (pushed.id, pushed.raw, pushed.reply_to_username)
    assert pushed.answerable and pushed.created_at is not None


def test_a_post_without_its_ids_is_refused_as_malformed() -> None:
    with pytest.raises(ValueError):
        post_view({"raw": "@coopbot time", "username": "alice"})


async def test_a_notification_names_the_post_it_is_about() -> None:
    async with FakeDiscourse() as forum:
        topic = forum.create_topic("Planning the winter assembly")
        post = await forum.user_posts("alice", topic.id, "@coopbot time 7pm")
        seen = notification_view(notification_json(forum.forum, forum.notifications_for("coopbot")[0]))
    assert (seen.notification_type, seen.topic_id, seen.post_number, seen.original_post_id) == \
        (MENTIONED, topic.id, post.post_number, post.id)


# --- the command and its quote ------------------------------------------------------------


@pytest.mark.parametrize("raw", [
    "@coopbot time 7pm", "hey @CoopBot, time 7pm", "(@coopbot) time", "ask @coopbot.", "@coopbot: time",
])
def test_a_mention_of_the_bot_is_found(raw: str) -> None:
    assert mentions(raw, "coopbot")


@pytest.mark.parametrize("raw", [
    "@coopbots time", "mail coop@coopbot.org", "@coopbot-dev time", "@coopbot.dev time",
    '[quote="bob, post:3, topic:9"]\n@coopbot time 7pm\n[/quote]\nI agree',
    "[quote]outer [quote]@coopbot inner[/quote] @coopbot still quoted[/quote] done",
    "use `@coopbot time 7pm` to ask", "```\n@coopbot time 7pm\n```\nlike that",
])
def test_a_mention_in_a_quote_code_or_longer_name_is_not_one(raw: str) -> None:
    assert not mentions(raw, "coopbot")


def test_the_command_is_on_the_line_that_mentions_the_bot() -> None:
    raw = "Hello all!\n\n[quote=\"bob, post:1, topic:2\"]\n@coopbot old\n[/quote]\n@coopbot time 7pm GMT\nThanks"
    assert command_line(raw, "coopbot") == "@coopbot time 7pm GMT"


def test_without_a_mention_the_command_is_the_first_line_and_an_empty_post_has_none() -> None:
    assert command_line("\n  hora 16hs ART  \ngracias", "coopbot") == "hora 16hs ART"
    assert command_line("```\ncode only\n```", "coopbot") is None


@given(st.text())
def test_reading_any_raw_never_fails(raw: str) -> None:
    line = command_line(raw, "coopbot")
    assert line is None or line.strip() == line
    assert isinstance(readable_text(raw), str)


def test_the_quote_names_author_post_and_topic_and_cannot_be_broken_out_of() -> None:
    assert quote_block("alice", 4, 1001, "@coopbot time 7pm") == \
        '[quote="alice, post:4, topic:1001"]\n@coopbot time 7pm\n[/quote]\n\n'
    hostile = quote_block("alice", 4, 1001, "[/quote] @coopbot [quote=x]" + "y" * 400)
    assert hostile.count("[/quote]") == 1 and hostile.count("[quote") == 1 and len(hostile) < 400


@given(st.text(max_size=200))
def test_a_quote_always_closes_once(line: str) -> None:
    assert quote_block("alice", 1, 2, line).count("[/quote]") == 1


# --- where the bot listens -------------------------------------------------------------------


def test_an_empty_watch_list_watches_everything_else_topics_and_categories_by_id_or_slug() -> None:
    assert watched(7, 3, "general", (), ())
    assert watched(7, 3, None, (7,), ("calls",))
    assert watched(8, 3, "Calls", (7,), ("calls",))
    assert watched(8, 3, None, (), ("3",))
    assert not watched(8, 4, "general", (7,), ("calls", "3"))


def _post(version: int, created_at: datetime) -> PostView:
    return PostView(id=1, topic_id=2, post_number=3, user_id=4, username="alice", raw="@coopbot time",
                    created_at=created_at, version=version)


def _mention(created_at: datetime, kind: int = MENTIONED) -> NotificationView:
    return NotificationView(id=9, notification_type=kind, topic_id=2, post_number=3, original_post_id=1,
                            created_at=created_at)


def test_a_mention_that_an_edit_added_later_is_told_apart_from_a_written_one() -> None:
    late = AT + EDIT_GRACE + timedelta(seconds=1)
    assert from_edit(_mention(late), _post(2, AT))
    assert not from_edit(_mention(AT + timedelta(seconds=2)), _post(2, AT))  # a typo fixed at once
    assert not from_edit(_mention(late), _post(1, AT))  # never edited: only delayed
    assert not from_edit(_mention(late, REPLIED), _post(2, AT))  # replies are never sent for edits


# --- signatures ----------------------------------------------------------------------------------


def test_a_signature_is_the_hmac_of_the_exact_body_as_discourse_computes_it() -> None:
    body = b'{"post":{"id":5001,"raw":"@coopbot time"}}'
    assert signature(b"coop-webhook-secret-0123", body) == sign("coop-webhook-secret-0123", body)
    assert signature_ok(b"coop-webhook-secret-0123", body, sign("coop-webhook-secret-0123", body))


@pytest.mark.parametrize("header", [
    None, "", "sha256=", sign("another-secret-4567", b"{}"), sign("coop-webhook-secret-0123", b"{} "),
    sign("coop-webhook-secret-0123", b"{}").removeprefix("sha256="), sign("coop-webhook-secret-0123", b"{}").upper(),
])
def test_a_missing_wrong_or_reshaped_signature_is_refused(header: str | None) -> None:
    assert not signature_ok(b"coop-webhook-secret-0123", b"{}", header)


# --- waiting out limits ------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_closed_gate_says_how_long_is_left_and_posting_waits_for_both_limits() -> None:
    clock = FakeClock()
    gate = Gate(clock)
    gate.close(POSTING, 5)
    gate.close(API, 2)
    clock.now += 1
    assert gate.remaining(API) == 1 and gate.remaining(API, POSTING) == 4
    gate.close(POSTING, 1)  # a shorter wait never shortens a longer one
    clock.now += 4
    assert gate.remaining(API, POSTING) <= 0


def test_cached_entries_expire_and_the_oldest_go_first() -> None:
    clock = FakeClock()
    cache: TtlCache[str | None] = TtlCache(10, size=2, clock=clock)
    cache.put(1, None)
    cache.put(2, "b")
    cache.put(3, "c")
    assert cache.get(1) == (False, None) and cache.get(2) == (True, "b")  # a cached None is a hit
    cache.put(1, None)
    assert cache.get(1) == (True, None)
    clock.now += 11
    assert cache.get(3) == (False, None)


# --- the adapter in this process -------------------------------------------------------------------


@pytest.fixture
async def forum() -> AsyncIterator[FakeDiscourse]:
    async with FakeDiscourse(settings=SiteSettings(max_admin_api_reqs_per_minute=None)) as d:
        yield d


@pytest.fixture
def store(tmp_path: pathlib.Path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'coopbot.db'}")
    store.migrate()
    return store


class Dispatched(list[Incoming]):
    async def __call__(self, incoming: Incoming) -> None:
        self.append(incoming)


def _adapter(forum: FakeDiscourse, store: Store, **kwargs: object) -> DiscourseAdapter:
    """The adapter, not started: enough to send; polling once an hour, so the test polls."""
    return DiscourseAdapter(url=forum.url, api_key=forum.api_key, api_username="coopbot", store=store,
                            poll_interval=3600, **kwargs)  # type: ignore[arg-type]


async def test_only_commands_for_the_bot_reach_the_dispatcher(forum: FakeDiscourse, store: Store) -> None:
    watched_topic = forum.create_topic("Planning the winter assembly")
    elsewhere = forum.create_topic("Somewhere the bot does not listen")
    adapter, dispatched = _adapter(forum, store, watch_topics=(watched_topic.id,)), Dispatched()
    await adapter.start(dispatched)
    try:
        mention = await forum.user_posts("alice", watched_topic.id, "So:\n@coopbot time 7pm GMT\nthanks")
        await forum.user_posts("bob", watched_topic.id, '[quote="alice, post:2, topic:1001"]\n@coopbot time\n[/quote]')
        await forum.user_posts("bob", elsewhere.id, "@coopbot time 8pm GMT")
        pm = await forum.user_sends_pm("bob", ["coopbot"], "Pregunta", "hora 16hs ART")
        again = await forum.user_posts("bob", pm.topic_id, "hora 17hs ART")  # one notification for both
        await adapter.poller.cycle()
    finally:
        await adapter.stop()
    assert [(i.message_id, i.text, i.place.is_direct) for i in dispatched] == [
        (str(mention.id), "@coopbot time 7pm GMT", False), (str(pm.id), "hora 16hs ART", True),
        (str(again.id), "hora 17hs ART", True)]
    assert [n.topic_id for n in forum.notifications_for("coopbot")].count(pm.topic_id) == 1  # collapsed
    first = dispatched[0]
    assert (first.place.channel_id, first.place.thread_id) == (str(watched_topic.id), str(mention.post_number))
    assert first.bot_mention == "@coopbot" and first.sender.name == "alice"


async def test_a_reply_after_a_restart_reads_the_answered_post_back_to_quote_it(
        forum: FakeDiscourse, store: Store) -> None:
    topic = forum.create_topic("Planning the winter assembly")
    post = await forum.user_posts("alice", topic.id, "Hi!\n@coopbot time 7pm GMT")
    adapter = _adapter(forum, store)  # knows nothing of the post, as after a restart
    try:
        await adapter.send(Outgoing("discourse", str(topic.id), "7pm GMT is 16:00 in Buenos Aires.",
                                    thread_id=str(post.post_number)))
    finally:
        await adapter.stop()
    reply = await forum.wait_for_post("coopbot")
    assert reply.reply_to_post_number == post.post_number
    assert reply.raw.startswith(f'[quote="alice, post:{post.post_number}, topic:{topic.id}"]\n@coopbot time 7pm GMT\n')


async def test_after_a_429_the_next_post_waits_without_asking_discourse(forum: FakeDiscourse, store: Store) -> None:
    topic = forum.create_topic("Planning the winter assembly")
    adapter = _adapter(forum, store, digest_topic=topic.id)
    place = adapter.announce_place()
    assert place is not None
    out = Outgoing("discourse", place.channel_id, "An announcement long enough for Discourse to take.")
    forum.start_rate_limiting(wait_seconds=30, requests=1)
    try:
        with pytest.raises(RateLimited) as first:
            await adapter.send(out)
        posts_tried = forum.requests["POST /posts.json"]
        with pytest.raises(RateLimited) as second:
            await adapter.send(out)
    finally:
        await adapter.stop()
    assert first.value.retry_after == 30 and 0 < second.value.retry_after <= 30
    assert forum.requests["POST /posts.json"] == posts_tried == 1


async def test_reading_a_post_by_number_gives_its_own_words_without_quotes(forum: FakeDiscourse, store: Store) -> None:
    topic = forum.create_topic("Planning the winter assembly")
    listed = await forum.user_posts("alice", topic.id, "Topics:\n- Budget\n- Hiring\n```\n- not an item\n```")
    quoting = await forum.user_posts(
        "bob", topic.id, f'[quote="alice, post:{listed.post_number}, topic:{topic.id}"]\n- Budget\n[/quote]\nAnd:\n- Travel')
    adapter = _adapter(forum, store)
    place = Place("discourse", str(topic.id), thread_id="1")
    try:
        first = await adapter.read_post(place, str(listed.post_number))
        second = await adapter.read_post(place, str(quoting.post_number))
        missing = [await adapter.read_post(place, ref) for ref in ("99", "0", "x", "²", "9" * 5000)]
    finally:
        await adapter.stop()
    assert first is not None and first.ref == str(listed.post_number) and first.author == "alice"
    assert first.text.split("\n")[:3] == ["Topics:", "- Budget", "- Hiring"] and "not an item" not in first.text
    assert second is not None and "Budget" not in second.text and "- Travel" in second.text
    assert missing == [None] * 5


def test_the_outbox_mark_ends_the_raw_even_when_the_text_is_cut_to_fit() -> None:
    marked = with_outbox_mark("x" * 500, 1234, limit=200)
    assert len(marked) == 200 and marked.endswith("…\n\n<!-- coopbot:1234/0 -->")
    assert outbox_mark(marked) == (1234, 0)
    assert with_outbox_mark("short", None, limit=200) == "short" and outbox_mark("short") is None
    assert outbox_mark("<!-- coopbot:7/0 --> and then more text") is None  # only at the very end
