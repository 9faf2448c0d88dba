"""personal data retention: how long an agency keeps citizens' personal data after a case ends

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08 01:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import wenzheng.db

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (no batch rebuild): on SQLite a rebuilt `cases` would lose the search triggers of 0015.
    op.add_column("agencies", sa.Column("retention_days", sa.Integer(), nullable=True))
    op.add_column("cases", sa.Column("personal_data_erased_at", wenzheng.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # SQLite 3.35+ drops a column in place; the search triggers do not name these columns.
    op.drop_column("cases", "personal_data_erased_at")
    op.drop_column("agencies", "retention_days")
