"""Canned replies: an agency's ready answers, with placeholders filled in for each citizen."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from wenzheng.audit.actions import record_audit
from wenzheng.db import Base, UTCDateTime, utcnow
from wenzheng.errors import NotFound
from wenzheng.staff.actor import Actor
from wenzheng.staff.roles import Role
from wenzheng.validation import clean_text

PLACEHOLDERS = ("{ref}", "{account}")


class CannedReply(Base):
    __tablename__ = "canned_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


def fill(text: str, *, ref: str | None, account: str) -> str:
    """{ref} becomes the citizen's reference and {account} the account's name."""
    return text.replace("{ref}", ref or "").replace("{account}", account)


def do_create_canned_reply(session: Session, actor: Actor, agency_id: int, *, title: str, text: str) -> CannedReply:
    actor.require_role(agency_id, Role.SUPERVISOR)
    reply = CannedReply(
        agency_id=agency_id,
        title=clean_text(title, field="title", max_length=100),
        text=clean_text(text, field="text", max_length=2000),
    )
    session.add(reply)
    session.flush()
    record_audit(
        session,
        actor,
        "console:canned_reply:create",
        agency_id=agency_id,
        subject_type="canned_reply",
        subject_id=reply.id,
        data={"title": reply.title},
    )
    session.commit()
    return reply


def do_delete_canned_reply(session: Session, actor: Actor, reply: CannedReply) -> None:
    actor.require_role(reply.agency_id, Role.SUPERVISOR)
    record_audit(
        session,
        actor,
        "console:canned_reply:delete",
        agency_id=reply.agency_id,
        subject_type="canned_reply",
        subject_id=reply.id,
    )
    session.delete(reply)
    session.commit()


def access_canned_reply_by_id(session: Session, actor: Actor, agency_id: int, reply_id: int) -> CannedReply:
    actor.require_role(agency_id, Role.VIEWER)
    reply = session.execute(
        select(CannedReply).where(CannedReply.agency_id == agency_id, CannedReply.id == reply_id)
    ).scalar_one_or_none()
    if reply is None:
        raise NotFound("No such canned reply in this agency.")
    return reply


def canned_replies_of(session: Session, agency_id: int) -> list[CannedReply]:
    return list(
        session.execute(
            select(CannedReply).where(CannedReply.agency_id == agency_id).order_by(CannedReply.title)
        ).scalars()
    )
