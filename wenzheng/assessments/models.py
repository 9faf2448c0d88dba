from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from wenzheng.db import Base, UTCDateTime, utcnow


class Assessment(Base):
    """Triage's result for one inbound message, with the cues that explain it (the library's JSON contract)."""

    __tablename__ = "assessments"
    __audited__ = False  # written by the worker from the message itself; nobody's decision
    __table_args__ = (Index("ix_assessments_agency_id_urgency_score", "agency_id", "urgency", "score"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), unique=True)
    lang: Mapped[str] = mapped_column(String(8))
    normalized: Mapped[str] = mapped_column(Text, default="")
    spam: Mapped[bool] = mapped_column(Boolean, default=False)
    intent: Mapped[str] = mapped_column(String(32))
    urgency: Mapped[str] = mapped_column(String(2))
    score: Mapped[float] = mapped_column(Float)
    cues: Mapped[list[str]] = mapped_column(JSON, default=list)
    places: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    phones: Mapped[list[str]] = mapped_column(JSON, default=list)
    people: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    cluster: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    department_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id", ondelete="SET NULL"), nullable=True)
    department_confidence: Mapped[float] = mapped_column(Float, default=0.0)
    model_version: Mapped[str] = mapped_column(String(64))
    assessed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
