from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from wenzheng.db import Base, UTCDateTime, utcnow


class EncryptionMode:
    PLAINTEXT = "plaintext"
    COMPATIBLE = "compatible"
    SAFE = "safe"
    ALL = (PLAINTEXT, COMPATIBLE, SAFE)


class AccountType:
    SUBSCRIPTION = "subscription"  # 订阅号: one mass send a day
    SERVICE = "service"  # 服务号: four mass sends a month
    ALL = (SUBSCRIPTION, SERVICE)


class WeChatBinding(Base):
    """An account's connection to its WeChat Official Account: what the agency entered on both sides."""

    __tablename__ = "wechat_bindings"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), unique=True)
    app_id: Mapped[str] = mapped_column(String(64))
    # Encrypted at rest with a key derived from WENZHENG_SECRET_KEY (see wenzheng.vault).
    app_secret_encrypted: Mapped[str] = mapped_column(Text, default="")
    original_id: Mapped[str] = mapped_column(String(64), default="")
    token: Mapped[str] = mapped_column(String(32))
    aes_key: Mapped[str] = mapped_column(String(43), default="")
    # Kept after a key change so pushes encrypted with the old key still decrypt (WeChat's FAQ advice).
    previous_aes_key: Mapped[str] = mapped_column(String(43), default="")
    encryption_mode: Mapped[str] = mapped_column(String(16), default=EncryptionMode.SAFE)
    account_type: Mapped[str] = mapped_column(String(16), default=AccountType.SERVICE)
    welcome_text: Mapped[str] = mapped_column(Text, default="")
    # A template (模板消息) with the fields thing1 (title) and time2 (time) for bulletins once mass sends run out.
    bulletin_template_id: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WeChatAccessToken(Base):
    """The one access token of an account, shared by every process; refreshed by one of them at a time."""

    __tablename__ = "wechat_access_tokens"
    __audited__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), unique=True)
    access_token: Mapped[str] = mapped_column(String(1024), default="")
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    refreshed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    refresh_count: Mapped[int] = mapped_column(default=0)


class MassSend(Base):
    """One 群发 to all followers or to a tag; MASSSENDJOBFINISH fills in the outcome."""

    __tablename__ = "wechat_mass_sends"
    __audited__ = False  # created by the audited do_mass_send action; updated by WeChat's report

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    client_msg_id: Mapped[str] = mapped_column(String(64), unique=True)
    tag_id: Mapped[int | None] = mapped_column(nullable=True)
    msgtype: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text, default="")
    media_id: Mapped[str] = mapped_column(String(200), default="")
    state: Mapped[str] = mapped_column(String(16), default="queued")
    wechat_msg_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    status: Mapped[str | None] = mapped_column(String(64), nullable=True)
    total_count: Mapped[int | None] = mapped_column(nullable=True)
    filter_count: Mapped[int | None] = mapped_column(nullable=True)
    sent_count: Mapped[int | None] = mapped_column(nullable=True)
    error_count: Mapped[int | None] = mapped_column(nullable=True)
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


# MASSSENDJOBFINISH's numbers and the columns they are kept in, on a MassSend and on a bulletin's report alike.
MASS_COUNTS = {
    "TotalCount": "total_count",
    "FilterCount": "filter_count",
    "SentCount": "sent_count",
    "ErrorCount": "error_count",
}


def note_mass_outcome(row: Any, status: str, counts: Mapping[str, int | None] | None) -> None:
    """Write how a mass send ended onto ``row`` (a ``MassSend``, or a bulletin's ``BulletinWeChatReport``): the
    status, WeChat's numbers when it gave them (``/message/mass/get`` gives none), and when it was first heard."""
    row.status = status[:64]
    if counts is not None:
        for name, column in MASS_COUNTS.items():
            setattr(row, column, counts[name])
    row.finished_at = row.finished_at or utcnow()
