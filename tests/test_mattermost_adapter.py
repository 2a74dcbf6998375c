"""The Mattermost adapter's parts: reading frames and posts, profiles, slash replies, cursors, sending.

The first half tests pure helpers; the second runs the adapter in this process
against a FakeMattermost, to check what it hands the dispatcher and what it
posts. Whole-bot behaviour is in ``test_mattermost_e2e.py``.
"""
from __future__ import annotations

import asyncio
import json
import pathlib
import random
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.adapters.mattermost import (
    MAX_POST_LENGTH,
    Cursors,
    MattermostAdapter,
    slash_response,
    slash_token_ok,
)
from bot.adapters.mattermost_events import (
    ChannelInfo,
    Hello,
    MalformedEvent,
    OtherEvent,
    Posted,
    Reacted,
    Response,
    parse_channels,
    parse_frame,
    parse_post,
    parse_profile,
    posts_in_listing,
    profile_zone,
)
from bot.backoff import backoff_delay
from bot.adapters.recent import RecentIds
from bot.errors import AdapterError, RateLimited, RejectedError, StorageError
from bot.messages import Incoming, Outgoing, Place, Reaction
from bot.rendering import split_message
from bot.storage import Store
from tests.fakes.mattermost import FakeMattermost

POST = {"id": "p" * 26, "create_at": 1700000000000, "update_at": 1700000000000, "delete_at": 0,
        "user_id": "u" * 26, "channel_id": "c" * 26, "root_id": "", "message": "!time 7pm",
        "type": "", "props": {}}


def posted(post: dict[str, Any] | str, **data: Any) -> str:
    """A ``posted`` event as the server writes it: ``data.post`` is a JSON string."""
    body = {"channel_type": "O", "channel_name": "town-square", "sender_name": "@ana",
            "post": post if isinstance(post, str) else json.dumps(post), **data}
    return json.dumps({"event": "posted", "data": body, "broadcast": {}, "seq": 3})


# --- frames ------------------------------------------------------------------------------------


def go_post(post: dict[str, Any]) -> str:
    """A post as the server's Go encoder writes it: compact, fields in the struct's order."""
    return json.dumps(post, separators=(",", ":"))


def test_the_bots_own_post_coming_back_is_not_parsed_but_keeps_its_sequence_number() -> None:
    own = {**POST, "user_id": "b" * 26, "message": "not { valid json inside would not matter"}
    frame = parse_frame(posted(go_post(own)[:-1]), own_user="b" * 26)  # cut short: never parsed
    assert frame == OtherEvent("posted", 3)


def test_a_post_quoting_the_bots_id_as_its_author_field_is_still_a_members_post() -> None:
    sneaky = {**POST, "message": '"user_id":"' + "b" * 26 + '"'}
    frame = parse_frame(posted(go_post(sneaky)), own_user="b" * 26)
    assert isinstance(frame, Posted) and frame.post.user_id == "u" * 26
    laid_out_otherwise = json.dumps({"message": "!tz", **{k: v for k, v in POST.items() if k != "message"},
                                     "user_id": "b" * 26})
    frame = parse_frame(posted(laid_out_otherwise), own_user="b" * 26)
    assert isinstance(frame, Posted) and frame.post.user_id == "b" * 26  # parsed in full, then dropped


def test_a_posted_event_carries_the_post_decoded_from_its_json_string() -> None:
    frame = parse_frame(posted(POST, mentions=json.dumps(["b" * 26])))
    assert isinstance(frame, Posted)
    assert frame.post.message == "!time 7pm" and frame.post.channel_id == "c" * 26
    assert frame.channel_name == "town-square" and frame.sender_name == "@ana"
    assert frame.mentions == frozenset({"b" * 26}) and frame.seq == 3


def test_hello_gives_the_connection_id() -> None:
    frame = parse_frame('{"event": "hello", "data": {"connection_id": "abc", "server_version": "10"}, "seq": 0}')
    assert frame == Hello("abc", 0)


