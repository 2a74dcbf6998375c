"""A call's agenda: numbered items, typed in or read from a post's bullet list.

Revision ID: 0003
Revises: 0002
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agenda_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("added_by", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(64)),
        sa.CheckConstraint("position > 0", name=op.f("ck_agenda_items_position_positive")),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name="fk_agenda_items_call_id_calls", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_agenda_items"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_agenda_items_call_id_position", "agenda_items", ["call_id", "position"])


def downgrade() -> None:
    op.drop_index("ix_agenda_items_call_id_position", table_name="agenda_items")
    op.drop_table("agenda_items")
