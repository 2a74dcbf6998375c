"""The fake Discourse behaves like Discourse for a bot: client, webhooks, limits.

Spec conformance of the answers is in ``test_fake_discourse_spec.py``.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pydiscourse import DiscourseClient
from pydiscourse.exceptions import (  # type: ignore[import-untyped]
    DiscourseClientError,
    DiscourseRateLimitedError,
)

from tests.fakes.discourse import FakeDiscourse, ManualClock, NotificationType

SECRET = "webhook-secret-of-coop"


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: Any


class Api:
    """Raw HTTP against the fake, as a given user (None: no credentials)."""

    def __init__(self, forum: FakeDiscourse, http: aiohttp.ClientSession) -> None:
        self.forum = forum
        self.http = http

    async def __call__(
        self,
        method: str,
        path: str,
        *,
        user: str | None = "coopbot",
        key: str | None = None,
        json: Any = None,
    ) -> Answer:
        headers = {} if user is None else {"Api-Key": key or self.forum.api_key, "Api-Username": user}
        async with self.http.request(method, self.forum.url + path, headers=headers, json=json) as response:
            return Answer(response.status, response.headers.copy(), await response.json())

    async def reply(self, topic_id: int, raw: str, *, user: str | None = "coopbot") -> Answer:
        """``POST /posts.json`` into a topic."""
        return await self("POST", "/posts.json", user=user, json={"raw": raw, "topic_id": topic_id})


@dataclass(frozen=True)
class Receiver:
    url: str
    received: asyncio.Queue[tuple[Mapping[str, str], bytes]]


@pytest.fixture
async def forum() -> AsyncIterator[FakeDiscourse]:
    async with FakeDiscourse() as d:
        yield d


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def api(forum: FakeDiscourse, http: aiohttp.ClientSession) -> Api:
    return Api(forum, http)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """Where the bot's webhook endpoint would be: records headers and exact bytes."""
    queue: asyncio.Queue[tuple[Mapping[str, str], bytes]] = asyncio.Queue()

    async def handle(request: web.Request) -> web.Response:
        queue.put_nowait((request.headers.copy(), await request.read()))
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/hooks/discourse", handle)
    async with TestServer(app, host="127.0.0.1", port=0) as server:
        yield Receiver(str(server.make_url("/hooks/discourse")), queue)


def client_for(forum: FakeDiscourse, key: str | None = None) -> DiscourseClient:
    return DiscourseClient(forum.url, api_username="coopbot", api_key=key or forum.api_key)


# --- the real client ------------------------------------------------------------------------


async def test_pydiscourse_reads_a_mention_and_the_topic_then_replies(forum: FakeDiscourse) -> None:
    topic = forum.create_topic("Planning the winter assembly", posts=2)
    mention = await forum.user_posts("alice", topic.id, "@coopbot when is the call for Buenos Aires?")
    client = client_for(forum)

    listing = await asyncio.to_thread(client._get, "/notifications.json")  # pydiscourse has no wrapper for it
    [note] = listing["notifications"]
    assert note["notification_type"] == NotificationType.MENTIONED
    assert (note["topic_id"], note["post_number"]) == (topic.id, mention.post_number)
    assert note["data"]["original_username"] == "alice" and not note["read"]

    shown = await asyncio.to_thread(client.topic, topic.slug, topic.id)
    assert [p["post_number"] for p in shown["post_stream"]["posts"]] == [1, 2, 3]
    assert shown["post_stream"]["posts"][2]["cooked"].startswith('<p><a class="mention" href="/u/coopbot">')

    reply = await asyncio.to_thread(
        client.create_post, "The call is at 16:00 in Buenos Aires, 19:00 UTC.", topic_id=topic.id,
        reply_to_post_number=mention.post_number,
    )  # fmt: skip
    assert (reply["username"], reply["reply_to_post_number"]) == ("coopbot", 3)
    assert reply["reply_to_user"]["username"] == "alice"
    assert (await forum.wait_for_post("coopbot")).id == reply["id"]

    assert await asyncio.to_thread(client._put, "/notifications/mark-read.json") == {"success": "OK"}
    assert all(n.read for n in forum.notifications_for("coopbot"))