def test_a_response_to_our_request_is_not_an_event() -> None:
    assert parse_frame('{"status": "OK", "seq_reply": 1}') == Response(True, 1)
    assert parse_frame('{"status": "FAIL", "seq_reply": 2, "error": {}}') == Response(False, 2)


@pytest.mark.parametrize(("event", "added"), [("reaction_added", True), ("reaction_removed", False)])
def test_reactions_are_read_into_neutral_reactions(event: str, added: bool) -> None:
    reaction = {"user_id": "u" * 26, "post_id": "p" * 26, "emoji_name": "thumbsup", "create_at": 1}
    frame = parse_frame(json.dumps({"event": event, "data": {"reaction": json.dumps(reaction)}, "seq": 9}))
    assert frame == Reacted(Reaction("mattermost", "p" * 26, "u" * 26, "thumbsup", added), 9)


def test_events_the_bot_does_not_use_are_named_only() -> None:
    assert parse_frame('{"event": "typing", "data": {"user_id": "x"}, "seq": 4}') == OtherEvent("typing", 4)


@pytest.mark.parametrize("raw", [
    "not json", "[1, 2]", '"text"', "{}", '{"event": 5}',
    '{"event": "hello", "data": {}}',
    '{"event": "posted", "data": {}}',
    '{"event": "posted", "data": {"post": "{broken"}}',
    '{"event": "posted", "data": {"post": "{\\"id\\": 7}"}}',
    '{"event": "posted", "data": {"post": 12}}',
    '{"event": "posted", "data": "nope"}',
    '{"event": "reaction_added", "data": {"reaction": "{}"}}',
    b"\xff\xfe",
])
def test_malformed_frames_raise_malformed_event(raw: str | bytes) -> None:
    with pytest.raises(MalformedEvent):
        parse_frame(raw)


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=12)
FRAME_KEYS = st.fixed_dictionaries({}, optional={
    "event": st.sampled_from(["posted", "hello", "reaction_added", "typing"]) | st.text(max_size=5),
    "data": st.dictionaries(st.sampled_from(["post", "reaction", "mentions", "connection_id", "channel_type"]),
                            JSON | JSON.map(json.dumps), max_size=4) | JSON,
    "seq": JSON, "status": JSON})


@given(st.one_of(st.text(max_size=40), JSON.map(json.dumps), FRAME_KEYS.map(json.dumps)))
def test_any_frame_is_parsed_or_refused_as_malformed_never_crashes(raw: str) -> None:
    try:
        parse_frame(raw)
    except MalformedEvent:
        pass


# --- posts, profiles, channels -------------------------------------------------------------------


@pytest.mark.parametrize("props", [{"from_bot": "true"}, {"from_bot": True}, {"from_webhook": "true"}])
def test_bot_and_integration_posts_are_marked_automated(props: dict[str, Any]) -> None:
    assert parse_post({**POST, "props": props}).automated


def test_a_persons_post_is_not_automated_and_system_posts_keep_their_type() -> None:
    assert not parse_post({**POST, "props": {"from_bot": "false"}}).automated
    assert parse_post({**POST, "type": "system_join_channel"}).type == "system_join_channel"
    assert parse_post({**POST, "delete_at": 5}).deleted


def test_a_post_list_gives_the_listed_posts_oldest_first_without_their_roots() -> None:
    root = {**POST, "id": "r" * 26, "create_at": 10}
    newer = {**POST, "id": "n" * 26, "create_at": 30, "root_id": "r" * 26}
    older = {**POST, "id": "o" * 26, "create_at": 20}
    listing = {"order": ["n" * 26, "o" * 26, "x" * 26], "posts": {p["id"]: p for p in (root, newer, older)}}
    assert [p.id for p in posts_in_listing(listing)] == ["o" * 26, "n" * 26]
    assert posts_in_listing(None) == []


