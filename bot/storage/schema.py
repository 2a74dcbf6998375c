"""The tables, as SQLAlchemy Core metadata.

This is the model the repositories query and alembic compares against; the
database itself is only ever created and changed by the migrations in
``bot/migrations`` (a test checks that both agree). Row ids that scheduler jobs
refer to (calls, reminders, outbox), and agenda items, use ``sqlite_autoincrement``
so SQLite never hands a deleted id out again, as PostgreSQL sequences never do.
"""
from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from bot.storage.types import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

PLATFORM = String(32)
EXTERNAL_ID = String(255)  # ids that platforms give us: users, channels, threads, messages

users = Table(
    "users",
    metadata,
    Column("platform", PLATFORM, primary_key=True),
    Column("user_id", EXTERNAL_ID, primary_key=True),
    Column("zone", String(64)),
    Column("lang", String(16)),
    Column("updated_at", UTCDateTime(), nullable=False),
)

channels = Table(
    "channels",
    metadata,
    Column("platform", PLATFORM, primary_key=True),
    Column("channel_id", EXTERNAL_ID, primary_key=True),
    Column("lang", String(16)),
)

calls = Table(
    "calls",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("title", Text, nullable=False),
    Column("starts_at", UTCDateTime(), nullable=False),
    Column("duration_minutes", Integer, nullable=False),
    Column("coops", JSON, nullable=False),
    Column("created_by", EXTERNAL_ID, nullable=False),
    Column("platform", PLATFORM, nullable=False),
    Column("channel_id", EXTERNAL_ID, nullable=False),
    Column("thread_id", EXTERNAL_ID),
    Column("status", String(16), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("lang", String(16)),  # the language it was scheduled in (revision 0002)
    CheckConstraint("status IN ('scheduled', 'cancelled')", name="status"),
    CheckConstraint("duration_minutes > 0", name="duration_positive"),
    Index(None, "status", "starts_at"),
    sqlite_autoincrement=True,
)

reminders = Table(
    "reminders",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("call_id", Integer, ForeignKey("calls.id", ondelete="CASCADE"), nullable=False),
    Column("offset_minutes", Integer, nullable=False),
    Column("due_at", UTCDateTime(), nullable=False),
    Column("fired_at", UTCDateTime()),
    UniqueConstraint("call_id", "offset_minutes"),
    Index(None, "fired_at", "due_at"),
    sqlite_autoincrement=True,
)

agenda_items = Table(
    "agenda_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("call_id", Integer, ForeignKey("calls.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),  # 1, 2, 3… within the call; renumbered on removal
    Column("text", Text, nullable=False),
    Column("added_by", EXTERNAL_ID, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("source", String(64)),  # where the item was read from, e.g. "post 3"; None when typed in
    CheckConstraint("position > 0", name="position_positive"),
    Index(None, "call_id", "position"),
    sqlite_autoincrement=True,
)  # revision 0003. No unique (call_id, position): renumbering shifts rows one by one

decisions = Table(
    "decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("text", Text, nullable=False),  # the current version's, as written (escaped when rendered)
    Column("status", String(16), nullable=False),
    Column("version", Integer, nullable=False),  # the current version's number, 1 when recorded
    Column("call_id", Integer, ForeignKey("calls.id")),
    Column("platform", PLATFORM, nullable=False),
    Column("channel_id", EXTERNAL_ID, nullable=False),
    Column("thread_id", EXTERNAL_ID),
    Column("channel_name", EXTERNAL_ID),
    Column("link", Text),  # the post it was recorded in, where the platform gives links
    Column("created_by", EXTERNAL_ID, nullable=False),  # a display name; the id beside it
    Column("created_by_id", EXTERNAL_ID, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    CheckConstraint("status IN ('active', 'retracted')", name="status"),
    Index(None, "call_id"),
    Index(None, "created_at"),
    sqlite_autoincrement=True,
)  # revision 0004

decision_versions = Table(
    "decision_versions",
    metadata,
    Column("decision_id", Integer, ForeignKey("decisions.id"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("text", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("changed_by", EXTERNAL_ID, nullable=False),
    Column("changed_by_id", EXTERNAL_ID, nullable=False),
    Column("changed_at", UTCDateTime(), nullable=False),
)  # revision 0004: every version, the first included; nothing is ever deleted

decision_tags = Table(
    "decision_tags",
    metadata,
    Column("tag", String(64), primary_key=True),  # lower-cased, without the "#"
    Column("decision_id", Integer, ForeignKey("decisions.id"), primary_key=True),
    Index(None, "decision_id"),
)  # revision 0004; keyed by tag first: "decisions #tag" walks one tag's ids

proposals = Table(
    "proposals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("text", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("outcome", String(16)),  # set when closed
    Column("quorum", Integer, nullable=False),
    Column("members", JSON, nullable=False),  # usernames named with "with", as written
    Column("deadline_at", UTCDateTime(), nullable=False),
    Column("remind_at", UTCDateTime()),  # None: no reminder
    Column("reminded_at", UTCDateTime()),
    Column("platform", PLATFORM, nullable=False),
    Column("channel_id", EXTERNAL_ID, nullable=False),
    Column("thread_id", EXTERNAL_ID),
    Column("channel_name", EXTERNAL_ID),
    Column("link", Text),
    Column("lang", String(16), nullable=False),
    Column("created_by", EXTERNAL_ID, nullable=False),
    Column("created_by_id", EXTERNAL_ID, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("closed_at", UTCDateTime()),
    Column("closed_by", EXTERNAL_ID),  # None: closed by its deadline
    Column("decision_id", Integer, ForeignKey("decisions.id")),  # the outcome, as recorded
    CheckConstraint("status IN ('open', 'closed')", name="status"),
    CheckConstraint("outcome IN ('consented', 'objections', 'no_quorum', 'blocked')", name="outcome"),
    CheckConstraint("quorum >= 1", name="quorum_positive"),
    Index(None, "status", "deadline_at"),
    sqlite_autoincrement=True,
)  # revision 0005

proposal_positions = Table(
    "proposal_positions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("proposal_id", Integer, ForeignKey("proposals.id"), nullable=False),
    Column("member_id", EXTERNAL_ID, nullable=False),
    Column("member_name", EXTERNAL_ID, nullable=False),
    Column("stance", String(16), nullable=False),
    Column("reason", Text),
    Column("taken_at", UTCDateTime(), nullable=False),
    Column("current", Boolean, nullable=False),  # the member's latest: their position now
    Column("replaces_id", Integer),  # the member's position before this one
    CheckConstraint("stance IN ('agree', 'abstain', 'object', 'block')", name="stance"),
    Index(None, "proposal_id", "id"),
    Index(None, "proposal_id", "member_id", "current"),
    sqlite_autoincrement=True,
)  # revision 0005: every position taken, in order; a member's latest is their position

inbox = Table(
    "inbox",
    metadata,
    Column("platform", PLATFORM, primary_key=True),
    Column("message_id", EXTERNAL_ID, primary_key=True),
    Column("handled_at", UTCDateTime(), nullable=False, index=True),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("platform", PLATFORM, nullable=False),
    Column("channel_id", EXTERNAL_ID, nullable=False),
    Column("thread_id", EXTERNAL_ID),
    Column("text", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("sent_at", UTCDateTime()),
    Column("last_error", Text),
    Column("posted_ids", Text),  # the platform's ids of the parts posted so far, a JSON list
    Index(None, "platform", "sent_at", "next_attempt_at"),
    sqlite_autoincrement=True,
)

cursors = Table(
    "cursors",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("value", Text, nullable=False),
)
