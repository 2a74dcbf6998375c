"""bot.storage on a real database: a temp SQLite file, and PostgreSQL when it is installed
(the ``db_url`` and ``store`` fixtures of ``tests/auxil/databases.py``)."""
from __future__ import annotations

import os
import sqlite3
import threading
from contextlib import closing
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import StatementError

from bot.errors import ConfigError, StorageError
from bot.storage.engine import PAGE_SIZE, WAL_LIMIT_BYTES
from bot.storage.migrate import HEAD_REVISION
from bot.storage import CallStatus, RecordNotFound, Store, Unit, UserPrefs
from bot.storage.schema import metadata

NOW = datetime(2025, 3, 30, 12, 0, tzinfo=UTC)
OUR_TABLES = {"users", "channels", "calls", "reminders", "agenda_items", "inbox", "outbox", "cursors",
              "decisions", "decision_versions", "decision_tags"}


def add_call(u: Unit, starts_at: datetime = NOW + timedelta(days=1), title: str = "monthly sync") -> int:
    return u.calls.add(
        title=title,
        starts_at=starts_at,
        duration_minutes=60,
        coops=["Mondragón", "Suma"],
        created_by="ana",
        platform="mattermost",
        channel_id="town-square",
        now=NOW,
    ).id


# --- schema and migrations -------------------------------------------------------------------

def test_migrating_twice_changes_nothing_and_keeps_data(store: Store) -> None:
    with store.unit() as u:
        u.cursors.set("mattermost.seq", "41")
    store.migrate()
    with store.unit() as u:
        assert u.cursors.get("mattermost.seq") == "41"
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [HEAD_REVISION]
        assert OUR_TABLES <= set(inspect(conn).get_table_names())


def test_the_head_revision_constant_matches_the_migration_scripts() -> None:
    from alembic.script import ScriptDirectory

    from bot.storage.migrate import alembic_config

    with Store("sqlite://").engine.connect() as conn:
        assert ScriptDirectory.from_config(alembic_config(conn)).get_current_head() == HEAD_REVISION


def test_migrations_build_exactly_the_schema_the_repositories_use(store: Store) -> None:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_sqlite_file_is_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'coopbot.db'}")
    with store.engine.connect() as conn:
        pragmas = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                   for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout", "page_size")}
    assert pragmas == {"journal_mode": "wal", "synchronous": 1, "foreign_keys": 1, "busy_timeout": 10_000,
                       "page_size": 1024}
    store.close()


def test_an_unsupported_database_url_is_refused_before_connecting() -> None:
    with pytest.raises(ConfigError, match="unsupported database 'mysql'"):
        Store("mysql://coop@localhost/coopbot")


# --- units -----------------------------------------------------------------------------------

def test_a_unit_that_raises_leaves_nothing_behind(store: Store) -> None:
    with pytest.raises(RuntimeError), store.unit() as u:
        u.cursors.set("discourse.last_post", "7")
        raise RuntimeError("handler failed")
    with store.unit() as u:
        assert u.cursors.get("discourse.last_post") is None


def test_a_database_failure_is_a_storage_error(store: Store) -> None:
    with pytest.raises(StorageError, match="Integrity|CheckViolation|constraint"), store.unit() as u:
        u.calls.add(title="x", starts_at=NOW, duration_minutes=0, coops=[], created_by="ana",
                    platform="mattermost", channel_id="c", now=NOW)


def test_a_naive_datetime_is_refused(store: Store) -> None:
    naive = datetime(2025, 3, 30, 12, 0)
    with pytest.raises(ValueError, match="naive datetime"), store.unit() as u:  # driver-level statement
        u.inbox.claim("mattermost", "m1", naive)
    with pytest.raises(StatementError, match="naive datetime"), store.unit() as u:  # through SQLAlchemy
        u.users.set_zone("mattermost", "ana", "UTC", naive)


# --- users, channels, cursors ----------------------------------------------------------------

def test_datetimes_come_back_as_aware_utc_whatever_zone_went_in(store: Store) -> None:
    buenos_aires = timezone(timedelta(hours=-3))
    starts_at = datetime(2025, 4, 1, 10, 30, 15, 123456, tzinfo=buenos_aires)
    with store.unit() as u:
        call_id = add_call(u, starts_at=starts_at)
        u.users.set_zone("mattermost", "ana", "America/Argentina/Buenos_Aires", starts_at)
    with store.unit() as u:
        call, prefs = u.calls.get(call_id), u.users.get("mattermost", "ana")
    assert call is not None and prefs is not None
    assert call.starts_at == starts_at and call.starts_at.tzinfo is UTC
    assert call.starts_at.hour == 13 and call.starts_at.microsecond == 123456
    assert prefs.updated_at == starts_at and prefs.updated_at.tzinfo is UTC