def test_the_profile_zone_follows_the_users_own_automatic_switch() -> None:
    automatic = {"useAutomaticTimezone": "true", "automaticTimezone": "America/Argentina/Buenos_Aires",
                 "manualTimezone": "Europe/Berlin"}
    assert profile_zone({"timezone": automatic}) == "America/Argentina/Buenos_Aires"
    assert profile_zone({"timezone": {**automatic, "useAutomaticTimezone": "false"}}) == "Europe/Berlin"
    assert profile_zone({"timezone": {**automatic, "useAutomaticTimezone": "false", "manualTimezone": ""}}) is None
    assert profile_zone({}) is None and profile_zone({"timezone": "UTC"}) is None


def test_a_profile_keeps_what_the_bot_needs() -> None:
    user = {"id": "u" * 26, "username": "ben", "is_bot": False,
            "timezone": {"useAutomaticTimezone": "false", "manualTimezone": "Europe/London"}}
    profile = parse_profile(user)
    assert (profile.username, profile.zone, profile.is_bot) == ("ben", "Europe/London", False)


def test_channels_are_read_with_their_type() -> None:
    channels = parse_channels([{"id": "a", "name": "town-square", "type": "O"}, {"id": "b", "name": "x__y", "type": "D"}])
    assert channels == [ChannelInfo("a", "town-square", "O"), ChannelInfo("b", "x__y", "D")]
    assert channels[1].is_direct
    with pytest.raises(MalformedEvent):
        parse_channels({"id": "a"})


# --- slash commands --------------------------------------------------------------------------------


def _out(text: str, ephemeral: bool) -> Outgoing:
    return Outgoing("mattermost", "c", text, ephemeral=ephemeral)


def test_slash_results_go_to_the_channel_and_errors_to_the_caller_only() -> None:
    assert slash_response([_out("16:00", False)]) == {"response_type": "in_channel", "text": "16:00"}
    assert slash_response([_out("Usage: …", True)])["response_type"] == "ephemeral"
    assert slash_response([])["response_type"] == "ephemeral"


def test_the_slash_token_comes_from_the_form_or_the_header() -> None:
    assert slash_token_ok("secret", "secret", "")
    assert slash_token_ok("secret", "", "Token secret")
    assert not slash_token_ok("secret", "wrong", "Token secret")
    assert not slash_token_ok(None, "", "")
    assert not slash_token_ok("secret", "", "")


# --- backoff, memory of handled posts, cursors -------------------------------------------------------


@given(st.integers(min_value=1, max_value=64), st.integers(min_value=0, max_value=2**32))
def test_backoff_grows_exponentially_to_the_cap_with_jitter(attempt: int, seed: int) -> None:
    ceiling = min(15.0, 0.5 * 2 ** (attempt - 1))
    assert 0 <= backoff_delay(attempt, base=0.5, cap=15.0, rng=random.Random(seed)) <= ceiling
    assert ceiling / 2 <= backoff_delay(attempt, base=0.5, cap=15.0, least=0.5, rng=random.Random(seed)) <= ceiling


def test_recent_ids_forget_the_oldest_first() -> None:
    recent = RecentIds(size=2)
    for post_id in ("a", "b", "c"):
        recent.add(post_id)
    assert "a" not in recent and "b" in recent and "c" in recent


@pytest.fixture
def store(tmp_path: pathlib.Path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'coopbot.db'}")
    store.migrate()
    return store


def test_cursors_start_new_channels_at_the_watermark_and_survive_a_restart(store: Store) -> None:
    first = Cursors(store)
    started = first.get("town")
    assert first.get("dm") == started  # no history before the first start
    first.advance("town", started + 500)
    first.advance("town", started + 100)  # never backwards
    first.flush()
    again = Cursors(store)
    assert again.get("town") == started + 500
    assert again.get("opened-while-away") == started + 500  # the newest post seen anywhere


# --- the adapter against the fake -------------------------------------------------------------------


@pytest.fixture
async def mm() -> AsyncIterator[FakeMattermost]:
    async with FakeMattermost() as fake:
        yield fake


