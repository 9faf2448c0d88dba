from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from wenzheng.db import Base, UTCDateTime, utcnow


class BulletinKind:
    NOTICE = "notice"
    NEWS = "news"
    ALERT = "alert"  # an emergency alert: carries the CAP fields and has a CAP 1.2 document

    ALL = (NOTICE, NEWS, ALERT)


class BulletinState:
    DRAFT = "draft"
    PENDING = "pending"  # submitted, waiting for an approver other than its author
    SCHEDULED = "scheduled"  # approved; the fan-out starts at scheduled_for
    SENDING = "sending"
    SENT = "sent"
    CANCELLED = "cancelled"

    ALL = (DRAFT, PENDING, SCHEDULED, SENDING, SENT, CANCELLED)
    EDITABLE = (DRAFT,)
    PUBLISHED = (SENDING, SENT)


class Bulletin(Base):
    """One publication of an account: a notice, a news item or an emergency alert."""

    __tablename__ = "bulletins"
    __table_args__ = (Index("ix_bulletins_account_id_state", "account_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16), default=BulletinKind.NOTICE)
    state: Mapped[str] = mapped_column(String(16), default=BulletinState.DRAFT)
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(500), default="")
    # An optional picture, kept in the content-addressed attachment store.
    image_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    image_content_type: Mapped[str] = mapped_column(String(100), default="")
    # Who receives it: {"tags": [...], "regions": ["511826", ...], "channels": ["wechat", ...]}; empty = everyone.
    audience: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    audience_count: Mapped[int | None] = mapped_column(nullable=True)  # counted when it was approved
    # The bulletin in other languages, for the followers who read them (bulletins.languages):
    # {"en": {"title": ..., "body": ..., "instruction": ..., "event": ..., "area_desc": ...}}.
    translations: Mapped[dict[str, dict[str, str]]] = mapped_column(JSON, default=dict, server_default="{}")

    # The CAP 1.2 fields of an alert (see bulletins.cap); empty for notices and news.
    cap_event: Mapped[str] = mapped_column(String(100), default="")
    cap_category: Mapped[str] = mapped_column(String(16), default="")
    cap_urgency: Mapped[str] = mapped_column(String(16), default="")
    cap_severity: Mapped[str] = mapped_column(String(16), default="")
    cap_certainty: Mapped[str] = mapped_column(String(16), default="")
    cap_response_type: Mapped[str] = mapped_column(String(16), default="")
    cap_instruction: Mapped[str] = mapped_column(Text, default="")
    warning_colour: Mapped[str] = mapped_column(String(8), default="")  # red, orange, yellow, blue (预警颜色)
    area_desc: Mapped[str] = mapped_column(String(200), default="")
    area_codes: Mapped[list[str]] = mapped_column(JSON, default=list)  # GB/T 2260 six-digit codes
    area_polygon: Mapped[str] = mapped_column(Text, default="")  # CAP "lat,lon lat,lon ..." closed ring
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # An update or withdrawal of an earlier alert (CAP msgType Update/Cancel with references).
    msg_type: Mapped[str] = mapped_column(String(8), default="Alert")
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("bulletins.id", ondelete="SET NULL"), nullable=True)
    # The national identifier an alert got when it went out, from its agency's issuing-unit code (bulletins.cap).
    cap_identifier: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)

    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    approver_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    scheduled_for: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    cancel_reason: Mapped[str] = mapped_column(String(200), default="")


class BulletinFanout(Base):
    """The progress of a bulletin's fan-out: followers are expanded into deliveries in id order."""

    __tablename__ = "bulletin_fanouts"
    __audited__ = False  # moved on by the fan-out job page by page; the bulletin's own changes are audited

    bulletin_id: Mapped[int] = mapped_column(ForeignKey("bulletins.id", ondelete="CASCADE"), primary_key=True)
    cursor: Mapped[int] = mapped_column(default=0)  # the last follower id expanded
    expanded: Mapped[bool] = mapped_column(default=False)
    # How WeChat followers are reached, decided when the fan-out starts (see bulletins.senders).
    wechat_mode: Mapped[str] = mapped_column(String(16), default="")
    pages: Mapped[int] = mapped_column(default=0)