def test_member_zone_and_language_are_remembered_separately(store: Store) -> None:
    with store.unit() as u:
        assert u.users.get("mattermost", "ana") is None
        u.users.set_zone("mattermost", "ana", "GMT-3", NOW)
        prefs = u.users.set_lang("mattermost", "ana", "es", NOW + timedelta(minutes=1))
    assert (prefs.zone, prefs.lang, prefs.updated_at) == ("GMT-3", "es", NOW + timedelta(minutes=1))
    with store.unit() as u:
        u.users.set_zone("mattermost", "ana", None, NOW)
        assert u.users.get("mattermost", "ana") == UserPrefs("mattermost", "ana", None, "es", NOW)
        assert u.users.get("discourse", "ana") is None


def test_channel_language(store: Store) -> None:
    with store.unit() as u:
        assert u.channels.get_lang("mattermost", "town-square") is None
        u.channels.set_lang("mattermost", "town-square", "pt")
        u.channels.set_lang("mattermost", "town-square", "es")
    with store.unit() as u:
        assert u.channels.get_lang("mattermost", "town-square") == "es"


def test_cursor_set_overwrites(store: Store) -> None:
    with store.unit() as u:
        assert u.cursors.get("mattermost.seq") is None
        u.cursors.set("mattermost.seq", "1")
        u.cursors.set("mattermost.seq", "2")
    with store.unit() as u:
        assert u.cursors.get("mattermost.seq") == "2"


# --- calls -----------------------------------------------------------------------------------

def test_upcoming_lists_scheduled_future_calls_soonest_first(store: Store) -> None:
    with store.unit() as u:
        past = add_call(u, NOW - timedelta(hours=1), "past")
        later = add_call(u, NOW + timedelta(days=2), "later")
        soon = add_call(u, NOW + timedelta(hours=1), "soon")
        cancelled = add_call(u, NOW + timedelta(hours=2), "cancelled")
        u.calls.cancel(cancelled, NOW)
    with store.unit() as u:
        assert [c.id for c in u.calls.upcoming(NOW, 10)] == [soon, later]
        assert [c.id for c in u.calls.upcoming(NOW, 1)] == [soon]
        assert u.calls.get(past) is not None and u.calls.get(12345) is None
        call = u.calls.get(soon)
    assert call is not None
    assert call.coops == ("Mondragón", "Suma") and call.status is CallStatus.SCHEDULED


def test_calls_between_two_instants(store: Store) -> None:
    with store.unit() as u:
        inside = add_call(u, NOW + timedelta(days=3), "inside")
        first = add_call(u, NOW, "at the start")
        add_call(u, NOW + timedelta(days=14), "at the end: out")
        add_call(u, NOW - timedelta(hours=1), "before")
        cancelled = add_call(u, NOW + timedelta(days=2), "cancelled")
        u.calls.cancel(cancelled, NOW + timedelta(hours=2))
    with store.unit() as u:
        assert [c.id for c in u.calls.between(NOW, NOW + timedelta(days=14))] == [first, inside]


def test_moving_and_cancelling_a_call(store: Store) -> None:
    later = NOW + timedelta(hours=5)
    with store.unit() as u:
        call_id = add_call(u)
        moved = u.calls.move(call_id, later, NOW + timedelta(minutes=1))
        cancelled = u.calls.cancel(call_id, NOW + timedelta(minutes=2))
    assert (moved.starts_at, moved.updated_at, moved.created_at) == (later, NOW + timedelta(minutes=1), NOW)
    assert cancelled.status is CallStatus.CANCELLED and cancelled.starts_at == later


def test_moving_an_unknown_call_raises_record_not_found(store: Store) -> None:
    with pytest.raises(RecordNotFound) as caught, store.unit() as u:
        u.calls.move(404, NOW, NOW)
    assert (caught.value.table, caught.value.key) == ("calls", 404)
    with pytest.raises(RecordNotFound), store.unit() as u:
        u.calls.cancel(404, NOW)


