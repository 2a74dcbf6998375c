"""The real bot process against a fake Discourse: mentions, PMs, webhooks, limits, restarts.

Each test starts a FakeDiscourse and ``coopbot run`` (console off, server on
port 0). Waits are on events: a post appearing in the fake, a request the
fake answered, a line the bot logged. "Nothing else happened" is checked
behind a barrier: a later mention whose reply proves the earlier events were
processed (the bot handles notifications and deliveries in order).
"""
from __future__ import annotations

import pathlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from bot.storage import Store
from tests.test_agenda import SEED_PROPOSAL
from tests.auxil.discourse_bot import NOTIFICATIONS, WEBHOOK_SECRET, DiscourseBot, RequestSignal, discourse_config
from tests.fakes._discourse_json import post_json
from tests.fakes._discourse_model import NewPost, Post
from tests.fakes._discourse_rest import dumps
from tests.fakes.discourse import FakeDiscourse, ManualClock, SiteSettings, sign

# Polling every 0.2 s is 300 requests a minute, far over a stock forum's 60, and a non-staff bot may post
# once every 5 s: the tests lift these two limits (and test them on their own); the rest stay as shipped.
RELAXED = SiteSettings(max_admin_api_reqs_per_minute=None, rate_limit_create_post=0)
WHEN = "7pm GMT on 29 Nov 2030"


@asynccontextmanager
async def running(folder: pathlib.Path, *, staff: bool = False, settings: SiteSettings = RELAXED,
                  clock: ManualClock | None = None, webhook: bool = False, poll: str = "0.2s",
                  register_webhook: bool = True,
                  **discourse: Any) -> AsyncIterator[tuple[FakeDiscourse, DiscourseBot, RequestSignal]]:
    forum = FakeDiscourse(settings=settings, bot_staff=staff, **({"clock": clock} if clock else {}))
    requests = RequestSignal.install(forum)
    async with forum:
        config = discourse_config(folder, forum, poll_interval=poll, webhook=webhook, **discourse)
        async with DiscourseBot(config) as bot:
            if webhook and register_webhook:
                forum.add_webhook(bot.webhook_url, WEBHOOK_SECRET)
            yield forum, bot, requests


def replies_to(forum: FakeDiscourse, post: Post) -> list[Post]:
    return [p for p in forum.posts_by("coopbot")
            if p.topic_id == post.topic_id and p.reply_to_post_number == post.post_number]


async def answered(forum: FakeDiscourse, post: Post, timeout: float = 5.0) -> Post:
    """The bot's next post, checked to be the reply to ``post``."""
    reply = await forum.wait_for_post("coopbot", timeout=timeout)
    assert (reply.topic_id, reply.reply_to_post_number) == (post.topic_id, post.post_number), reply.raw
    return reply


async def polls(requests: RequestSignal, count: int, start: int | None = None) -> None:
    """Wait until the bot has polled ``count`` more times."""
    begin = len(requests) if start is None else start
    await requests.wait_for(lambda log: log.routes(begin).count(NOTIFICATIONS) >= count)


async def test_mention_in_a_topic_is_answered_there_quoting_the_line(tmp_path: pathlib.Path) -> None:
    async with running(tmp_path) as (forum, _, _):
        topic = forum.create_topic("Planning the winter assembly", posts=3)
        post = await forum.user_posts("alice", topic.id, f"Hello all!\n@coopbot time {WHEN}\nThanks")
        reply = await answered(forum, post)
    assert reply.raw.startswith(f'[quote="alice, post:{post.post_number}, topic:{topic.id}"]\n'
                                f"@coopbot time {WHEN}\n[/quote]")
    assert '[date=2030-11-29 time=16:00:00 timezone="America/Argentina/Buenos_Aires"' in reply.raw
    assert "19:00 London (UTC+0)" in reply.raw  # the plain line, for e-mails


async def test_mention_at_the_end_of_a_200_post_topic_is_answered_without_reading_the_topic(
        tmp_path: pathlib.Path) -> None:
    async with running(tmp_path) as (forum, _, requests):
        topic = forum.create_topic("A long thread about the federation's calendar", posts=200)
        post = await forum.user_posts("bob", topic.id, f"@coopbot hora {WHEN}")
        reply = await answered(forum, post)
    assert post.post_number == 201 and "es:" in reply.raw  # answered in Spanish, as asked
    assert not [r for r in requests if r.path.startswith(f"/t/{topic.id}")]


