"""case time limits and escalation

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 05:09:18.899316
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import wenzheng.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("due_at", wenzheng.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("escalated_at", wenzheng.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_cases_due_at"), ["due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_due_at"))
        batch_op.drop_column("escalated_at")
        batch_op.drop_column("due_at")
