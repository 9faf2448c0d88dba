from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from wenzheng.db import Base, UTCDateTime, utcnow


class Case(Base):
    """A unit of work: one request, with every message that belongs to it (duplicates and follow-ups)."""

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_agency_id_state_urgency", "agency_id", "state", "urgency"),
        # The queue's order, so the first page is read off the index instead of sorting every open case.
        Index("ix_cases_queue_order", "agency_id", "urgency", text("score DESC"), "created_at", "id"),
        # The urgency counts beside the queue under its common filters, each read from one covering index.
        Index("ix_cases_agency_id_department_id_state_urgency", "agency_id", "department_id", "state", "urgency"),
        Index("ix_cases_agency_id_assignee_id_state_urgency", "agency_id", "assignee_id", "state", "urgency"),
        Index("ix_cases_agency_id_intent_state_urgency", "agency_id", "intent", "state", "urgency"),
        # The live queue asks each agency what changed since a moment.
        Index("ix_cases_agency_id_updated_at", "agency_id", "updated_at"),
        Index("ix_cases_account_id_cluster", "account_id", "cluster"),
        # Self-references: without an index, deleting cases checks every other case for each one deleted.
        Index("ix_cases_merged_into_id", "merged_into_id"),
        Index("ix_cases_split_from_id", "split_from_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    # The reference of its first message: what the first citizen was given.
    ref: Mapped[str] = mapped_column(String(32), unique=True)
    first_message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizens.id", ondelete="SET NULL"), nullable=True)
    state: Mapped[str] = mapped_column(String(16), default="received")
    urgency: Mapped[str] = mapped_column(String(2), default="P2", server_default="P2")
    score: Mapped[float] = mapped_column(default=0.0)
    intent: Mapped[str | None] = mapped_column(String(32), nullable=True)
    cluster: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Indexed for search by trigram (migration 0015): on SQLite by triggers on this table into cases_summary_fts,
    # which a migration that rebuilds the table must create again.
    summary: Mapped[str] = mapped_column(String(200), default="")
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id", ondelete="SET NULL"), nullable=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    message_count: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    first_answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The public time limit (see cases.limits), and when it passed and the supervisors were told (督办).
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True, index=True)
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # A duplicate case merged into another keeps pointing at it (its messages moved there).
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"), nullable=True)
    # A case split off another (cases.split) points at the case its messages came from.
    split_from_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"), nullable=True)
    # A P0 is acknowledged by a person within its limit (cases.acknowledge); until then it escalates.
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    # 回访: on resolution the citizens are asked to rate the handling 1–5 by replying with a digit.
    rating_requested_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    rating: Mapped[int | None] = mapped_column(nullable=True)
    rated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # When the agency's retention period erased the personal data of its messages (citizens.retention).
    personal_data_erased_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class CalendarException(Base):
    """A dated exception to an agency's Monday–Friday week: a holiday (not a working day) or a make-up
    working day on a weekend (调休). Public time limits count working days with these (cases.calendar)."""

    __tablename__ = "calendar_exceptions"
    __table_args__ = (UniqueConstraint("agency_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"))
    day: Mapped[dt.date] = mapped_column(Date)
    working: Mapped[bool] = mapped_column(Boolean)
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CaseTransfer(Base):
    """A proposal to hand a case to another agency on the platform (转办), which accepts or declines it.

    The row belongs to the proposing agency (``agency_id``); the receiving agency reaches it only through
    ``cases.transfer.access_transfer_by_id``, as the party named in ``to_agency_id``.
    """

    __tablename__ = "case_transfers"
    __table_args__ = (
        Index("ix_case_transfers_to_agency_id_state", "to_agency_id", "state"),
        Index("ix_case_transfers_agency_id_state", "agency_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    to_agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending, accepted, declined, withdrawn
    reason: Mapped[str] = mapped_column(String(500))
    decline_reason: Mapped[str] = mapped_column(String(500), default="")
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
