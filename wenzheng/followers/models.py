from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from wenzheng.db import Base, UTCDateTime, utcnow


class FollowerState:
    FOLLOWING = "following"
    UNFOLLOWED = "unfollowed"


class Follower(Base):
    __tablename__ = "followers"
    __audited__ = False  # maintained by the channels' own follow and unfollow events
    __table_args__ = (
        UniqueConstraint("account_id", "channel", "handle"),
        Index("ix_followers_account_id_state_id", "account_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    handle: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), default=FollowerState.FOLLOWING)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    followed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    unfollowed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_longitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_location_precision: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_located_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # GB/T 2260 code of the county the follower is in: chosen by them, or the nearest to their last position.
    region_code: Mapped[str | None] = mapped_column(String(6), nullable=True)
    # The language the follower asked bulletins in (「English」); None reads the bulletin as written, in Chinese.
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
