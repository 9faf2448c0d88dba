from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from wenzheng.db import Base, UTCDateTime, utcnow


class Citizen(Base):
    """One person as an agency knows them; their handles on each channel point here."""

    __tablename__ = "citizens"
    # Written by intake for every new sender: the inbound message is itself the record.
    __audited__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CitizenHandle(Base):
    """A citizen's address on one channel: a WeChat OpenID, a phone number, an e-mail address, a web token."""

    __tablename__ = "citizen_handles"
    __audited__ = False
    __table_args__ = (UniqueConstraint("agency_id", "channel", "handle"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"), index=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    handle: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