def test_cancelling_a_call_drops_its_unfired_reminders_and_keeps_fired_ones(store: Store) -> None:
    with store.unit() as u:
        call_id = add_call(u)
        early, late = u.reminders.replace_for_call(call_id, [(60, NOW), (10, NOW + timedelta(minutes=50))])
        assert u.reminders.claim(early.id, NOW) is not None
        u.calls.cancel(call_id, NOW)
        assert [r.id for r in u.reminders.for_call(call_id)] == [early.id]
        assert u.reminders.pending() == []


# --- reminders -------------------------------------------------------------------------------

def test_replacing_reminders_keeps_unchanged_ones_and_renews_moved_ones(store: Store) -> None:
    start = NOW + timedelta(days=1)
    with store.unit() as u:
        call_id = add_call(u, start)
        day, hour = u.reminders.replace_for_call(call_id, [(1440, NOW), (60, start - timedelta(hours=1))])
        u.reminders.claim(day.id, NOW)
        # Same plan again: nothing changes, the fired reminder stays fired.
        again = u.reminders.replace_for_call(call_id, [(1440, NOW), (60, start - timedelta(hours=1))])
        assert [(r.id, r.fired_at) for r in again] == [(day.id, NOW), (hour.id, None)]
        # The call moves two hours later: both are due anew, under new ids; 10 min is added.
        moved = start + timedelta(hours=2)
        plan = [(1440, moved - timedelta(days=1)), (60, moved - timedelta(hours=1)), (10, moved - timedelta(minutes=10))]
        renewed = u.reminders.replace_for_call(call_id, plan)
        assert [(r.offset_minutes, r.due_at, r.fired_at) for r in renewed] == [(o, at, None) for o, at in plan]
        assert min(r.id for r in renewed) > hour.id  # ids are never handed out twice
        # Dropping offsets deletes the unfired ones.
        assert [r.offset_minutes for r in u.reminders.replace_for_call(call_id, [(10, plan[2][1])])] == [10]
        assert [r.offset_minutes for r in u.reminders.for_call(call_id)] == [10]


def test_replacing_reminders_with_a_repeated_offset_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="repeat"), store.unit() as u:
        u.reminders.replace_for_call(add_call(u), [(10, NOW), (10, NOW)])


def test_a_reminder_is_claimed_once(store: Store) -> None:
    with store.unit() as u:
        (reminder,) = u.reminders.replace_for_call(add_call(u), [(10, NOW)])
        assert [r.id for r in u.reminders.pending()] == [reminder.id]
    with store.unit() as u:
        claimed = u.reminders.claim(reminder.id, NOW + timedelta(seconds=1))
        assert claimed is not None and claimed.fired_at == NOW + timedelta(seconds=1)
    with store.unit() as u:
        assert u.reminders.claim(reminder.id, NOW + timedelta(seconds=2)) is None
        assert u.reminders.claim(999_999, NOW) is None
        assert u.reminders.pending() == []


