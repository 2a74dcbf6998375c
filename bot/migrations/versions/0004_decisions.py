"""The decision log: decisions, every version of each, and their tags.

Revision ID: 0004
Revises: 0003
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.String(255)
_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer()),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("channel_id", _ID, nullable=False),
        sa.Column("thread_id", _ID),
        sa.Column("channel_name", _ID),
        sa.Column("link", sa.Text()),
        sa.Column("created_by", _ID, nullable=False),
        sa.Column("created_by_id", _ID, nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("updated_at", _WHEN, nullable=False),
        sa.CheckConstraint("status IN ('active', 'retracted')", name=op.f("ck_decisions_status")),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"], name="fk_decisions_call_id_calls"),
        sa.PrimaryKeyConstraint("id", name="pk_decisions"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_decisions_call_id", "decisions", ["call_id"])
    op.create_index("ix_decisions_created_at", "decisions", ["created_at"])
    op.create_table(
        "decision_versions",
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("changed_by", _ID, nullable=False),
        sa.Column("changed_by_id", _ID, nullable=False),
        sa.Column("changed_at", _WHEN, nullable=False),
        sa.ForeignKeyConstraint(["decision_id"], ["decisions.id"], name="fk_decision_versions_decision_id_decisions"),
        sa.PrimaryKeyConstraint("decision_id", "version", name="pk_decision_versions"),
    )
    op.create_table(
        "decision_tags",
        sa.Column("tag", sa.String(64), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["decision_id"], ["decisions.id"], name="fk_decision_tags_decision_id_decisions"),
        sa.PrimaryKeyConstraint("tag", "decision_id", name="pk_decision_tags"),
    )
    op.create_index("ix_decision_tags_decision_id", "decision_tags", ["decision_id"])


def downgrade() -> None:
    op.drop_index("ix_decision_tags_decision_id", table_name="decision_tags")
    op.drop_table("decision_tags")
    op.drop_table("decision_versions")
    op.drop_index("ix_decisions_created_at", table_name="decisions")
    op.drop_index("ix_decisions_call_id", table_name="decisions")
    op.drop_table("decisions")
