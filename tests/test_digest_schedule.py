"""The digest on its own at a weekly wall-clock time, to the mailing list on a real SMTP server.

In-process (the App with its real e-mail adapter, aiosmtpd on loopback) on an
injected clock. APScheduler keeps the wall clock, so ``fire_due`` runs the jobs
the scheduler holds once the injected clock has reached them, as APScheduler
does (the job removed from its store, then the function every stored job calls);
a restart is a new App on the same database. The dates are in 2031: the real
scheduler never reaches them during a test.
"""
from __future__ import annotations

import contextlib
import logging
import pathlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

import pytest
import pytz

from bot.adapters.email import EmailAdapter
from bot.messages import Reply
from bot.scheduler import PlannedRun, dispatch_job
from tests.auxil.inprocess import app_of, at, clocked_chat
from tests.auxil.recording import RecordingAdapter, ask
from tests.auxil.smtp import MailServer

MONDAY = datetime(2031, 3, 17, 8, 0, tzinfo=timezone.utc)  # 08:00 in London (GMT); the digest is due at 09:00
HOUR = timedelta(hours=1)
WEEK = timedelta(days=7)
LONDON = pytz.timezone("Europe/London")


@contextlib.asynccontextmanager
async def bot(folder: pathlib.Path, smtp: MailServer, start: datetime) -> AsyncIterator[RecordingAdapter]:
    mail = EmailAdapter(host="127.0.0.1", port=smtp.port, security="none", sender="coopbot@example.coop",
                        recipients=("council@lists.example.coop",), name="coopbot")
    digest = "{schedule: 'monday 09:00 Europe/London', misfire_grace: 6h, updates: []}"
    async with clocked_chat(folder, others={"email": mail}, start=start, digest=digest) as chat:
        yield chat


def digest_runs(chat: RecordingAdapter) -> list[PlannedRun]:
    return [run for run in app_of(chat).scheduler.planned() if run.kind == "digest"]


async def fire_due(chat: RecordingAdapter, *, remove: bool = True) -> int:
    """Run the digest jobs due by the bot's clock as APScheduler does; how many ran. ``remove`` False: the
    store still holds a job that ran (as it would for a second process on the same database)."""
    app = app_of(chat)
    due = [run for run in digest_runs(chat) if run.run_at <= app.clock()]
    for run in due:
        if remove:
            app.scheduler.cancel(run.job_id)
        await dispatch_job(run.kind, run.payload)
    await app.delivery.idle(5)
    return len(due)


@pytest.fixture
async def smtp() -> AsyncIterator[MailServer]:
    async with MailServer() as server:
        yield server


async def test_the_weekly_digest_goes_out_once_across_a_restart(tmp_path: pathlib.Path, smtp: MailServer) -> None:
    async with bot(tmp_path, smtp, MONDAY) as chat:
        assert [(r.job_id, r.run_at) for r in digest_runs(chat)] == [("digest:2031-03-17T09:00Z", MONDAY + HOUR)]
        await ask(chat, "!decide We share one hosting contract")
        at(chat, MONDAY + HOUR)
        assert await fire_due(chat, remove=False) == 1
        assert len(smtp.messages) == 1
        at(chat, MONDAY + HOUR + timedelta(minutes=10))
        await ask(chat, "!decide And one domain registrar")  # news, for the next digest only
    async with bot(tmp_path, smtp, MONDAY + HOUR + timedelta(minutes=20)) as chat:
        assert await fire_due(chat) == 1  # the 09:00 job, still stored: that occurrence ran already
        assert [r.run_at for r in digest_runs(chat)] == [MONDAY + HOUR + WEEK]
    (mail,) = smtp.messages
    assert mail["Subject"] == "coopbot digest, 10 – 17 Mar 2031"
    assert "We share one hosting contract" in mail.get_body(preferencelist=("plain",)).get_content()


async def test_the_digest_keeps_its_wall_clock_time_when_london_changes_to_summer_time(
        tmp_path: pathlib.Path, smtp: MailServer) -> None:
    before = MONDAY + WEEK  # Monday 24 March 2031; the clocks go forward on Sunday 30 March
    async with bot(tmp_path, smtp, before) as chat:
        await ask(chat, "!decide We share one hosting contract")
        at(chat, before + HOUR)
        await fire_due(chat)
        after = before + WEEK  # 09:00 BST is 08:00 UTC
        assert [r.run_at for r in digest_runs(chat)] == [after]
        at(chat, after - timedelta(days=2))
        await ask(chat, "!decide And one domain registrar")
        at(chat, after - timedelta(minutes=1))
        assert await fire_due(chat) == 0
        at(chat, after)
        assert await fire_due(chat) == 1
        assert [r.run_at for r in digest_runs(chat)] == [after + WEEK]
    dates = [parsedate_to_datetime(m["Date"]).astimezone(LONDON).strftime("%a %d %b %H:%M %Z") for m in smtp.messages]
    assert dates == ["Mon 24 Mar 09:00 GMT", "Mon 31 Mar 09:00 BST"]


