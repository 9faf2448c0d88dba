"""What a citizen's status page shows: their message, what they added, our answers, and where it stands."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from wenzheng.messages.models import Attachment, Direction, Message

STATUS_KEYS = {
    "received": "citizen.status_received",
    "answered": "citizen.status_answered",
    "resolved": "citizen.status_resolved",
    "closed": "citizen.status_closed",
}


@dataclass(frozen=True)
class Conversation:
    first: Message
    entries: list[Message]  # everything after the first message, oldest first, both directions
    photos: int

    @property
    def status_key(self) -> str:
        return STATUS_KEYS.get(self.first.status, "citizen.status_received")


def conversation_of(session: Session, message: Message) -> Conversation:
    first = session.get(Message, message.parent_id) if message.parent_id else message
    assert first is not None
    follow_ups = select(Message.id).where(Message.parent_id == first.id)
    entries = list(
        session.execute(
            select(Message)
            .where(Message.account_id == first.account_id)
            .where(or_(Message.parent_id == first.id, Message.parent_id.in_(follow_ups)))
            .where(or_(Message.direction == Direction.INBOUND, Message.status.in_(("sent", "delivered"))))
            .order_by(Message.received_at, Message.id)
        ).scalars()
    )
    photos = session.execute(select(Attachment.id).where(Attachment.message_id == first.id)).all()
    return Conversation(first, entries, len(photos))