async def test_pydiscourse_turns_403_and_422_into_client_errors_with_discourses_text(
    forum: FakeDiscourse,
) -> None:
    topic = forum.create_topic("Planning the winter assembly")
    with pytest.raises(DiscourseClientError, match="The API username or key is invalid"):
        await asyncio.to_thread(client_for(forum, key="not-a-key").latest_posts)
    with pytest.raises(DiscourseClientError, match=r"Body is too short \(minimum is 20 characters\)"):
        await asyncio.to_thread(client_for(forum).create_post, "ok", topic_id=topic.id)


async def test_pydiscourse_retries_a_429_three_times_then_raises_without_waiting_the_last_one(
    forum: FakeDiscourse,
) -> None:
    """pydiscourse 1.7 ``_request``: 4 attempts, ``time.sleep(extras.wait_seconds + 1)`` between
    them (Retry-After is ignored), then ``DiscourseRateLimitedError``. Its sleeps are read off the
    fake's request log (lower bounds only: a sleep is never shorter), with the shortest waits the
    forum can ask for, so the test sleeps 5 s instead of patching the library's clock."""
    forum.start_rate_limiting(wait_seconds=0)
    with pytest.raises(DiscourseRateLimitedError, match="Number of rate limit retries exceeded"):
        await asyncio.to_thread(client_for(forum).latest_posts)
    assert forum.requests["GET /posts.json"] == 4
    assert all(gap >= 1.0 for gap in _gaps(forum)), _gaps(forum)  # wait_seconds 0, plus one

    forum.reset_counters()
    forum.start_rate_limiting(wait_seconds=1, requests=1)
    assert await asyncio.to_thread(client_for(forum).latest_posts) == {"latest_posts": []}
    assert forum.requests["GET /posts.json"] == 2
    assert [gap >= 2.0 for gap in _gaps(forum)] == [True]  # wait_seconds 1, plus one


def _gaps(forum: FakeDiscourse) -> list[float]:
    """Seconds between consecutive requests the fake received."""
    times = [r.received_monotonic for r in forum.request_log]
    return [later - earlier for earlier, later in zip(times, times[1:])]


# --- webhooks -------------------------------------------------------------------------------


async def test_mention_webhook_is_signed_with_the_hmac_of_its_exact_body(
    forum: FakeDiscourse, receiver: Receiver
) -> None:
    forum.add_webhook(receiver.url, secret=SECRET, events=("post_created",))
    topic = forum.create_topic("Planning the winter assembly")
    post = await forum.user_posts("alice", topic.id, "@coopbot when is the call for Buenos Aires?")

    headers, body = receiver.received.get_nowait()  # user_posts waited for the delivery
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Discourse-Event-Signature"], expected)
    assert headers["X-Discourse-Event"] == "post_created"
    assert headers["X-Discourse-Event-Type"] == "post"
    assert headers["X-Discourse-Instance"] == forum.url
    assert headers["X-Discourse-Event-Id"].isdigit()
    assert headers["Content-Type"] == "application/json"
    payload = json.loads(body)["post"]
    assert (payload["id"], payload["username"], payload["topic_id"]) == (post.id, "alice", topic.id)
    assert payload["raw"] == "@coopbot when is the call for Buenos Aires?"
    assert (payload["topic_archetype"], payload["category_slug"]) == ("regular", "general")
    assert "can_edit" not in payload and "yours" not in payload  # per-viewer fields are dropped


