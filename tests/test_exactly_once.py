"""Exactly once past a crash, however long the bot was down, on Mattermost and on Discourse.

Every post the bot makes carries its outbox row and part; at start, replies the
last process queued but did not mark sent are looked for among the bot's own
posts before anything is resent. The platforms' own guards are short
(Mattermost drops a resent ``pending_post_id`` for 30 s, Discourse replays an
identical API post for 120 s and refuses a "too similar" one for 5 minutes):
the fakes' windows are made to pass before each restart.
"""
from __future__ import annotations

import asyncio
import json
import pathlib
import re
import sqlite3
import time
from datetime import UTC, datetime

from bot.adapters.mattermost_events import OUTBOX_PROP
from tests.auxil.discourse_bot import DiscourseBot, RequestSignal, discourse_config
from tests.fakes.discourse import FakeDiscourse, ManualClock, SiteSettings
from tests.fakes.mattermost import FakeMattermost
from tests.auxil.mattermost_chat import start_chat
from tests.test_mattermost_e2e import assert_answered_once, post_many

WINDOW = 30.0  # Mattermost's pending_post_id window, in seconds: a repeat within it gets the post already made


class ServerClock:
    """The fake server's wall clock, which a test moves on past a window instead of waiting it out."""

    def __init__(self) -> None:
        self.ahead = 0.0

    def __call__(self) -> float:
        return time.time() + self.ahead
PAST_DISCOURSE_WINDOWS = 600.0  # seconds: past the 120 s replay and the 5 min "too similar" check
RELAXED = SiteSettings(max_admin_api_reqs_per_minute=None, rate_limit_create_post=0)


def forget_sent(folder: pathlib.Path, rows: int) -> list[int]:
    """As if the process had died between posting its last ``rows`` replies and marking them sent."""
    with sqlite3.connect(folder / "coopbot.db") as db:
        ids = [row[0] for row in db.execute("SELECT id FROM outbox ORDER BY id DESC LIMIT ?", (rows,))]
        db.executemany("UPDATE outbox SET sent_at = NULL WHERE id = ?", [(i,) for i in ids])
    return ids


def posted_ids(folder: pathlib.Path) -> dict[int, list[str] | None]:
    """Each outbox row's platform ids of what it became, as stored (a JSON list)."""
    with sqlite3.connect(folder / "coopbot.db") as db:
        return {row: json.loads(ids) if ids else None for row, ids in db.execute("SELECT id, posted_ids FROM outbox")}


def unsent(folder: pathlib.Path) -> int:
    with sqlite3.connect(folder / "coopbot.db") as db:
        return int(db.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0])


# --- Mattermost ------------------------------------------------------------------------------------


async def test_mattermost_replies_posted_but_not_marked_are_not_sent_again(tmp_path: pathlib.Path) -> None:
    clock = ServerClock()
    async with FakeMattermost(pending_post_window=WINDOW, clock=clock) as mm:
        chat = await start_chat(tmp_path, mm)
        commands = await post_many(chat, 6)
        await chat.all_answered(commands)
        assert await chat.bot.stop() == 0
        by_row = {int(p["props"][OUTBOX_PROP].split("/")[0]): [p["id"]] for p in mm.posts_by(mm.bot)}
        assert posted_ids(tmp_path) == by_row  # each row keeps the id of the post it became
        forget_sent(tmp_path, 3)
        clock.ahead += WINDOW + 1  # the server no longer recognises the resends
        await chat.start()
        await chat.bot.wait_for_log(r"mattermost: 3 replies left unsent at the last stop: 3 had been posted, 0 to send")
        await chat.settled()
        assert_answered_once(chat, commands)
        assert await chat.bot.stop() == 0  # the last sent marks are written at stop at the latest
        assert unsent(tmp_path) == 0


