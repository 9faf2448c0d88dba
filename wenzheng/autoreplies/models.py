from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from wenzheng.db import Base, UTCDateTime, utcnow


class AutoReplyRule(Base):
    """When an incoming text matches (exact, contains or regex), answer at once; lower priority wins first."""

    __tablename__ = "auto_reply_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    match_type: Mapped[str] = mapped_column(String(16))
    pattern: Mapped[str] = mapped_column(String(200))
    priority: Mapped[int] = mapped_column(default=100)
    reply_type: Mapped[str] = mapped_column(String(16), default="text")
    reply_text: Mapped[str] = mapped_column(Text, default="")
    # For news replies: [{"title", "description", "url", "picurl"}].
    articles: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