async def test_private_message_is_a_direct_message_and_a_group_one_needs_a_mention(tmp_path: pathlib.Path) -> None:
    async with running(tmp_path) as (forum, _, _):
        pm = await forum.user_sends_pm("bob", ["coopbot"], "Pregunta", "hora 16hs ART")
        reply = await answered(forum, pm)
        assert reply.topic_id == pm.topic_id and "16:00 Buenos Aires" in reply.raw
        group = await forum.user_sends_pm("alice", ["coopbot", "bob"], "Calls", "time for lunch, bob?")
        mention = await forum.user_posts("bob", group.topic_id, f"@coopbot time {WHEN}")
        await answered(forum, mention)
        assert replies_to(forum, group) == []


async def test_webhook_answers_signed_deliveries_and_refuses_unsigned_forged_and_replayed(
        tmp_path: pathlib.Path) -> None:
    async with running(tmp_path, webhook=True, poll="1h", register_webhook=False) as (forum, bot, _):
        topic = forum.create_topic("Planning the winter assembly")
        unseen = await forum.user_posts("alice", topic.id, f"@coopbot time {WHEN}")  # before the webhook existed
        forum.add_webhook(bot.webhook_url, WEBHOOK_SECRET)
        body = dumps({"post": post_json(forum.forum, unseen, None, "webhook")}).encode()
        headers = {"Content-Type": "application/json", "X-Discourse-Event": "post_created",
                   "X-Discourse-Event-Type": "post", "X-Discourse-Event-Id": "900"}
        unsigned = await forum.deliver_raw(bot.webhook_url, body, headers)
        forged = await forum.deliver_raw(bot.webhook_url, body, {
            **headers, "X-Discourse-Event-Id": "901", "X-Discourse-Event-Signature": sign("not-the-secret", body)})
        post = await forum.user_posts("bob", topic.id, f"@coopbot time {WHEN}")
        await answered(forum, post)
        signed = next(d for d in forum.deliveries if d.body.find(f'"id":{post.id},'.encode()) > 0)
        replayed = await forum.redeliver(signed)
        barrier = await forum.user_posts("alice", topic.id, "@coopbot time 8pm GMT on 29 Nov 2030")
        await answered(forum, barrier)
        await bot.log("unsigned delivery refused")
        await bot.log("forged delivery refused")
        await bot.log("replayed delivery refused")
    assert (unsigned.status, forged.status, signed.status, replayed.status) == (401, 401, 200, 409)
    assert replies_to(forum, unseen) == [] and len(replies_to(forum, post)) == 1


async def test_with_webhook_and_polling_each_mention_is_answered_once(tmp_path: pathlib.Path) -> None:
    async with running(tmp_path, staff=True, webhook=True) as (forum, _, requests):
        topics = [forum.create_topic(f"Topic number {n} about the calls") for n in range(3)]
        posts = [await forum.user_posts("alice", t.id, f"@coopbot time {WHEN}") for t in topics]
        for post in posts:
            await forum.wait_for_post("coopbot")
        await polls(requests, 3)  # the poller has seen every notification by now
    assert [len(replies_to(forum, p)) for p in posts] == [1, 1, 1]
    assert len(forum.posts_by("coopbot")) == 3


async def test_restart_between_polls_neither_repeats_nor_misses_a_mention(tmp_path: pathlib.Path) -> None:
    forum = FakeDiscourse(settings=RELAXED)
    requests = RequestSignal.install(forum)
    async with forum:
        config = discourse_config(tmp_path, forum)
        topic = forum.create_topic("Planning the winter assembly")
        async with DiscourseBot(config):
            before = await forum.user_posts("alice", topic.id, f"@coopbot time {WHEN}")
            await answered(forum, before)
        during = await forum.user_posts("bob", topic.id, "@coopbot time 8pm GMT on 29 Nov 2030")
        start = len(requests)
        async with DiscourseBot(config):
            await answered(forum, during)
            await polls(requests, 3, start)
    assert len(replies_to(forum, before)) == 1 and len(replies_to(forum, during)) == 1
    assert f"/posts/{before.id}.json" not in [r.path for r in requests[start:]]  # the cursor was kept


async def test_idle_poll_cycle_is_exactly_one_request(tmp_path: pathlib.Path) -> None:
    async with running(tmp_path) as (_, _, requests):
        await polls(requests, 1)
        start = len(requests)
        await polls(requests, 6, start)
    assert set(requests.routes(start)) == {NOTIFICATIONS}


async def test_edits_and_deletes_do_not_run_a_command_again(tmp_path: pathlib.Path) -> None:
    clock = ManualClock()
    async with running(tmp_path, staff=True, clock=clock, webhook=True) as (forum, _, requests):
        topic = forum.create_topic("Planning the winter assembly")
        command = await forum.user_posts("alice", topic.id, f"@coopbot time {WHEN}")
        await answered(forum, command)
        await forum.user_edits(command.id, "@coopbot time 9pm GMT on 29 Nov 2030")
        chatter = await forum.user_posts("bob", topic.id, "See you all at the assembly then")
        clock.advance(600)
        await forum.user_edits(chatter.id, f"See you all at the assembly then @coopbot time {WHEN}")
        await forum.user_deletes(command.id)
        await polls(requests, 3)
        barrier = await forum.user_posts("alice", topic.id, "@coopbot time 8pm GMT on 29 Nov 2030")
        await answered(forum, barrier)
    assert len(forum.posts_by("coopbot")) == 2 and replies_to(forum, chatter) == []