async def test_mattermost_killed_during_a_burst_of_200_answers_each_command_once(tmp_path: pathlib.Path) -> None:
    clock = ServerClock()
    async with FakeMattermost(pending_post_window=WINDOW, clock=clock) as mm:
        chat = await start_chat(tmp_path, mm)
        burst = asyncio.create_task(post_many(chat, 200))
        while len(mm.posts_by(mm.bot)) < 60:
            await mm.wait_for_post(user_id=chat.bot_id, timeout=20)
        await chat.bot.kill()  # mid-burst: replies in flight, sent marks not yet written
        commands = await burst
        clock.ahead += WINDOW + 1
        await chat.start()
        await chat.all_answered(commands, timeout=90)
        await chat.bot.wait_for_log(r"coopbot ready", timeout=30)  # replies left unsent are dealt with by now
        await chat.settled()
        assert_answered_once(chat, commands)
        print(*[line for line in chat.bot.lines if "left unsent" in line], sep="\n")  # the counts, with -s
        await chat.bot.stop()


# --- Discourse -------------------------------------------------------------------------------------


def replies_to(forum: FakeDiscourse, post_number: int, topic_id: int) -> int:
    return sum(1 for p in forum.posts_by("coopbot") if (p.topic_id, p.reply_to_post_number) == (topic_id, post_number))


async def mention_many(forum: FakeDiscourse, topic_id: int, count: int) -> list[int]:
    numbers = []
    for n in range(count):
        post = await forum.user_posts(("alice", "bob")[n % 2], topic_id, f"@coopbot time {n % 12 + 1}pm GMT on 29 Nov 2030")
        numbers.append(post.post_number)
    return numbers


async def all_replied(forum: FakeDiscourse, topic_id: int, numbers: list[int], timeout: float = 60.0) -> None:
    async with asyncio.timeout(timeout):
        while any(replies_to(forum, n, topic_id) == 0 for n in numbers):
            await forum.wait_for_post("coopbot", topic_id=topic_id, timeout=timeout)


async def test_discourse_replies_posted_but_not_marked_are_not_sent_again(tmp_path: pathlib.Path) -> None:
    clock = ManualClock(datetime.now(UTC))
    forum = FakeDiscourse(settings=RELAXED, clock=clock, bot_staff=True)  # staff: no 3-replies-in-a-row limit
    RequestSignal.install(forum)
    async with forum:
        config = discourse_config(tmp_path, forum)
        topic = forum.create_topic("Planning the winter assembly")
        async with DiscourseBot(config):
            mentions = await mention_many(forum, topic.id, 4)
            await all_replied(forum, topic.id, mentions)
        by_row = {int(re.search(r"coopbot:([0-9]+)/", p.raw)[1]): [str(p.id)] for p in forum.posts_by("coopbot")}
        assert posted_ids(tmp_path) == by_row  # each row keeps the id of the post it became
        forget_sent(tmp_path, 2)
        clock.advance(PAST_DISCOURSE_WINDOWS)
        async with DiscourseBot(config) as bot:
            await bot.log(r"discourse: 2 replies left unsent at the last stop: 2 had been posted, 0 to send")
            barrier = await mention_many(forum, topic.id, 1)
            await all_replied(forum, topic.id, barrier)
    assert [replies_to(forum, n, topic.id) for n in mentions + barrier] == [1] * 5
    assert unsent(tmp_path) == 0


async def test_discourse_killed_during_a_burst_answers_each_mention_once(tmp_path: pathlib.Path) -> None:
    clock = ManualClock(datetime.now(UTC))
    forum = FakeDiscourse(settings=RELAXED, clock=clock, bot_staff=True)
    RequestSignal.install(forum)
    async with forum:
        config = discourse_config(tmp_path, forum, poll_interval="0.05s")
        topic = forum.create_topic("Planning the winter assembly")
        bot = DiscourseBot(config)
        await bot.__aenter__()
        burst = asyncio.create_task(mention_many(forum, topic.id, 60))
        while len(forum.posts_by("coopbot")) < 20:
            await forum.wait_for_post("coopbot", timeout=20)
        await bot.process.kill()
        mentions = await burst
        clock.advance(PAST_DISCOURSE_WINDOWS)
        async with DiscourseBot(config) as again:
            await all_replied(forum, topic.id, mentions, timeout=90)
        print(*[line for line in again.lines if "left unsent" in line], sep="\n")  # the counts, with -s
    assert [replies_to(forum, n, topic.id) for n in mentions] == [1] * len(mentions)
