"""``accept``: persist an inbound item idempotently, with its follow-up jobs and its reply.

``accept`` writes inside the caller's transaction and never commits: the intake writer commits many
items together, and nothing is acknowledged to a channel before that commit returns. A retried
delivery finds the stored row and gets the very same reply.

This is the hottest path of the platform (a crisis brings thousands of messages a second), so the
common case — a new text from a known citizen — costs four short Core statements and no ORM flush.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from wenzheng.accounts.models import Account
from wenzheng.assessments.tasks import mark_pending
from wenzheng.citizens.actions import find_or_create_citizen
from wenzheng.db import utcnow
from wenzheng.followers.actions import apply_follow_action
from wenzheng.intake.inbound import Inbound
from wenzheng.jobs.queue import enqueue
from wenzheng.messages.models import Attachment, Direction, Message

Reply = dict[str, Any]
DecideReply = Callable[[Session, Account, Message], Reply | None]
SideEffect = Callable[[Session, Account, Message], None]


@dataclass(frozen=True)
class Accepted:
    message_id: int
    ref: str | None
    reply: Reply | None
    duplicate: bool


def accept(
    session: Session,
    account: Account,
    inbound: Inbound,
    *,
    decide_reply: DecideReply,
    media_task: str | None = None,
    side_effect: SideEffect | None = None,
) -> Accepted:
    """Store ``inbound`` once (uncommitted); a duplicate returns the first delivery's reference and reply.

    A concurrent first delivery from another process surfaces as an IntegrityError on the unique key:
    the caller retries, and the retry finds the stored row.
    """
    existing = _find_existing(session, account.id, inbound)
    if existing is not None:
        return existing
    message = _insert(session, account, inbound)
    if message.citizen_id is not None and inbound.follow_action:
        apply_follow_action(session, account, message.citizen_id, inbound)
    _attach_media(session, message, inbound, media_task)
    if side_effect is not None:
        side_effect(session, account, message)
    reply = decide_reply(session, account, message)
    session.connection().execute(_SET_REPLY, {"message_id": message.id, "ref": message.ref, "reply": reply})
    return Accepted(message.id, message.ref, reply, duplicate=False)


# Built once: on the hot path, statement construction costs more than SQLite executing it.
_MESSAGES = cast(Table, Message.__table__)
_FIND_EXISTING = (
    select(_MESSAGES.c.id, _MESSAGES.c.ref, _MESSAGES.c.reply)
    .where(_MESSAGES.c.account_id == bindparam("account_id"))
    .where(_MESSAGES.c.channel == bindparam("channel"))
    .where(_MESSAGES.c.channel_message_id == bindparam("channel_message_id"))
)
_INSERT = insert(_MESSAGES).returning(_MESSAGES.c.id)
_SET_REPLY = (
    update(_MESSAGES)
    .where(_MESSAGES.c.id == bindparam("message_id"))
    .values(ref=bindparam("ref"), reply=bindparam("reply"))
)


def _find_existing(session: Session, account_id: int, inbound: Inbound) -> Accepted | None:
    params = {"account_id": account_id, "channel": inbound.channel, "channel_message_id": inbound.channel_message_id}
    row = session.connection().execute(_FIND_EXISTING, params).one_or_none()
    return Accepted(row.id, row.ref, row.reply, duplicate=True) if row else None


def _insert(session: Session, account: Account, inbound: Inbound) -> Message:
    """Insert the row with Core and return an unattached Message carrying what the reply needs."""
    handles = ((inbound.handle_kind, inbound.handle),) if inbound.handle else ()
    citizen = find_or_create_citizen(session, account.agency_id, (*handles, *inbound.extra_handles))
    values = {
        "agency_id": account.agency_id,
        "account_id": account.id,
        "citizen_id": citizen,
        "direction": Direction.INBOUND,
        "channel": inbound.channel,
        "channel_message_id": inbound.channel_message_id,
        "kind": inbound.kind,
        "event": inbound.event,
        "text": inbound.text,
        "latitude": inbound.latitude,
        "longitude": inbound.longitude,
        "location_label": inbound.location_label,
        "payload": inbound.payload,
        "sent_at": inbound.sent_at,
        "status": "received",
        "received_at": utcnow(),
        "triage_pending": inbound.is_content,
        "parent_id": inbound.parent_id,
        "requested_kind": inbound.requested_kind,
        "department_id": inbound.department_id,
    }
    message_id = session.connection().execute(_INSERT, values).scalar_one()
    message = Message(id=message_id, **values)
    message.ref = make_ref(message) if inbound.is_content else None
    if inbound.is_content:
        mark_pending(session)
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