def test_two_stores_racing_claim_each_reminder_exactly_once(store: Store, db_url: str) -> None:
    with store.unit() as u:
        call_id = add_call(u)
        ids = [r.id for r in u.reminders.replace_for_call(call_id, [(m, NOW) for m in range(1, 31)])]
    other = Store(db_url)
    contenders = [store, other, store, other]
    start = threading.Barrier(len(contenders))
    wins: list[int] = []
    errors: list[BaseException] = []

    def contend(s: Store) -> None:
        try:
            start.wait(timeout=10)
            for reminder_id in ids:
                with s.unit() as u:
                    if u.reminders.claim(reminder_id, NOW) is not None:
                        wins.append(reminder_id)
        except BaseException as err:  # reported below, after every thread has ended
            errors.append(err)

    threads = [threading.Thread(target=contend, args=(s,)) for s in contenders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    other.close()
    assert errors == [] and not any(t.is_alive() for t in threads)
    assert sorted(wins) == ids


# --- inbox -----------------------------------------------------------------------------------

def test_a_message_is_claimed_once_and_the_unit_still_commits(store: Store) -> None:
    with store.unit() as u:
        assert u.inbox.claim("mattermost", "post-1", NOW) is True
        assert u.inbox.claim("mattermost", "post-1", NOW) is False
        assert u.inbox.claim("discourse", "post-1", NOW) is True
        u.cursors.set("mattermost.seq", "9")
    with store.unit() as u:
        assert u.cursors.get("mattermost.seq") == "9"
        assert u.inbox.claim("mattermost", "post-1", NOW) is False


def test_a_claim_rolled_back_with_its_unit_can_be_made_again(store: Store) -> None:
    with pytest.raises(RuntimeError), store.unit() as u:
        assert u.inbox.claim("mattermost", "post-1", NOW)
        raise RuntimeError("handler failed")
    with store.unit() as u:
        assert u.inbox.claim("mattermost", "post-1", NOW) is True


def test_pruning_the_inbox_forgets_old_messages(store: Store) -> None:
    with store.unit() as u:
        u.inbox.claim("mattermost", "old", NOW - timedelta(days=8))
        u.inbox.claim("mattermost", "new", NOW)
        assert u.inbox.prune(NOW - timedelta(days=7)) == 1
        assert u.inbox.claim("mattermost", "old", NOW) is True
        assert u.inbox.claim("mattermost", "new", NOW) is False


# --- outbox ----------------------------------------------------------------------------------

def test_outbox_hands_out_due_items_oldest_first_and_retries_failures_later(store: Store) -> None:
    with store.unit() as u:
        first = u.outbox.enqueue(platform="mattermost", channel_id="c", thread_id="t", text="1", now=NOW)
        u.outbox.enqueue(platform="discourse", channel_id="c", thread_id=None, text="elsewhere", now=NOW)
        second = u.outbox.enqueue(platform="mattermost", channel_id="c", thread_id=None, text="2", now=NOW)
        third = u.outbox.enqueue(platform="mattermost", channel_id="c", thread_id=None, text="3",
                                 now=NOW + timedelta(seconds=5))
    assert (first.attempts, first.next_attempt_at, first.sent_at, first.thread_id) == (0, NOW, None, "t")
    with store.unit() as u:
        assert [i.id for i in u.outbox.due("mattermost", NOW, 10)] == [first.id, second.id]
        assert [i.id for i in u.outbox.due("mattermost", NOW + timedelta(seconds=5), 1)] == [first.id]
        u.outbox.mark_failed(first.id, NOW, NOW + timedelta(seconds=30), "503 from server")
        u.outbox.mark_sent(second.id, NOW)
    with store.unit() as u:
        assert [i.id for i in u.outbox.due("mattermost", NOW + timedelta(seconds=10), 10)] == [third.id]
        retried = u.outbox.due("mattermost", NOW + timedelta(seconds=30), 10)
        assert [i.id for i in retried] == [first.id, third.id]
        assert (retried[0].attempts, retried[0].last_error) == (1, "503 from server")
        u.outbox.mark_failed(first.id, NOW + timedelta(seconds=40), NOW, "timeout")  # never due in the past
        assert u.outbox.due("mattermost", NOW + timedelta(seconds=39), 10)[0].id == third.id
        assert u.outbox.prune(NOW + timedelta(seconds=1)) == 1


def test_marking_an_unknown_outbox_item_raises_record_not_found(store: Store) -> None:
    with pytest.raises(RecordNotFound), store.unit() as u:
        u.outbox.mark_sent(404, NOW)


def test_a_checkpoint_moves_the_write_ahead_log_into_the_database_file(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'wal.db'}")
    store.migrate()
    with store.unit() as u:
        for n in range(200):
            u.cursors.set(f"c{n}", "x" * 500)
    before = os.path.getsize(tmp_path / "wal.db")
    store.checkpoint()
    assert os.path.getsize(tmp_path / "wal.db") > before  # the pages reached the main file
    with store.unit() as u:
        assert u.cursors.get("c199") == "x" * 500
    store.close()


def grow_wal(store: Store, units: int, start: int = 0, bound_every: int = 0) -> None:
    for n in range(start, start + units):
        if bound_every and n % bound_every == 0:
            store.bound_wal()  # as the bot's checkpoint loop, between two commands
        with store.unit() as u:
            u.inbox.claim("mattermost", f"post-{n}", NOW)
            item = u.outbox.enqueue(platform="mattermost", channel_id="c", thread_id=f"post-{n}",
                                    text="x" * 300, now=NOW)
        with store.unit() as u:
            u.outbox.mark_sent(item.id, NOW)


def wal_pages(path: Path) -> int:
    """How many pages the log at ``path`` holds (its content, whatever the file's length)."""
    with closing(sqlite3.connect(path)) as db:
        _, pages, _ = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return int(pages)


def test_a_write_ahead_log_grown_past_its_limit_is_checkpointed_and_started_again(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'wal.db'}")
    store.migrate()
    store.bind_loop_thread()
    grow_wal(store, 1200)
    assert store.wal_bytes() > WAL_LIMIT_BYTES
    store.checkpoint()  # a passive checkpoint leaves the file as long as it was
    assert store.wal_bytes() > WAL_LIMIT_BYTES
    long_log = wal_pages(tmp_path / "wal.db")
    assert long_log * PAGE_SIZE > WAL_LIMIT_BYTES
    assert store.bound_wal()
    grow_wal(store, 10, start=1200)  # and the log starts again from its beginning, the rows all there
    assert 0 < wal_pages(tmp_path / "wal.db") < long_log // 50
    assert store.wal_bytes() <= WAL_LIMIT_BYTES  # the file cut back
    with store.unit() as u:
        assert u.outbox.unsent("mattermost", NOW + timedelta(days=1), NOW + timedelta(days=2)) == []
        assert u.inbox.claim("mattermost", "post-1209", NOW) is False
    store.close()


def test_the_write_ahead_log_stays_bounded_while_a_thread_checkpoints_under_steady_writes(
        tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'wal.db'}")
    store.migrate()
    store.bind_loop_thread()  # as the running bot: one kept connection writes
    stop = threading.Event()
    largest = 0

    def checkpointer() -> None:
        nonlocal largest
        while not stop.wait(0.05):
            largest = max(largest, store.wal_bytes())
            store.checkpoint()

    thread = threading.Thread(target=checkpointer)
    thread.start()
    try:
        grow_wal(store, 6000, bound_every=50)
    finally:
        stop.set()
        thread.join()
    assert 0 < largest < 2 * WAL_LIMIT_BYTES
    store.close()


def test_driver_level_rows_read_back_through_sqlalchemy_like_its_own(store: Store) -> None:
    """Claim and outbox statements bypass SQLAlchemy; their times must sort and read back alike."""
    buenos_aires = timezone(timedelta(hours=-3))
    local = datetime(2025, 3, 30, 9, 0, 0, 5, tzinfo=buenos_aires)  # 12:00:00.000005 UTC
    with store.unit() as u:
        queued = u.outbox.enqueue(platform="mattermost", channel_id="c", thread_id=None, text="x", now=local)
        assert u.inbox.claim("mattermost", "m1", local)
    with store.unit() as u:
        (read,) = u.outbox.due("mattermost", NOW + timedelta(microseconds=5), 10)
        assert read == queued and read.created_at.tzinfo == UTC
        assert u.outbox.due("mattermost", NOW + timedelta(microseconds=4), 10) == []
        assert u.inbox.prune(NOW + timedelta(microseconds=5)) == 0
        assert u.inbox.prune(NOW + timedelta(microseconds=6)) == 1


# --- the preferences cache and the kept connection ----------------------------------------

def test_cached_preferences_follow_committed_changes_only(store: Store) -> None:
    store.bind_loop_thread()
    with store.unit() as u:
        assert u.users.get("mattermost", "ana") is None  # cached as "none"
    with store.unit() as u:
        u.users.set_zone("mattermost", "ana", "Europe/London", NOW)
    with store.unit() as u:
        prefs = u.users.get("mattermost", "ana")
        assert prefs is not None and prefs.zone == "Europe/London"
    with pytest.raises(RuntimeError), store.unit() as u:
        u.users.set_zone("mattermost", "ana", "Asia/Tokyo", NOW)
        changed = u.users.get("mattermost", "ana")
        assert changed is not None and changed.zone == "Asia/Tokyo"  # the unit sees its own write
        raise RuntimeError("roll back")
    with store.unit() as u:
        prefs = u.users.get("mattermost", "ana")
        assert prefs is not None and prefs.zone == "Europe/London"


def test_a_change_made_on_another_thread_is_not_hidden_by_the_cache(store: Store) -> None:
    store.bind_loop_thread()
    with store.unit() as u:
        assert u.users.get("mattermost", "ana") is None  # cached

    def elsewhere() -> None:
        with store.unit() as other:
            other.users.set_lang("mattermost", "ana", "es", NOW)

    worker = threading.Thread(target=elsewhere)
    worker.start()
    worker.join()
    with store.unit() as u:
        prefs = u.users.get("mattermost", "ana")
        assert prefs is not None and prefs.lang == "es"


def test_a_unit_inside_a_unit_on_the_loop_thread_fails_at_once(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'nested.db'}")
    store.migrate()
    store.bind_loop_thread()
    with pytest.raises(RuntimeError, match="inside another unit"), store.unit(), store.unit():
        pass  # on the pool it would wait for the outer unit's write lock: 10 s, then fail
    store.close()


def test_a_failing_driver_level_statement_is_a_storage_error(store: Store) -> None:
    with store.unit() as u:
        u.cursors.set("x", "1")
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE inbox")
    with pytest.raises(StorageError), store.unit() as u:
        u.inbox.claim("mattermost", "m1", NOW)


def test_the_loop_threads_sqlite_units_share_a_connection_other_threads_use_the_pool(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'kept.db'}")
    store.migrate()
    store.bind_loop_thread()
    kept = store._kept
    assert kept is not None
    seen: list[object] = []
    with store.unit() as u:
        seen.append(u.cursors._conn)
        u.cursors.set("here", "1")
    with store.unit() as u:
        seen.append(u.cursors._conn)

    def elsewhere() -> None:
        with store.unit() as other:
            seen.append(other.cursors._conn)
            other.cursors.set("there", "2")

    worker = threading.Thread(target=elsewhere)
    worker.start()
    worker.join()
    assert seen[0] is kept and seen[1] is kept and seen[2] is not kept
    with store.unit() as u:
        assert (u.cursors.get("here"), u.cursors.get("there")) == ("1", "2")
    store.close()


# --- agenda ----------------------------------------------------------------------------------

def test_agenda_items_keep_their_order_and_close_gaps_when_one_goes(store: Store) -> None:
    with store.unit() as u:
        call_id = add_call(u)
        other = add_call(u, title="other")
        first = u.agenda.add(call_id, ["Introductions", "Survey"], added_by="ana", now=NOW, source="post 2")
        (third,) = u.agenda.add(call_id, ["Next gathering"], added_by="ben", now=NOW)
        u.agenda.add(other, ["Elsewhere"], added_by="ben", now=NOW)
    assert [(i.position, i.text, i.source) for i in first] == [(1, "Introductions", "post 2"), (2, "Survey", "post 2")]
    assert (third.position, third.added_by, third.source, third.created_at) == (3, "ben", None, NOW)
    with store.unit() as u:
        removed = u.agenda.remove(call_id, 2)
        assert removed is not None and removed.text == "Survey"
        assert u.agenda.remove(call_id, 3) is None  # "Next gathering" moved up to 2
    with store.unit() as u:
        assert [(i.position, i.text) for i in u.agenda.for_call(call_id)] == [(1, "Introductions"), (2, "Next gathering")]
        assert [(i.position, i.text) for i in u.agenda.for_call(other)] == [(1, "Elsewhere")]
        (fourth,) = u.agenda.add(call_id, ["AOB"], added_by="ana", now=NOW)
        assert fourth.position == 3


def test_the_agendas_of_several_calls_are_read_at_once(store: Store) -> None:
    with store.unit() as u:
        one, two, three = add_call(u), add_call(u), add_call(u)
        u.agenda.add(two, ["b1", "b2"], added_by="ana", now=NOW)
        u.agenda.add(one, ["a1"], added_by="ana", now=NOW)
        u.agenda.add(two, ["b3"], added_by="bo", now=NOW)
    with store.unit() as u:
        found = u.agenda.for_calls([one, two, three])
    assert {call: [i.text for i in items] for call, items in found.items()} == {one: ["a1"], two: ["b1", "b2", "b3"]}


def test_agenda_of_a_call_that_does_not_exist_is_refused(store: Store) -> None:
    with pytest.raises(RecordNotFound), store.unit() as u:
        u.agenda.add(404, ["x"], added_by="ana", now=NOW)
    with pytest.raises(RecordNotFound), store.unit() as u:
        u.agenda.remove(404, 1)


def test_the_next_call_here_is_found_by_channel_and_thread(store: Store) -> None:
    with store.unit() as u:
        later = u.calls.add(title="later", starts_at=NOW + timedelta(days=2), duration_minutes=60, coops=[],
                            created_by="ana", platform="discourse", channel_id="42", thread_id="1", now=NOW).id
        sooner = u.calls.add(title="sooner", starts_at=NOW + timedelta(days=1), duration_minutes=60, coops=[],
                             created_by="ana", platform="discourse", channel_id="42", thread_id="7", now=NOW).id
        add_call(u, starts_at=NOW + timedelta(hours=1))  # sooner still, in another channel
    with store.unit() as u:
        def next_id(**where: str) -> int | None:
            found = u.calls.next_scheduled(NOW, **where)
            return None if found is None else found.id
        assert next_id(platform="discourse", channel_id="42") == sooner
        assert next_id(platform="discourse", channel_id="42", thread_id="1") == later
        assert next_id(platform="discourse", channel_id="43") is None
        assert next_id() not in (None, sooner, later)