async def test_forged_unsigned_and_replayed_deliveries_reach_the_bot_byte_for_byte(
    forum: FakeDiscourse, receiver: Receiver
) -> None:
    forum.add_webhook(receiver.url, secret=SECRET)
    topic = forum.create_topic("Planning the winter assembly")
    await forum.user_posts("alice", topic.id, "@coopbot when is the call for Buenos Aires?")
    [original] = forum.deliveries
    genuine_headers, genuine_body = receiver.received.get_nowait()

    await forum.redeliver(original)
    replay_headers, replay_body = receiver.received.get_nowait()
    assert replay_body == genuine_body
    assert replay_headers["X-Discourse-Event-Id"] == genuine_headers["X-Discourse-Event-Id"]

    forged = {**original.headers, "X-Discourse-Event-Signature": "sha256=" + "0" * 64}
    await forum.deliver_raw(receiver.url, original.body.replace(b"Buenos Aires", b"Bogota"), forged)
    forged_headers, forged_body = receiver.received.get_nowait()
    assert forged_headers["X-Discourse-Event-Signature"] == "sha256=" + "0" * 64 and b"Bogota" in forged_body

    unsigned = {k: v for k, v in original.headers.items() if k != "X-Discourse-Event-Signature"}
    delivery = await forum.deliver_raw(receiver.url, original.body, unsigned)
    unsigned_headers, _ = receiver.received.get_nowait()
    assert "X-Discourse-Event-Signature" not in unsigned_headers and delivery.status == 200


async def test_edit_sends_post_edited_and_notifies_only_the_newly_mentioned(
    forum: FakeDiscourse, receiver: Receiver
) -> None:
    forum.add_webhook(receiver.url, secret=SECRET, events=("post_created", "post_edited"))
    topic = forum.create_topic("Planning the winter assembly")
    post = await forum.user_posts("alice", topic.id, "@coopbot what time is the call tomorrow?")
    await forum.user_edits(post.id, "@coopbot what time is the call tomorrow? cc @bob")

    events = [receiver.received.get_nowait() for _ in range(2)]
    assert [h["X-Discourse-Event"] for h, _ in events] == ["post_created", "post_edited"]
    edited = json.loads(events[1][1])["post"]
    assert (edited["version"], edited["raw"]) == (2, "@coopbot what time is the call tomorrow? cc @bob")
    assert [n.notification_type for n in forum.notifications_for("coopbot")] == [NotificationType.MENTIONED]
    assert [n.notification_type for n in forum.notifications_for("bob")] == [NotificationType.MENTIONED]


async def test_a_name_inside_a_quote_notifies_no_one(forum: FakeDiscourse) -> None:
    """Discourse strips quoted mentions before reading them (PostStripper: "aside.quote .mention")."""
    topic = forum.create_topic("Planning the winter assembly")
    quoted = '[quote="alice, post:1, topic:%d"]\ncc @bob\n[/quote]\n\nAgreed, @coopbot.' % topic.id
    await forum.user_posts("alice", topic.id, quoted)
    assert forum.notifications_for("bob") == []
    assert [n.notification_type for n in forum.notifications_for("coopbot")] == [NotificationType.MENTIONED]


async def test_deleted_post_sends_post_destroyed_and_disappears_for_the_bot(
    forum: FakeDiscourse, api: Api, receiver: Receiver
) -> None:
    forum.add_webhook(receiver.url, secret=SECRET, events=("post_destroyed",))
    topic = forum.create_topic("Planning the winter assembly")
    post = await forum.user_posts("alice", topic.id, "@coopbot when is the call for Buenos Aires?")
    await forum.user_deletes(post.id)

    headers, body = receiver.received.get_nowait()
    assert headers["X-Discourse-Event"] == "post_destroyed" and json.loads(body)["post"]["deleted_at"]
    assert (await api("GET", f"/posts/{post.id}.json")).body["error_type"] == "not_found"
    assert forum.notifications_for("coopbot") == []  # PostDestroyer removes the post's notifications
    shown = await api("GET", f"/t/{topic.id}.json")
    assert post.id not in shown.body["post_stream"]["stream"]