async def test_polling_waits_out_a_429_then_answers_once(tmp_path: pathlib.Path) -> None:
    async with running(tmp_path) as (forum, _, requests):
        topic = forum.create_topic("Planning the winter assembly")
        await polls(requests, 1)
        forum.start_rate_limiting(wait_seconds=1, requests=2)
        start = len(requests)
        post = await forum.user_posts("alice", topic.id, f"@coopbot time {WHEN}")
        await answered(forum, post, timeout=8)
    limited = [r for r in requests[start:] if r.status == 429]
    later = [r for r in requests[start:] if r.received_monotonic > limited[0].received_monotonic]
    assert len(limited) == 2 and len(replies_to(forum, post)) == 1
    assert later[0].received_monotonic - limited[0].received_monotonic >= 1.0  # Retry-After honoured


async def test_posting_limit_of_a_non_staff_bot_delays_a_reply_but_never_drops_it(tmp_path: pathlib.Path) -> None:
    settings = SiteSettings(max_admin_api_reqs_per_minute=None, rate_limit_create_post=1)
    async with running(tmp_path, settings=settings, webhook=True, poll="1h") as (forum, bot, requests):
        first, second = forum.create_topic("First topic about the calls"), forum.create_topic("Second topic")
        a = await forum.user_posts("alice", first.id, f"@coopbot time {WHEN}")
        b = await forum.user_posts("bob", second.id, f"@coopbot time {WHEN}")
        await forum.wait_for_post("coopbot")
        await forum.wait_for_post("coopbot", timeout=8)
        await bot.log("send failed platform=discourse")
    posts = [r for r in requests if r.route == "POST /posts.json"]
    assert len(replies_to(forum, a)) == 1 and len(replies_to(forum, b)) == 1
    assert [r.status for r in posts] == [200, 429, 200]
    assert posts[2].received_monotonic - posts[1].received_monotonic >= 1.0


async def test_call_scheduled_in_a_topic_is_kept_with_that_topic_and_announced_in_the_digest(
        tmp_path: pathlib.Path) -> None:
    forum = FakeDiscourse(settings=RELAXED, bot_staff=True)
    async with forum:
        digest = forum.create_topic("Calls between the coops", username="coopbot")
        async with running_with(forum, tmp_path, digest_topic=digest.id):
            topic = forum.create_topic("Planning the winter assembly")
            post = await forum.user_posts("alice", topic.id, f'@coopbot call schedule "Assembly" {WHEN} with CoTech')
            confirmation = await answered(forum, post)
            announcement = await forum.wait_for_post("coopbot")
    assert "#1" in confirmation.raw and announcement.topic_id == digest.id and "[date-range" in announcement.raw
    store = Store(f"sqlite:///{tmp_path / 'coopbot.db'}")
    with store.unit() as unit:
        call = unit.calls.get(1)
    store.close()
    assert call is not None and (call.channel_id, call.thread_id) == (str(topic.id), str(post.post_number))


async def test_fourth_consecutive_post_refused_by_discourse_is_logged_and_the_bot_goes_on(
        tmp_path: pathlib.Path) -> None:
    forum = FakeDiscourse(settings=SiteSettings(max_admin_api_reqs_per_minute=None, rate_limit_create_post=1))
    async with forum:
        digest = forum.create_topic("Calls between the coops", username="sam")
        for n in range(3):
            forum.forum.create_post(forum.bot, NewPost(raw=f"Earlier announcement number {n}", topic_id=digest.id),
                                    enforce=False)
            await forum.wait_for_post("coopbot")  # seen: not one of the posts the test waits for
        async with running_with(forum, tmp_path, digest_topic=digest.id) as bot:
            topic = forum.create_topic("Planning the winter assembly")
            post = await forum.user_posts("alice", topic.id, f'@coopbot call schedule "Assembly" {WHEN}')
            await answered(forum, post)
            await bot.log("refused the bot's post for good.*3 times in a row", timeout=8)
            later = await forum.user_posts("bob", topic.id, f"@coopbot time {WHEN}")
            await answered(forum, later, timeout=8)


@asynccontextmanager
async def running_with(forum: FakeDiscourse, folder: pathlib.Path, **discourse: Any) -> AsyncIterator[DiscourseBot]:
    """The bot against an already running ``forum`` (seeded before the bot starts)."""
    async with DiscourseBot(discourse_config(folder, forum, **discourse)) as bot:
        yield bot


