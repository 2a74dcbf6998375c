"""Initial schema: users, channels, calls, reminders, inbox, outbox, cursors.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

A migration is a frozen copy of the schema at its revision, so the types are
spelled out here rather than imported from bot.storage.schema.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PLATFORM = sa.String(32)
EXTERNAL_ID = sa.String(255)


def utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("platform", PLATFORM, nullable=False),
        sa.Column("user_id", EXTERNAL_ID, nullable=False),
        sa.Column("zone", sa.String(64)),
        sa.Column("lang", sa.String(16)),
        sa.Column("updated_at", utc(), nullable=False),
        sa.PrimaryKeyConstraint("platform", "user_id", name="pk_users"),
    )
    op.create_table(
        "channels",
        sa.Column("platform", PLATFORM, nullable=False),
        sa.Column("channel_id", EXTERNAL_ID, nullable=False),
        sa.Column("lang", sa.String(16)),
        sa.PrimaryKeyConstraint("platform", "channel_id", name="pk_channels"),
    )
    op.create_table(
        "calls",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("starts_at", utc(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("coops", sa.JSON(), nullable=False),
        sa.Column("created_by", EXTERNAL_ID, nullable=False),
        sa.Column("platform", PLATFORM, nullable=False),
        sa.Column("channel_id", EXTERNAL_ID, nullable=False),
        sa.Column("thread_id", EXTERNAL_ID),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", utc(), nullable=False),
        sa.Column("updated_at", utc(), nullable=False),
        sa.CheckConstraint("status IN ('scheduled', 'cancelled')", name=op.f("ck_calls_status")),
        sa.CheckConstraint("duration_minutes > 0", name=op.f("ck_calls_duration_positive")),
        sa.PrimaryKeyConstraint("id", name="pk_calls"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_calls_status_starts_at", "calls", ["status", "starts_at"])
    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("offset_minutes", sa.Integer(), nullable=False),
        sa.Column("due_at", utc(), nullable=False),
        sa.Column("fired_at", utc()),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name="fk_reminders_call_id_calls", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_reminders"),
        sa.UniqueConstraint("call_id", "offset_minutes", name="uq_reminders_call_id_offset_minutes"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_reminders_fired_at_due_at", "reminders", ["fired_at", "due_at"])
    op.create_table(
        "inbox",
        sa.Column("platform", PLATFORM, nullable=False),
        sa.Column("message_id", EXTERNAL_ID, nullable=False),
        sa.Column("handled_at", utc(), nullable=False),
        sa.PrimaryKeyConstraint("platform", "message_id", name="pk_inbox"),
    )
    op.create_index("ix_inbox_handled_at", "inbox", ["handled_at"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("platform", PLATFORM, nullable=False),
        sa.Column("channel_id", EXTERNAL_ID, nullable=False),
        sa.Column("thread_id", EXTERNAL_ID),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", utc(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", utc(), nullable=False),
        sa.Column("sent_at", utc()),
        sa.Column("last_error", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_outbox_platform_sent_at_next_attempt_at",
        "outbox",
        ["platform", "sent_at", "next_attempt_at"],
    )
    op.create_table(
        "cursors",
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_cursors"),
    )


def downgrade() -> None:
    for table in ("cursors", "outbox", "inbox", "reminders", "calls", "channels", "users"):
        op.drop_table(table)
