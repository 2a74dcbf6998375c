"""Consent proposals and every position taken on them.

Revision ID: 0005
Revises: 0004
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.String(255)
_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "proposals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16)),
        sa.Column("quorum", sa.Integer(), nullable=False),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("deadline_at", _WHEN, nullable=False),
        sa.Column("remind_at", _WHEN),
        sa.Column("reminded_at", _WHEN),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("channel_id", _ID, nullable=False),
        sa.Column("thread_id", _ID),
        sa.Column("channel_name", _ID),
        sa.Column("link", sa.Text()),
        sa.Column("lang", sa.String(16), nullable=False),
        sa.Column("created_by", _ID, nullable=False),
        sa.Column("created_by_id", _ID, nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("closed_at", _WHEN),
        sa.Column("closed_by", _ID),
        sa.Column("decision_id", sa.Integer()),
        sa.CheckConstraint("status IN ('open', 'closed')", name=op.f("ck_proposals_status")),
        sa.CheckConstraint("outcome IN ('consented', 'objections', 'no_quorum', 'blocked')",
                           name=op.f("ck_proposals_outcome")),
        sa.CheckConstraint("quorum >= 1", name=op.f("ck_proposals_quorum_positive")),
        sa.ForeignKeyConstraint(["decision_id"], ["decisions.id"], name="fk_proposals_decision_id_decisions"),
        sa.PrimaryKeyConstraint("id", name="pk_proposals"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_proposals_status_deadline_at", "proposals", ["status", "deadline_at"])
    op.create_table(
        "proposal_positions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("member_id", _ID, nullable=False),
        sa.Column("member_name", _ID, nullable=False),
        sa.Column("stance", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("taken_at", _WHEN, nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("replaces_id", sa.Integer()),
        sa.CheckConstraint("stance IN ('agree', 'abstain', 'object', 'block')",
                           name=op.f("ck_proposal_positions_stance")),
        sa.ForeignKeyConstraint(["proposal_id"], ["proposals.id"],
                                name="fk_proposal_positions_proposal_id_proposals"),
        sa.PrimaryKeyConstraint("id", name="pk_proposal_positions"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_proposal_positions_proposal_id_id", "proposal_positions", ["proposal_id", "id"])
    op.create_index("ix_proposal_positions_proposal_id_member_id_current", "proposal_positions",
                    ["proposal_id", "member_id", "current"])


def downgrade() -> None:
    op.drop_index("ix_proposal_positions_proposal_id_member_id_current", table_name="proposal_positions")
    op.drop_index("ix_proposal_positions_proposal_id_id", table_name="proposal_positions")
    op.drop_table("proposal_positions")
    op.drop_index("ix_proposals_status_deadline_at", table_name="proposals")
    op.drop_table("proposals")