class Clock:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def adapter(mm: FakeMattermost, store: Store, clock: Clock) -> AsyncIterator[MattermostAdapter]:
    """Watching town-square only; announcing in off-topic."""
    running = MattermostAdapter(url=mm.url, token=mm.bot_token, team=mm.team.name, channels=["town-square"],
                                announce_channel="off-topic", store=store, reconnect_max_delay=0.5,
                                catch_up_retry=0.05, clock=clock)
    yield running
    await running.stop()


async def started(adapter: MattermostAdapter, failing: set[str] | None = None) -> asyncio.Queue[Incoming]:
    """The adapter running; what it hands the dispatcher is queued. Handling a post in ``failing``
    fails once (as a database error would)."""
    seen: asyncio.Queue[Incoming] = asyncio.Queue()
    fail_once = set(failing or ())

    async def collect(incoming: Incoming) -> None:
        seen.put_nowait(incoming)
        if incoming.text in fail_once:
            fail_once.discard(incoming.text)
            raise StorageError("database is locked")

    await adapter.start(collect)
    assert adapter.ready.is_set()
    return seen


async def test_posts_arrive_as_incoming_with_thread_profile_zone_and_channel_name(
        mm: FakeMattermost, adapter: MattermostAdapter) -> None:
    seen = await started(adapter)
    root = await mm.user_posts("ana", "town-square", "!tz")
    got = await asyncio.wait_for(seen.get(), 5)
    assert (got.message_id, got.text, got.place.channel_name) == (root["id"], "!tz", "town-square")
    assert got.sender.name == "ana" and got.sender.zone == "America/Argentina/Buenos_Aires"
    assert got.place.thread_id is None and adapter.reply_place(got).thread_id == root["id"]
    assert adapter.announce_place() is not None
    assert adapter.announce_place().channel_id == mm.channel("off-topic").id  # type: ignore[union-attr]


async def test_an_unwatched_channel_is_heard_only_when_the_bot_is_mentioned(
        mm: FakeMattermost, adapter: MattermostAdapter) -> None:
    seen = await started(adapter)
    await mm.user_posts("ana", "off-topic", "!help")
    mention = await mm.user_posts("ana", "off-topic", "please @coopbot help")
    got = await asyncio.wait_for(seen.get(), 5)
    assert got.message_id == mention["id"] and got.bot_mention == "@coopbot"


async def test_reactions_reach_the_consumer_but_not_the_bots_own(mm: FakeMattermost, adapter: MattermostAdapter) -> None:
    reactions: asyncio.Queue[Reaction] = asyncio.Queue()

    async def collect(reaction: Reaction) -> None:
        reactions.put_nowait(reaction)

    adapter.on_reaction = collect
    await started(adapter)
    post = await mm.user_posts("ana", "town-square", "Thursday?")
    await mm.user_reacts(mm.bot, post["id"], "eyes")
    await mm.user_reacts("ben", post["id"], "thumbsup")
    got = await asyncio.wait_for(reactions.get(), 5)
    assert got == Reaction("mattermost", post["id"], mm.user("ben").id, "thumbsup", True)


async def test_a_long_reply_is_split_on_line_boundaries_into_the_same_thread(
        mm: FakeMattermost, adapter: MattermostAdapter) -> None:
    await started(adapter)
    root = await mm.user_posts("ana", "town-square", "!coops")
    line = "x" * 1000
    text = "\n".join([line] * 20)  # 20_019 characters: two posts
    await adapter.send(Outgoing("mattermost", root["channel_id"], text, thread_id=root["id"], outbox_id=1))
    pieces = [p["message"] for p in mm.posts_by(mm.bot)]
    assert len(pieces) == 2 and all(len(p) <= MAX_POST_LENGTH for p in pieces)
    assert "\n".join(pieces) == text
    assert all(p["root_id"] == root["id"] for p in mm.posts_by(mm.bot))