async def test_notification_created_webhook_tells_the_bot_it_was_mentioned(
    forum: FakeDiscourse, receiver: Receiver
) -> None:
    forum.add_webhook(receiver.url, secret=SECRET, events=("notification_created",))
    topic = forum.create_topic("Planning the winter assembly")
    await forum.user_posts("alice", topic.id, "@coopbot when is the call for Buenos Aires?")
    headers, body = receiver.received.get_nowait()
    assert headers["X-Discourse-Event"] == "notification_created"
    assert headers["X-Discourse-Event-Type"] == "notification"
    note = json.loads(body)["notification"]
    assert (note["user_id"], note["notification_type"]) == (forum.bot.id, NotificationType.MENTIONED)


def test_short_webhook_secrets_are_refused_like_discourse() -> None:
    with pytest.raises(ValueError, match="12 characters"):
        FakeDiscourse().add_webhook("http://127.0.0.1:9/hook", secret="short")


# --- notifications --------------------------------------------------------------------------


async def test_mention_reply_and_private_message_get_their_types_and_pm_comes_first(
    forum: FakeDiscourse, api: Api
) -> None:
    topic = forum.create_topic("Planning the winter assembly", username="bob")
    bot_post = await api.reply(topic.id, "I can post the agenda here on Monday.")
    await forum.user_posts("alice", topic.id, "Thanks, Monday works for us.", bot_post.body["post_number"])
    await forum.user_creates_topic("bob", "Call with the Berlin team", "@coopbot can you find a time for us?")
    await forum.user_sends_pm("alice", ["coopbot"], "A question", "@coopbot remind me about the call?")

    recent = (await api("GET", "/notifications.json?recent=true")).body
    types = [n["notification_type"] for n in recent["notifications"]]
    assert types == [NotificationType.PRIVATE_MESSAGE, NotificationType.MENTIONED, NotificationType.REPLIED]
    assert recent["notifications"][0]["high_priority"] is True
    assert recent["seen_notification_id"] == max(n.id for n in forum.notifications_for("coopbot"))


async def test_two_replies_to_the_bot_collapse_into_one_notification_at_the_first_unread(
    forum: FakeDiscourse, api: Api
) -> None:
    topic = forum.create_topic("Planning the winter assembly")
    bot_post = await api.reply(topic.id, "Proposal: Tuesday 16:00 UTC for the call.")
    number = bot_post.body["post_number"]
    first = await forum.user_posts("bob", topic.id, "Tuesday is fine for Buenos Aires.", number)
    await forum.user_posts("alice", topic.id, "Tuesday works for Paris too.", number)

    [note] = forum.notifications_for("coopbot")
    assert (note.notification_type, note.post_number) == (NotificationType.REPLIED, first.post_number)
    assert note.data["display_username"] == "2 replies"


async def test_notifications_page_by_offset_and_mark_read_by_id(forum: FakeDiscourse, api: Api) -> None:
    topic = forum.create_topic("Planning the winter assembly", posts=3)
    for number in range(1, 4):
        await forum.user_posts("alice", topic.id, f"@coopbot question {number} about the call times?")
    listing = (await api("GET", "/notifications.json?limit=2")).body
    assert listing["total_rows_notifications"] == 3 and len(listing["notifications"]) == 2
    assert listing["load_more_notifications"] == "/notifications?limit=2&offset=2&username=coopbot"
    newest = listing["notifications"][0]["id"]
    assert (await api("PUT", "/notifications/mark-read.json", json={"id": newest})).body == {"success": "OK"}
    unread = (await api("GET", "/notifications.json?filter=unread")).body
    assert unread["total_rows_notifications"] == 2
    assert newest not in [n["id"] for n in unread["notifications"]]


# --- what Discourse refuses -----------------------------------------------------------------


async def test_short_post_is_refused_with_discourses_422(forum: FakeDiscourse, api: Api) -> None:
    topic = forum.create_topic("Planning the winter assembly")
    answer = await api.reply(topic.id, "ok")
    assert answer.status == 422
    too_short = "Body is too short (minimum is 20 characters)"
    assert answer.body == {"action": "create_post", "errors": [too_short]}


