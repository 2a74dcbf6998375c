"""Consent proposals end to end: the real bot process against the fake Discourse on loopback.

A proposal lives in its topic: the bot answers each post, and the reminder and the
outcome reply to the proposal's post. Deadlines are seconds ahead on the wall clock.
"""
from __future__ import annotations

import pathlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from tests.auxil.deadlines import seconds_ahead, utc, wait_past
from tests.auxil.discourse_bot import DiscourseBot, discourse_config
from tests.fakes._discourse_model import NotificationType, Post, SiteSettings
from tests.fakes.discourse import FakeDiscourse

RELAXED = SiteSettings(max_admin_api_reqs_per_minute=None, rate_limit_create_post=0)  # as in test_discourse_e2e


@asynccontextmanager
async def forum_and_bot(folder: pathlib.Path) -> AsyncIterator[tuple[FakeDiscourse, pathlib.Path]]:
    forum = FakeDiscourse(settings=RELAXED)
    async with forum:
        forum.add_user("carol", name="Carol Lee", trust_level=2, timezone="Europe/Berlin")
        yield forum, discourse_config(folder, forum, sections={"proposals": {"remind_before": "4s"}})


async def reply_to(forum: FakeDiscourse, post: Post, timeout: float = 10.0) -> Post:
    """The bot's next post, checked to reply to ``post``."""
    reply = await forum.wait_for_post("coopbot", timeout=timeout)
    assert (reply.topic_id, reply.reply_to_post_number) == (post.topic_id, post.post_number), reply.raw
    return reply


async def command(forum: FakeDiscourse, user: str, topic_id: int, text: str) -> str:
    post = await forum.user_posts(user, topic_id, f"@coopbot {text}")
    return (await reply_to(forum, post)).raw


def mentions_of(forum: FakeDiscourse, username: str, post: Post) -> list[int | None]:
    return [n.post_number for n in forum.notifications_for(username)
            if n.notification_type is NotificationType.MENTIONED and n.post_number == post.post_number]


async def test_a_proposal_in_a_topic_from_opening_to_consent_and_a_block_in_spanish(tmp_path: pathlib.Path) -> None:
    async with forum_and_bot(tmp_path) as (forum, config), DiscourseBot(config):
        topic = forum.create_topic("Shared hosting across the federation")
        proposal = await forum.user_posts("alice", topic.id, '@coopbot propose "We adopt the shared hosting plan" '
                                                             f"until {utc(seconds_ahead(9))} quorum 2 with @bob @carol")
        opened = (await reply_to(forum, proposal)).raw
        assert "🗳️ Proposal 1 by alice: We adopt the shared hosting plan\nDeadline:\n[date=" in opened
        assert 'timezones="America/Argentina/Buenos_Aires|Europe/London|Europe/Berlin|America/Detroit"' in opened

        assert "✋ Proposal 1: bob objects: Too costly" in await command(forum, "bob", topic.id, "object 1 Too costly")
        assert "👍 Proposal 1: bob agrees (before: objects: Too costly)" in await command(
            forum, "bob", topic.id, "agree 1")

        reminder = await reply_to(forum, proposal)
        assert "⏰ Proposal 1 closes in 1 minute" in reminder.raw and "Not answered yet: @carol\n" in reminder.raw
        assert mentions_of(forum, "carol", reminder) == [reminder.post_number]
        assert mentions_of(forum, "bob", reminder) == [], reminder.raw

        await command(forum, "alice", topic.id, "abstain 1")
        closed = (await reply_to(forum, proposal)).raw
        assert "🗳️ Proposal 1 closed: ✅ consented\nWe adopt the shared hosting plan\n" in closed
        assert "- alice: abstains\nRecorded as decision 1.\n" in closed
        shown = await command(forum, "carol", topic.id, "decision 1")
        assert f"Post: {forum.url}/t/{topic.id}/{proposal.post_number}" in shown and "Tags: #proposal" in shown

        spanish = await forum.user_posts("bob", topic.id, '@coopbot proponer "Dejamos la cooperativa de hosting" '
                                                          "hasta 2099-01-05 18:00 UTC con @alice")
        assert "🗳️ Propuesta 2 de bob: Dejamos la cooperativa de hosting\nPlazo:\n[date=" in (
            await reply_to(forum, spanish)).raw
        assert "⛔ Propuesta 2: carol bloquea: Va contra nuestro principio" in await command(
            forum, "carol", topic.id, "bloqueo 2 Va contra nuestro principio")
        assert "Solo bob, que hizo la propuesta 2" in await command(forum, "alice", topic.id, "propuesta cerrar 2")
        closing = await forum.user_posts("bob", topic.id, "@coopbot propuesta cerrar 2")
        answers = [await forum.wait_for_post("coopbot", timeout=10) for _ in range(2)]
        assert sorted(a.reply_to_post_number or 0 for a in answers) == [spanish.post_number, closing.post_number]
        for answer in answers:
            assert "🗳️ Propuesta 2 cerrada: ⛔ bloqueada" in answer.raw
            assert "- carol: bloquea: Va contra nuestro principio" in answer.raw


async def test_a_deadline_passed_while_the_bot_was_stopped_closes_once_on_start(tmp_path: pathlib.Path) -> None:
    async with forum_and_bot(tmp_path) as (forum, config):
        topic = forum.create_topic("Monthly calls")
        async with DiscourseBot(config):
            deadline = seconds_ahead(4)
            proposal = await forum.user_posts("alice", topic.id,
                                              f'@coopbot propose "Monthly calls on Thursdays" until {utc(deadline)}')
            await reply_to(forum, proposal)
            await command(forum, "bob", topic.id, "agree 1")
        await wait_past(deadline)  # the deadline passes while no bot runs: nothing to wait on but the clock
        async with DiscourseBot(config):
            closed = await reply_to(forum, proposal, timeout=15)
            assert "🗳️ Proposal 1 closed: ✅ consented" in closed.raw
        async with DiscourseBot(config):
            barrier = await command(forum, "bob", topic.id, "proposal 1")  # answered: the start-up is behind us
            assert "Closed: ✅ consented (decision 1)" in barrier
        assert sum("closed" in p.raw for p in forum.posts_by("coopbot")) == 1