async def test_agenda_from_a_post_takes_the_seed_threads_three_topics(tmp_path: pathlib.Path) -> None:
    async with running(tmp_path) as (forum, _, requests):
        topic = forum.create_topic("International video chat during the gathering", posts=1)
        proposal = await forum.user_posts("bob", topic.id, SEED_PROPOSAL)
        schedule = await forum.user_posts("alice", topic.id, f'@coopbot call schedule "Say hi" {WHEN} with CoTech, FACTTIC')
        await answered(forum, schedule)
        await forum.wait_for_post("coopbot")  # the announcement (no digest topic: in the topic too)
        ask = await forum.user_posts("alice", topic.id, f"Thanks!\n@coopbot agenda from {proposal.post_number}")
        taken = await answered(forum, ask)
        show = await forum.user_posts("alice", topic.id, "@coopbot agenda")
        shown = await answered(forum, show)
    assert f"/posts/by_number/{topic.id}/{proposal.post_number}.json" in [r.path for r in requests]
    assert f"from post {proposal.post_number} by bob:" in taken.raw
    expected = ["1. Inter-cooperative projects: In FACTTIC we're running some inter-cooperative projects for"
                " external clients.", "2. ICA IT Network: we're working on the creation of the IT Network.",
                "3. Clients and Projects: ¿what kind of clients do you have?"]
    for post in (taken, shown):
        text, comment = post.raw.rsplit("\n\n", 1)
        assert text.splitlines()[-3:] == expected
        assert re.fullmatch(r"<!-- coopbot:[0-9]+/0 -->", comment)  # the outbox mark, which Discourse does not render


async def test_healthz_is_503_while_polls_fail_and_200_once_one_succeeds(tmp_path: pathlib.Path) -> None:
    async with running(tmp_path) as (forum, bot, requests):
        await polls(requests, 1)
        async with aiohttp.ClientSession() as http:
            async with http.get(bot.url + "/healthz") as response:
                assert response.status == 200
            keys = dict(forum.api_keys)
            forum.api_keys.clear()  # the forum now answers every poll 403
            await bot.log(r"poll failed \(1 in a row\)")
            async with http.get(bot.url + "/healthz") as response:
                assert response.status == 503
                body = await response.json()
            assert body["status"] == "unavailable" and body["adapters"]["discourse"].startswith("last poll failed")
            assert forum.api_key not in str(body)
            forum.api_keys.update(keys)
            await polls(requests, 1)
            await polls(requests, 1)
            async with http.get(bot.url + "/healthz") as response:
                assert response.status == 200


async def test_a_decision_in_a_topic_links_to_its_post_and_keeps_every_version(tmp_path: pathlib.Path) -> None:
    async with running(tmp_path) as (forum, _, _):
        topic = forum.create_topic("Shared hosting across the federation", posts=1)
        schedule = await forum.user_posts("alice", topic.id, f'@coopbot call schedule "Hosting" {WHEN}')
        await answered(forum, schedule)
        await forum.wait_for_post("coopbot")  # the announcement, in the topic too
        decide = await forum.user_posts("alice", topic.id, "We talked.\n@coopbot decide #1 @all We share one "
                                        "hosting contract #hosting")
        recorded = await answered(forum, decide)
        steps = ["decision edit 1 We share one hosting contract from March",
                 "decisión editar 1 Compartimos un contrato de hosting desde marzo", "decision retract 1"]
        for step in steps:
            await answered(forum, await forum.user_posts("bob", topic.id, f"@coopbot {step}"))
        by_tag = await answered(forum, await forum.user_posts("bob", topic.id, "@coopbot decisions #hosting"))
        by_call = await answered(forum, await forum.user_posts("bob", topic.id, "@coopbot decisiones #1"))
        shown = await answered(forum, await forum.user_posts("bob", topic.id, "@coopbot decision 1"))
        link = f"{forum.url}/t/{topic.id}/{decide.post_number}"
    assert "✅ Decision 1 recorded (call #1 · #hosting): @\u200ball We share one hosting contract" in recorded.raw
    assert "1. (retracted) Compartimos un contrato de hosting desde marzo — alice" in by_tag.raw
    assert "1. (retirada) Compartimos un contrato de hosting desde marzo — alice" in by_call.raw
    assert f"Post: {link}" in shown.raw
    history = shown.raw.split("History:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert [line.split(": ", 1)[1] for line in history] == [
        "recorded: @\u200ball We share one hosting contract", "edited: We share one hosting contract from March",
        "edited: Compartimos un contrato de hosting desde marzo", "retracted"]
    assert [line.split(", ")[-1].split(":")[0] for line in history] == ["alice", "bob", "bob", "bob"]