async def test_news_for_the_announce_channel_is_queued_by_name_before_login_and_posted_after(
        mm: FakeMattermost, adapter: MattermostAdapter) -> None:
    early = adapter.announce_place()
    assert early is not None and (early.channel_id, early.channel_name) == ("name:off-topic", "off-topic")
    news = Outgoing("mattermost", early.channel_id, "📋 Council digest", outbox_id=7)
    with pytest.raises(AdapterError, match="not known until"):  # retried, not parked
        await adapter.send(news)
    await started(adapter)
    off_topic = mm.channel("off-topic").id
    assert adapter.announce_place() == Place("mattermost", off_topic, channel_name="off-topic")
    (post_id,) = await adapter.send(news)
    assert mm.get_post(post_id)["channel_id"] == off_topic
    with pytest.raises(RejectedError, match="not a member of 'board'"):  # a name it will never know: parked
        await adapter.send(Outgoing("mattermost", "name:board", "📋 Council digest", outbox_id=8))


async def test_after_a_429_the_adapter_waits_and_a_retry_resumes_after_the_pieces_posted(
        mm: FakeMattermost, adapter: MattermostAdapter, clock: Clock) -> None:
    await started(adapter)
    channel = mm.channel("town-square").id
    text = "\n".join(["y" * 1000] * 20)
    mm.rate_limit(1, 60)
    with pytest.raises(RateLimited) as refused:
        await adapter.send(Outgoing("mattermost", channel, text, outbox_id=7))
    assert refused.value.retry_after > 1
    asked = mm.request_count()
    with pytest.raises(RateLimited):  # still inside the window: not even asked
        await adapter.send(Outgoing("mattermost", channel, "other", outbox_id=8))
    assert mm.request_count() == asked
    mm.rate_limit_off()
    clock.now += 61  # the window is over
    await adapter.send(Outgoing("mattermost", channel, text, outbox_id=7))
    assert "\n".join(p["message"] for p in mm.posts_by(mm.bot)) == text


async def test_a_post_whose_handling_failed_is_fetched_again_and_the_cursor_waits_for_it(
        mm: FakeMattermost, adapter: MattermostAdapter, store: Store) -> None:
    seen = await started(adapter, failing={"!tz"})
    first = await mm.user_posts("ana", "town-square", "!tz")
    later = await mm.user_posts("ben", "town-square", "!coops")
    handed = [(await asyncio.wait_for(seen.get(), 5)).message_id for _ in range(3)]
    assert handed == [first["id"], later["id"], first["id"]]  # the retry fetched it; the later post only once
    await adapter.stop()
    assert Cursors(store).get(mm.channel("town-square").id) == later["create_at"]


async def test_after_a_crash_a_reply_is_found_by_its_mark_and_only_its_missing_pieces_are_posted(
        mm: FakeMattermost, adapter: MattermostAdapter, store: Store) -> None:
    await started(adapter)
    channel = mm.channel("town-square").id
    queued = datetime.now(timezone.utc)
    long_text = "\n".join(["z" * 1000] * 20)  # two pieces
    whole, half, lost = (Outgoing("mattermost", channel, text, outbox_id=n, queued_at=queued)
                         for n, text in ((41, "posted in full"), (42, long_text), (43, "never posted")))
    await adapter.send(whole)
    first_piece = split_message(long_text, MAX_POST_LENGTH)[0]
    await mm.user_posts(mm.bot, "town-square", first_piece, props={"coopbot_outbox": "42/0"})
    await mm.user_posts("ana", "town-square", "posted in full", props={"coopbot_outbox": "43/0"})  # not the bot's
    assert mm.posts_by(mm.bot)[0]["props"]["coopbot_outbox"] == "41/0"
    fresh = MattermostAdapter(url=mm.url, token=mm.bot_token, team=mm.team.name, channels=["town-square"],
                              store=store)  # a new process
    try:
        await started(fresh)
        assert await fresh.reconcile([whole, half, lost]) == {41}
        for out in (half, lost):
            await fresh.send(out)
    finally:
        await fresh.stop()
    messages = [p["message"] for p in mm.posts_by(mm.bot)]
    assert messages.count("posted in full") == 1 and messages.count(first_piece) == 1
    assert "\n".join(messages[1:3]) == long_text and messages[-1] == "never posted"
