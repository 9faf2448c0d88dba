"""citizen channels: sms and e-mail bindings, status links, throttle

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 04:25:38.724730
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import wenzheng.db

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "intake_throttle",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("at", wenzheng.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_throttle")),
    )
    with op.batch_alter_table("intake_throttle", schema=None) as batch_op:
        batch_op.create_index("ix_intake_throttle_scope_key_at", ["scope", "key", "at"], unique=False)

    op.create_table(
        "email_bindings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("created_at", wenzheng.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_email_bindings_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_email_bindings_agency_id_agencies"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_bindings")),
        sa.UniqueConstraint("account_id", name=op.f("uq_email_bindings_account_id")),
        sa.UniqueConstraint("address", name=op.f("uq_email_bindings_address")),
    )
    with op.batch_alter_table("email_bindings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_email_bindings_agency_id"), ["agency_id"], unique=False)

    op.create_table(
        "sms_bindings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("created_at", wenzheng.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_sms_bindings_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_sms_bindings_agency_id_agencies"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_bindings")),
        sa.UniqueConstraint("account_id", name=op.f("uq_sms_bindings_account_id")),
        sa.UniqueConstraint("number", name=op.f("uq_sms_bindings_number")),
    )
    with op.batch_alter_table("sms_bindings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sms_bindings_agency_id"), ["agency_id"], unique=False)

    op.create_table(
        "status_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", wenzheng.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_status_links_agency_id_agencies"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_status_links_message_id_messages"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_status_links_token_hash")),
    )
    with op.batch_alter_table("status_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_status_links_agency_id"), ["agency_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_status_links_message_id"), ["message_id"], unique=False)

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("requested_kind", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("department_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_messages_parent_id"), ["parent_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_messages_parent_id_messages"), "messages", ["parent_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_messages_department_id_departments"),
            "departments",
            ["department_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_messages_department_id_departments"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_messages_parent_id_messages"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_messages_parent_id"))
        batch_op.drop_column("department_id")
        batch_op.drop_column("requested_kind")
        batch_op.drop_column("parent_id")

    with op.batch_alter_table("status_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_status_links_message_id"))
        batch_op.drop_index(batch_op.f("ix_status_links_agency_id"))

    op.drop_table("status_links")
    with op.batch_alter_table("sms_bindings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sms_bindings_agency_id"))

    op.drop_table("sms_bindings")
    with op.batch_alter_table("email_bindings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_email_bindings_agency_id"))

    op.drop_table("email_bindings")
    with op.batch_alter_table("intake_throttle", schema=None) as batch_op:
        batch_op.drop_index("ix_intake_throttle_scope_key_at")

    op.drop_table("intake_throttle")
