"""``accept``: persist an inbound item idempotently, with its follow-up jobs and its reply, then commit.

Nothing is acknowledged to a channel before this commit returns; a retried delivery finds the stored
row and gets the very same reply.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wenzheng.accounts.models import Account
from wenzheng.citizens.actions import find_or_create_citizen
from wenzheng.followers.actions import apply_follow_action
from wenzheng.intake.inbound import Inbound
from wenzheng.jobs.queue import enqueue
from wenzheng.messages.models import Attachment, Direction, Message

Reply = dict[str, Any]
DecideReply = Callable[[Session, Account, Message], Reply | None]
SideEffect = Callable[[Session, Account, Message], None]


@dataclass(frozen=True)
class Accepted:
    message: Message
    duplicate: bool

    @property
    def reply(self) -> Reply | None:
        return self.message.reply


def accept(
    session: Session,
    account: Account,
    inbound: Inbound,
    *,
    decide_reply: DecideReply,
    media_task: str | None = None,
    side_effect: SideEffect | None = None,
) -> Accepted:
    """Store ``inbound`` once and commit; a duplicate returns the first delivery's row and reply."""
    existing = find_inbound(session, account.id, inbound.channel, inbound.channel_message_id)
    if existing is not None:
        return Accepted(existing, duplicate=True)
    try:
        message = _store(session, account, inbound, media_task)
    except IntegrityError:
        # A concurrent delivery of the same item committed first: answer as it did.
        session.rollback()
        existing = find_inbound(session, account.id, inbound.channel, inbound.channel_message_id)
        assert existing is not None
        return Accepted(existing, duplicate=True)
    if side_effect is not None:
        side_effect(session, account, message)
    message.reply = decide_reply(session, account, message)
    session.commit()
    return Accepted(message, duplicate=False)


def find_inbound(session: Session, account_id: int, channel: str, channel_message_id: str) -> Message | None:
    return session.execute(
        select(Message)
        .where(Message.account_id == account_id)
        .where(Message.channel == channel)
        .where(Message.channel_message_id == channel_message_id)
    ).scalar_one_or_none()


def _store(session: Session, account: Account, inbound: Inbound, media_task: str | None) -> Message:
    citizen = find_or_create_citizen(session, account.agency_id, inbound.channel, inbound.handle)
    message = Message(
        agency_id=account.agency_id,
        account_id=account.id,
        citizen_id=citizen.id if citizen else None,
        direction=Direction.INBOUND,
        channel=inbound.channel,
        channel_message_id=inbound.channel_message_id,
        kind=inbound.kind,
        event=inbound.event,
        text=inbound.text,
        latitude=inbound.latitude,
        longitude=inbound.longitude,
        location_label=inbound.location_label,
        payload=inbound.payload,
        sent_at=inbound.sent_at,
    )
    session.add(message)
    session.flush()  # the unique key is checked here, before anything else is written
    if inbound.is_content:
        message.ref = make_ref(message)
    if citizen is not None and inbound.follow_action:
        apply_follow_action(session, account, citizen.id, inbound)
    _attach_media(session, message, inbound, media_task)
    return message


def make_ref(message: Message) -> str:
    """The reference a citizen quotes: the day it arrived and its number, e.g. 20130420-000123."""
    return f"{message.received_at:%Y%m%d}-{message.id:06d}"


def _attach_media(session: Session, message: Message, inbound: Inbound, media_task: str | None) -> None:
    for media in inbound.media:
        attachment = Attachment(
            agency_id=message.agency_id, message_id=message.id, kind=media.kind, channel_media_id=media.channel_media_id
        )
        session.add(attachment)
        session.flush()
        if media_task:
            enqueue(session, media_task, {"attachment_id": attachment.id}, agency_id=message.agency_id)
