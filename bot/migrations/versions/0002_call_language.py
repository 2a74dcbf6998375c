"""Calls remember the language they were scheduled in, so reminders speak it.

Revision ID: 0002
Revises: 0001
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("lang", sa.String(16)))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("lang")