async def test_retried_request_gets_the_same_post_but_repeating_it_elsewhere_is_too_similar(
    http: aiohttp.ClientSession,
) -> None:
    clock = ManualClock()
    async with FakeDiscourse(clock=clock) as forum:
        api = Api(forum, http)
        planning = forum.create_topic("Planning the winter assembly")
        social = forum.create_topic("Social hour ideas")
        reminder = "Reminder: the assembly call is at 16:00 UTC."
        first = await api.reply(planning.id, reminder)
        clock.advance(6)
        retry = await api.reply(planning.id, reminder)
        assert (retry.status, retry.body["id"]) == (200, first.body["id"])  # memoized for 120 s
        assert len(forum.posts_by("coopbot")) == 1
        clock.advance(6)
        elsewhere = await api.reply(social.id, reminder)
        assert elsewhere.status == 422
        assert elsewhere.body["errors"] == ["Body is too similar to what you recently posted"]
        clock.advance(5 * 60)
        assert (await api.reply(social.id, reminder)).status == 200


async def test_non_staff_bot_posting_twice_within_five_seconds_is_told_to_wait(
    http: aiohttp.ClientSession,
) -> None:
    clock = ManualClock()
    async with FakeDiscourse(clock=clock) as forum:
        api = Api(forum, http)
        topic = forum.create_topic("Planning the winter assembly")
        assert (await api.reply(topic.id, "First answer about the call.")).status == 200
        clock.advance(2)
        second = await api.reply(topic.id, "Second answer about the call.")
        assert (second.status, second.headers["Retry-After"]) == (429, "3")
        assert second.body == {
            "errors": ["You’re replying too quickly. Please wait 3 seconds before trying again."],
            "error_type": "rate_limit",
            "extras": {"wait_seconds": 3, "time_left": "3 seconds"},
        }
        assert "Discourse-Rate-Limit-Error-Code" not in second.headers
        clock.advance(3)
        assert (await api.reply(topic.id, "Second answer about the call.")).status == 200


async def test_admin_api_key_allows_sixty_requests_a_minute(http: aiohttp.ClientSession) -> None:
    clock = ManualClock()
    async with FakeDiscourse(clock=clock) as forum:
        api = Api(forum, http)
        for _ in range(60):
            assert (await api("GET", "/notifications.json?recent=true")).status == 200
        refused = await api("GET", "/notifications.json?recent=true")
        assert refused.status == 429
        assert refused.headers["Discourse-Rate-Limit-Error-Code"] == "admin_api_key_rate_limit"
        assert refused.headers["Retry-After"] == "60"
        assert refused.body["errors"] == [
            "You’ve performed this action too many times. Please wait 1 minute before trying again."
        ]
        clock.advance(60)
        assert (await api("GET", "/notifications.json?recent=true")).status == 200


async def test_switched_on_rate_limit_answers_429_then_clears(forum: FakeDiscourse, api: Api) -> None:
    forum.start_rate_limiting(wait_seconds=10, requests=2)
    for _ in range(2):
        refused = await api("GET", "/notifications.json")
        assert (refused.status, refused.headers["Retry-After"]) == (429, "10")
        assert refused.body["extras"] == {"wait_seconds": 10, "time_left": "10 seconds"}
    assert (await api("GET", "/notifications.json")).status == 200


async def test_fourth_consecutive_reply_is_refused_until_someone_else_posts(
    http: aiohttp.ClientSession,
) -> None:
    clock = ManualClock()
    async with FakeDiscourse(clock=clock) as forum:
        api = Api(forum, http)
        topic = forum.create_topic("Planning the winter assembly")
        for number in range(1, 4):
            assert (await api.reply(topic.id, f"Reminder number {number} about the call.")).status == 200
            clock.advance(6)
        fourth = await api.reply(topic.id, "Reminder number 4 about the call.")
        assert fourth.status == 422 and "No more than 3 consecutive replies" in fourth.body["errors"][0]
        await forum.user_posts("alice", topic.id, "Thanks for all the reminders, bot.")
        retried = await api.reply(topic.id, "Reminder number 4 about the call.")
        assert retried.body == fourth.body  # the identical request replays its 422 for 120 s
        assert (await api.reply(topic.id, "You are welcome, see you at the call.")).status == 200


