"""bulletin WeChat reports: WeChat's MASSSENDJOBFINISH counts for each of a bulletin's mass sends

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28 09:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import wenzheng.db

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bulletin_wechat_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bulletin_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("msg_id", sa.String(length=64), nullable=False),
        sa.Column("handed", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=64), nullable=True),
        sa.Column("total_count", sa.Integer(), nullable=True),
        sa.Column("filter_count", sa.Integer(), nullable=True),
        sa.Column("sent_count", sa.Integer(), nullable=True),
        sa.Column("error_count", sa.Integer(), nullable=True),
        sa.Column("created_at", wenzheng.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", wenzheng.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["bulletin_id"], ["bulletins.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "msg_id"),
    )
    with op.batch_alter_table("bulletin_wechat_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bulletin_wechat_reports_bulletin_id"), ["bulletin_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("bulletin_wechat_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bulletin_wechat_reports_bulletin_id"))
    op.drop_table("bulletin_wechat_reports")