async def test_a_digest_missed_within_the_grace_is_sent_once_at_start(
        tmp_path: pathlib.Path, smtp: MailServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    async with bot(tmp_path, smtp, MONDAY) as chat:
        await ask(chat, "!decide We share one hosting contract")
    async with bot(tmp_path, smtp, MONDAY + 4 * HOUR) as chat:  # down at 09:00, back at 12:00
        assert [(r.job_id, r.run_at) for r in digest_runs(chat)] == [
            ("digest:2031-03-17T09:00Z", MONDAY + 4 * HOUR), ("digest:2031-03-24T09:00Z", MONDAY + HOUR + WEEK)]
        await fire_due(chat)
    async with bot(tmp_path, smtp, MONDAY + 5 * HOUR) as chat:
        assert [r.run_at for r in digest_runs(chat)] == [MONDAY + HOUR + WEEK]
    assert len(smtp.messages) == 1
    assert "digest of 2031-03-17T09:00:00+00:00 (monday 09:00 Europe/London) was missed while the bot was down: " \
           "running it now" in caplog.text


async def test_a_digest_missed_beyond_the_grace_is_skipped_and_the_next_covers_its_news(
        tmp_path: pathlib.Path, smtp: MailServer, caplog: pytest.LogCaptureFixture) -> None:
    async with bot(tmp_path, smtp, MONDAY):
        pass
    async with bot(tmp_path, smtp, MONDAY + 8 * HOUR) as chat:  # back at 16:00: seven hours late, grace six
        await ask(chat, "!decide We share one hosting contract")
        assert "digest of 2031-03-17T09:00:00+00:00 (monday 09:00 Europe/London) was missed by more than " \
               "its grace time while the bot was down: skipped" in caplog.text
        assert await fire_due(chat) == 1  # the 09:00 job the first process stored: skipped means never
        assert smtp.messages == []
        at(chat, MONDAY + HOUR + WEEK)
        await fire_due(chat)
    (mail,) = smtp.messages
    assert mail["Subject"] == "coopbot digest, 17 – 24 Mar 2031"
    assert "We share one hosting contract" in mail.get_body(preferencelist=("plain",)).get_content()


async def test_a_changed_schedule_starts_afresh_and_the_old_ones_jobs_do_nothing(
        tmp_path: pathlib.Path, smtp: MailServer) -> None:
    async with bot(tmp_path, smtp, MONDAY) as chat:
        await ask(chat, "!decide We share one hosting contract")
    mail = EmailAdapter(host="127.0.0.1", port=smtp.port, security="none", sender="coopbot@example.coop",
                        recipients=("council@lists.example.coop",), name="coopbot")
    daily = "{schedule: 'daily 18:00 America/Argentina/Buenos_Aires', updates: []}"
    async with clocked_chat(tmp_path, others={"email": mail}, start=MONDAY + 2 * HOUR, digest=daily) as chat:
        runs = digest_runs(chat)
        assert [r.run_at for r in runs] == [MONDAY + HOUR, MONDAY + 13 * HOUR]  # the old 09:00 job; 18:00 -03
        await fire_due(chat)  # 09:00 London is no longer the schedule
        assert smtp.messages == []
        at(chat, MONDAY + 13 * HOUR)
        await fire_due(chat)
    assert len(smtp.messages) == 1


class BrokenOnce(RecordingAdapter):
    """A destination whose next rendering fails once ``broken`` is set, as a bug would: the job's
    transaction rolls back."""

    platform = "telegram"

    def __init__(self) -> None:
        super().__init__()
        self.broken = False

    def render(self, reply: Reply) -> str:
        if self.broken:
            self.broken = False
            raise RuntimeError("a rendering bug")
        return super().render(reply)


async def test_a_digest_that_fails_leaves_the_schedule_going_and_its_news_for_the_next(
        tmp_path: pathlib.Path, smtp: MailServer) -> None:
    mail = EmailAdapter(host="127.0.0.1", port=smtp.port, security="none", sender="coopbot@example.coop",
                        recipients=("council@lists.example.coop",), name="coopbot")
    digest = "{schedule: 'monday 09:00 Europe/London', updates: []}"
    broken = BrokenOnce()
    async with clocked_chat(tmp_path, others={"email": mail, "telegram": broken}, start=MONDAY - HOUR,
                            digest=digest) as chat:
        await ask(chat, "!decide We meet monthly")
        await ask(chat, "!digest now")  # 07:00: each destination's last digest
        await smtp.wait_for_messages(1)
        broken.broken = True
        at(chat, MONDAY)
        await ask(chat, "!decide We share one hosting contract")
        at(chat, MONDAY + HOUR)
        with pytest.raises(RuntimeError):  # APScheduler logs it
            await fire_due(chat)
        assert len(smtp.messages) == 1 and [r.run_at for r in digest_runs(chat)] == [MONDAY + HOUR + WEEK]
        at(chat, MONDAY + HOUR + WEEK)
        await fire_due(chat)
    _, sent = smtp.messages
    assert "We share one hosting contract" in sent.get_body(preferencelist=("plain",)).get_content()