async def test_bad_credentials_are_403_and_anonymous_writes_need_a_login(
    forum: FakeDiscourse, api: Api
) -> None:
    topic = forum.create_topic("Planning the winter assembly")
    forum.add_api_key("alice-only-key", username="alice")
    message = "You are not permitted to view the requested resource. The API username or key is invalid."
    for key in ("not-a-key", "alice-only-key"):
        refused = await api("GET", "/notifications.json", key=key)
        assert (refused.status, refused.body) == (403, {"errors": [message], "error_type": "invalid_access"})
    assert (await api("GET", f"/t/{topic.id}.json", user=None)).status == 200
    anonymous = await api.reply(topic.id, "Hello from nowhere at all.", user=None)
    assert (anonymous.status, anonymous.body["error_type"]) == (403, "not_logged_in")


# --- reading at scale, counters, waiting ---------------------------------------------------


async def test_200_post_topic_pages_twenty_at_a_time_by_post_ids_or_number(
    forum: FakeDiscourse, api: Api
) -> None:
    topic = forum.create_topic("A very long planning thread", posts=200)
    shown = (await api("GET", f"/t/{topic.id}.json")).body
    stream = shown["post_stream"]["stream"]
    assert (len(shown["post_stream"]["posts"]), len(stream), shown["chunk_size"]) == (20, 200, 20)
    query = "&".join(f"post_ids[]={pid}" for pid in stream[20:40])
    page = (await api("GET", f"/t/{topic.id}/posts.json?{query}")).body
    assert [p["post_number"] for p in page["post_stream"]["posts"]] == list(range(21, 41))
    after = (await api("GET", f"/t/{topic.id}/posts.json?post_number=40&asc=true")).body
    assert [p["post_number"] for p in after["post_stream"]["posts"]] == list(range(41, 61))
    printed = (await api("GET", f"/t/{topic.id}.json?print=true")).body
    assert len(printed["post_stream"]["posts"]) == 200


async def test_an_idle_notification_poll_is_one_request(forum: FakeDiscourse, api: Api) -> None:
    forum.reset_counters()
    idle = await api("GET", "/notifications.json?recent=true")
    assert idle.body == {"notifications": [], "seen_notification_id": 0}
    assert forum.requests == Counter({"GET /notifications.json": 1}) and forum.requests_total == 1
    [logged] = forum.request_log
    assert (logged.route, logged.status, logged.api_username) == ("GET /notifications.json", 200, "coopbot")


async def test_wait_for_post_wakes_on_the_bots_reply_with_server_side_timestamps(
    forum: FakeDiscourse, api: Api
) -> None:
    topic = forum.create_topic("Planning the winter assembly")
    waiting = asyncio.create_task(forum.wait_for_post("coopbot", topic_id=topic.id))
    mention = await forum.user_posts("alice", topic.id, "@coopbot when is the call for Buenos Aires?")
    answer = await api.reply(topic.id, "At 16:00 in Buenos Aires, Alice.")
    reply = await waiting
    assert reply.id == answer.body["id"]
    assert reply.created_monotonic > mention.created_monotonic  # latency = the difference
    with pytest.raises(TimeoutError):
        await forum.wait_for_post("coopbot", timeout=0.05)


async def test_non_staff_bot_cannot_read_another_members_timezone(forum: FakeDiscourse, api: Api) -> None:
    assert "user_option" not in (await api("GET", "/u/bob.json")).body["user"]
    assert (await api("GET", "/u/coopbot.json")).body["user"]["user_option"]["timezone"] == "UTC"
    as_staff = (await api("GET", "/u/bob.json", user="sam")).body["user"]
    assert as_staff["user_option"]["timezone"] == "America/Argentina/Buenos_Aires"
