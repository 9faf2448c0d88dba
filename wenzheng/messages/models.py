from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from wenzheng.db import Base, UTCDateTime, utcnow


class Direction:
    INBOUND = "in"
    OUTBOUND = "out"


class Message(Base):
    """One item on a channel. Inbound rows are unique on (account, channel, channel_message_id)."""

    __tablename__ = "messages"
    __audited__ = False  # what citizens send is itself the record; staff changes go through audited actions
    __table_args__ = (
        UniqueConstraint("account_id", "channel", "channel_message_id"),
        Index("ix_messages_agency_id_received_at", "agency_id", "received_at"),
        Index("ix_messages_citizen_id_received_at", "citizen_id", "received_at"),
        Index("ix_messages_triage_pending_id", "triage_pending", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizens.id", ondelete="SET NULL"), nullable=True)
    direction: Mapped[str] = mapped_column(String(3))
    channel: Mapped[str] = mapped_column(String(16))
    # The channel's own id (WeChat MsgId, or FromUserName+CreateTime+Event for events): the de-duplication key.
    channel_message_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    event: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The first message of the conversation this one continues (a follow-up, a reply by e-mail).
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), nullable=True, index=True
    )
    # What the citizen said they are writing (求助 help, 咨询 consultation, 投诉 complaint, 建议 suggestion).
    requested_kind: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # The department or service the sender chose (the Open311 service_code), if any.
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id", ondelete="SET NULL"), nullable=True)
    # The case this message belongs to, once triage has placed it.
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="SET NULL", use_alter=True), nullable=True, index=True
    )
    # The reference a citizen quotes to ask about what they sent (given in the acknowledgement).
    ref: Mapped[str | None] = mapped_column(String(32), nullable=True, unique=True)
    text: Mapped[str] = mapped_column(Text, default="")
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    location_label: Mapped[str | None] = mapped_column(String(500), nullable=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The passive reply decided at intake, kept so that a retried delivery gets the very same answer.
    reply: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    status: Mapped[str] = mapped_column(String(32), default="received")
    # Set by intake on what a citizen wrote; cleared by the triage job once it has assessed the message.
    triage_pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Attachment(Base):
    """A file that came with a message, kept in the content-addressed store once fetched."""

    __tablename__ = "attachments"
    __audited__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    # Where the channel keeps it until fetched (a WeChat MediaId); empty for uploads that arrive with the body.
    channel_media_id: Mapped[str] = mapped_column(String(200), default="")
    state: Mapped[str] = mapped_column(String(16), default="pending")
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    size: Mapped[int | None] = mapped_column(nullable=True)
    content_type: Mapped[str | None] = mapped_column(String(100), nullable=True)
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    stored_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
