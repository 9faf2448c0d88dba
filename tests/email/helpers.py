"""Reading back what the channel stored."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wenzheng.messages.models import Direction, Message


def inbound_messages(db: Session) -> list[Message]:
    query = select(Message).where(Message.direction == Direction.INBOUND).order_by(Message.id)
    return list(db.execute(query).scalars())


def outbound_messages(db: Session) -> list[Message]:
    query = select(Message).where(Message.direction == Direction.OUTBOUND).order_by(Message.id)
    return list(db.execute(query).scalars())


def count_messages(db: Session) -> int:
    return int(db.execute(select(func.count()).select_from(Message)).scalar_one())


def by_message_id(db: Session, channel_message_id: str) -> Message | None:
    return db.execute(select(Message).where(Message.channel_message_id == channel_message_id)).scalar_one_or_none()