class DeliveryState:
    PENDING = "pending"  # recorded, not yet handed to its channel (or handed and not yet confirmed)
    SENT = "sent"  # accepted by the channel (WeChat, the SMS gateway, the SMTP server, the push service)
    RETRY = "retry"  # a temporary failure; tried again at next_attempt_at
    FAILED = "failed"  # a permanent failure, with its reason
    CANCELLED = "cancelled"  # the bulletin was cancelled before this one went out

    ALL = (PENDING, SENT, RETRY, FAILED, CANCELLED)
    OPEN = (PENDING, RETRY)


class BulletinDelivery(Base):
    """One follower's copy of a bulletin on one channel; unique, so a resumed fan-out never doubles it."""

    __tablename__ = "bulletin_deliveries"
    __audited__ = False  # written in bulk by the fan-out job; the bulletin's own actions are audited
    __table_args__ = (
        UniqueConstraint("bulletin_id", "follower_id"),
        Index("ix_bulletin_deliveries_bulletin_id_state", "bulletin_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bulletin_id: Mapped[int] = mapped_column(ForeignKey("bulletins.id", ondelete="CASCADE"))
    follower_id: Mapped[int] = mapped_column(ForeignKey("followers.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default=DeliveryState.PENDING)
    via: Mapped[str] = mapped_column(String(24), default="")  # wechat_mass, wechat_template, sms, email, webpush...
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    reason: Mapped[str] = mapped_column(String(200), default="")
    provider_ref: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class BulletinWeChatReport(Base):
    """WeChat's own count for one of a bulletin's mass sends (the sendall, or one OpenID list of ≤ 10,000):
    created when WeChat takes the send, filled by its MASSSENDJOBFINISH event (how many it sent, filtered out
    because the follower blocked the account or left, or failed). WeChat gives no per-follower outcome."""

    __tablename__ = "bulletin_wechat_reports"
    __audited__ = False  # written by the fan-out and by WeChat's events
    __table_args__ = (UniqueConstraint("account_id", "msg_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bulletin_id: Mapped[int] = mapped_column(ForeignKey("bulletins.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    msg_id: Mapped[str] = mapped_column(String(64))
    handed: Mapped[int] = mapped_column(default=0)  # OpenIDs we handed over with it (0 for a sendall)
    status: Mapped[str | None] = mapped_column(String(64), nullable=True)  # "send success", "err(10012)" …
    total_count: Mapped[int | None] = mapped_column(nullable=True)
    filter_count: Mapped[int | None] = mapped_column(nullable=True)
    sent_count: Mapped[int | None] = mapped_column(nullable=True)
    error_count: Mapped[int | None] = mapped_column(nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class PushSubscription(Base):
    """A browser's Web Push subscription (RFC 8030) for one account's bulletins, behind a ``webpush`` follower."""

    __tablename__ = "push_subscriptions"
    __audited__ = False  # created by citizens from the public page; pruned by the push service's answers
    __table_args__ = (UniqueConstraint("account_id", "endpoint_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    follower_id: Mapped[int] = mapped_column(ForeignKey("followers.id", ondelete="CASCADE"), unique=True)
    endpoint: Mapped[str] = mapped_column(Text)
    endpoint_hash: Mapped[str] = mapped_column(String(64))  # sha256 of the endpoint: unique, indexable
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_success_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    failures: Mapped[int] = mapped_column(default=0)


class DeploymentKey(Base):
    """A key of the whole deployment kept in the database, sealed by the vault (the VAPID key pair)."""

    __tablename__ = "deployment_keys"
    __audited__ = False  # generated once, on first use

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value_sealed: Mapped[str] = mapped_column(Text)
    public: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RateBucket(Base):
    """A channel's token bucket shared by every worker process (bulletins.pace), on PostgreSQL."""

    __tablename__ = "rate_buckets"
    __audited__ = False  # pacing state, not a change anyone made

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float, nullable=False)
    refilled_at: Mapped[float] = mapped_column(Float, nullable=False)  # seconds since the epoch, the workers' clock
