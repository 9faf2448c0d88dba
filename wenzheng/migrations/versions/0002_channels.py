"""channels: citizens, followers, messages, attachments, auto-replies, wechat

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 04:09:34.489764
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import wenzheng.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "citizens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("created_at", wenzheng.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_citizens_agency_id_agencies"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citizens")),
    )
    with op.batch_alter_table("citizens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_citizens_agency_id"), ["agency_id"], unique=False)

    op.create_table(
        "auto_reply_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("match_type", sa.String(length=16), nullable=False),
        sa.Column("pattern", sa.String(length=200), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("reply_type", sa.String(length=16), nullable=False),
        sa.Column("reply_text", sa.Text(), nullable=False),
        sa.Column("articles", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", wenzheng.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_auto_reply_rules_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_auto_reply_rules_agency_id_agencies"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auto_reply_rules")),
    )
    with op.batch_alter_table("auto_reply_rules", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auto_reply_rules_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_auto_reply_rules_agency_id"), ["agency_id"], unique=False)

    op.create_table(
        "citizen_handles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("handle", sa.String(length=200), nullable=False),
        sa.Column("created_at", wenzheng.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_citizen_handles_agency_id_agencies"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["citizen_id"], ["citizens.id"], name=op.f("fk_citizen_handles_citizen_id_citizens"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citizen_handles")),
        sa.UniqueConstraint("agency_id", "channel", "handle", name=op.f("uq_citizen_handles_agency_id_channel_handle")),
    )
    with op.batch_alter_table("citizen_handles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_citizen_handles_agency_id"), ["agency_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_citizen_handles_citizen_id"), ["citizen_id"], unique=False)

    op.create_table(
        "followers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("handle", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("followed_at", wenzheng.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("unfollowed_at", wenzheng.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_latitude", sa.Float(), nullable=True),
        sa.Column("last_longitude", sa.Float(), nullable=True),
        sa.Column("last_location_precision", sa.Float(), nullable=True),
        sa.Column("last_located_at", wenzheng.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_followers_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_followers_agency_id_agencies"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["citizen_id"], ["citizens.id"], name=op.f("fk_followers_citizen_id_citizens"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followers")),
        sa.UniqueConstraint("account_id", "channel", "handle", name=op.f("uq_followers_account_id_channel_handle")),
    )
    with op.batch_alter_table("followers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_followers_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_followers_agency_id"), ["agency_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_followers_citizen_id"), ["citizen_id"], unique=False)

    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=True),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("channel_message_id", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=True),
        sa.Column("ref", sa.String(length=32), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("location_label", sa.String(length=500), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("reply", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("sent_at", wenzheng.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("received_at", wenzheng.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_messages_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_messages_agency_id_agencies"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["citizen_id"], ["citizens.id"], name=op.f("fk_messages_citizen_id_citizens"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint(
            "account_id",
            "channel",
            "channel_message_id",
            name=op.f("uq_messages_account_id_channel_channel_message_id"),
        ),
        sa.UniqueConstraint("ref", name=op.f("uq_messages_ref")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index("ix_messages_agency_id_received_at", ["agency_id", "received_at"], unique=False)
        batch_op.create_index("ix_messages_citizen_id_received_at", ["citizen_id", "received_at"], unique=False)

    op.create_table(
        "wechat_access_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("access_token", sa.String(length=1024), nullable=False),
        sa.Column("expires_at", wenzheng.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("refreshed_at", wenzheng.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("refresh_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_wechat_access_tokens_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_wechat_access_tokens_agency_id_agencies"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wechat_access_tokens")),
        sa.UniqueConstraint("account_id", name=op.f("uq_wechat_access_tokens_account_id")),
    )
    with op.batch_alter_table("wechat_access_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_wechat_access_tokens_agency_id"), ["agency_id"], unique=False)

    op.create_table(
        "wechat_bindings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("app_secret_encrypted", sa.Text(), nullable=False),
        sa.Column("original_id", sa.String(length=64), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("aes_key", sa.String(length=43), nullable=False),
        sa.Column("previous_aes_key", sa.String(length=43), nullable=False),
        sa.Column("encryption_mode", sa.String(length=16), nullable=False),
        sa.Column("account_type", sa.String(length=16), nullable=False),
        sa.Column("welcome_text", sa.Text(), nullable=False),
        sa.Column("created_at", wenzheng.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_wechat_bindings_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_wechat_bindings_agency_id_agencies"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wechat_bindings")),
        sa.UniqueConstraint("account_id", name=op.f("uq_wechat_bindings_account_id")),
    )
    with op.batch_alter_table("wechat_bindings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_wechat_bindings_agency_id"), ["agency_id"], unique=False)

    op.create_table(
        "wechat_mass_sends",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("client_msg_id", sa.String(length=64), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=True),
        sa.Column("msgtype", sa.String(length=16), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("media_id", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("wechat_msg_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=64), nullable=True),
        sa.Column("total_count", sa.Integer(), nullable=True),
        sa.Column("filter_count", sa.Integer(), nullable=True),
        sa.Column("sent_count", sa.Integer(), nullable=True),
        sa.Column("error_count", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("created_at", wenzheng.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", wenzheng.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", wenzheng.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_wechat_mass_sends_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_wechat_mass_sends_agency_id_agencies"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wechat_mass_sends")),
        sa.UniqueConstraint("client_msg_id", name=op.f("uq_wechat_mass_sends_client_msg_id")),
    )
    with op.batch_alter_table("wechat_mass_sends", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_wechat_mass_sends_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_wechat_mass_sends_agency_id"), ["agency_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_wechat_mass_sends_wechat_msg_id"), ["wechat_msg_id"], unique=False)

    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("channel_media_id", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("content_type", sa.String(length=100), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("created_at", wenzheng.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("stored_at", wenzheng.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_attachments_agency_id_agencies"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_attachments_message_id_messages"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
    )
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attachments_agency_id"), ["agency_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_attachments_message_id"), ["message_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attachments_message_id"))
        batch_op.drop_index(batch_op.f("ix_attachments_agency_id"))

    op.drop_table("attachments")
    with op.batch_alter_table("wechat_mass_sends", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wechat_mass_sends_wechat_msg_id"))
        batch_op.drop_index(batch_op.f("ix_wechat_mass_sends_agency_id"))
        batch_op.drop_index(batch_op.f("ix_wechat_mass_sends_account_id"))

    op.drop_table("wechat_mass_sends")
    with op.batch_alter_table("wechat_bindings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wechat_bindings_agency_id"))

    op.drop_table("wechat_bindings")
    with op.batch_alter_table("wechat_access_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wechat_access_tokens_agency_id"))

    op.drop_table("wechat_access_tokens")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_citizen_id_received_at")
        batch_op.drop_index("ix_messages_agency_id_received_at")

    op.drop_table("messages")
    with op.batch_alter_table("followers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_followers_citizen_id"))
        batch_op.drop_index(batch_op.f("ix_followers_agency_id"))
        batch_op.drop_index(batch_op.f("ix_followers_account_id"))

    op.drop_table("followers")
    with op.batch_alter_table("citizen_handles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_citizen_handles_citizen_id"))
        batch_op.drop_index(batch_op.f("ix_citizen_handles_agency_id"))

    op.drop_table("citizen_handles")
    with op.batch_alter_table("auto_reply_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auto_reply_rules_agency_id"))
        batch_op.drop_index(batch_op.f("ix_auto_reply_rules_account_id"))

    op.drop_table("auto_reply_rules")
    with op.batch_alter_table("citizens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_citizens_agency_id"))

    op.drop_table("citizens")
