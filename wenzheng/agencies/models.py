from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from wenzheng.db import Base, UTCDateTime, utcnow


class Agency(Base):
    """A government agency on the platform: the tenant every other row belongs to."""

    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    # ISO 3166 codes of the countries the agency works in: English place names in messages are given the
    # coordinates of towns there (wenzheng.triage.world), and of no other country. Empty: no English pins.
    place_countries: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    # 发布单位代码 (14 digits: GB/T 2260 division, GB/T 4657 organisation, unit, extension): with it, alerts get
    # the national identifier ZZZZZZDDDUUUXX_YYYYMMDDhhmmss_N (bulletins.cap).
    issuing_unit_code: Mapped[str | None] = mapped_column(String(14), nullable=True)
    # Days a citizen's personal data is kept after their case ends (citizens.retention); None keeps it.
    retention_days: Mapped[int | None] = mapped_column(nullable=True)
    # How the agency is called in English (the sender of its alerts' English CAP info); None: its name as it is.
    name_en: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Department(Base):
    """A unit inside an agency that cases are routed to."""

    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("agency_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Round-robin assignment remembers who got this department's last case (cases.assign).
    last_assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
