"""The one way to reach messages, their attachments and their senders: scoped by the actor's agencies."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from wenzheng.assessments.models import Assessment
from wenzheng.citizens.models import Citizen, CitizenHandle
from wenzheng.errors import NotFound
from wenzheng.messages.models import Attachment, Direction, Message
from wenzheng.staff.actor import Actor
from wenzheng.staff.roles import Role

PAGE = 100


def access_message_by_id(session: Session, actor: Actor, message_id: int, *, minimum: Role = Role.VIEWER) -> Message:
    message = session.get(Message, message_id)
    if message is None or not actor.can_see(message.agency_id):
        raise NotFound("No such message.")
    actor.require_role(message.agency_id, minimum)
    return message


def access_citizen_by_id(session: Session, actor: Actor, citizen_id: int) -> Citizen:
    citizen = session.get(Citizen, citizen_id)
    if citizen is None or not actor.can_see(citizen.agency_id):
        raise NotFound("No such citizen.")
    return citizen


def access_attachment_by_id(session: Session, actor: Actor, attachment_id: int) -> Attachment:
    attachment = session.get(Attachment, attachment_id)
    if attachment is None or not actor.can_see(attachment.agency_id):
        raise NotFound("No such attachment.")
    return attachment


def inbound_of_account(
    session: Session, account_id: int, agency_id: int, *, channel: str = "", query: str = "", flagged: bool = False
) -> list[tuple[Message, Assessment | None]]:
    """Inbound messages of an account already reached through ``access_account_by_id``: most urgent first
    (a message not yet assessed counts as ordinary casework), then newest. Spam is kept out unless asked for."""
    urgency = func.coalesce(Assessment.urgency, "P2")
    statement = (
        select(Message, Assessment)
        .outerjoin(Assessment, Assessment.message_id == Message.id)
        .where(Message.agency_id == agency_id, Message.account_id == account_id)
        .where(Message.direction == Direction.INBOUND, Message.kind != "event")
        .order_by(urgency, Assessment.score.desc(), Message.received_at.desc(), Message.id.desc())
        .limit(PAGE)
    )
    if flagged:
        statement = statement.where(Assessment.spam.is_(True))
    else:
        statement = statement.where(or_(Assessment.spam.is_(None), Assessment.spam.is_(False)))
    if channel:
        statement = statement.where(Message.channel == channel)
    if query:
        statement = statement.where(or_(Message.text.contains(query), Message.ref == query))
    return [(message, assessment) for message, assessment in session.execute(statement).all()]


def assessment_of(session: Session, message: Message) -> Assessment | None:
    return session.execute(
        select(Assessment).where(Assessment.agency_id == message.agency_id, Assessment.message_id == message.id)
    ).scalar_one_or_none()


def conversation(session: Session, message: Message) -> list[Message]:
    """The message's whole conversation (first message, follow-ups, answers), oldest first."""
    root = message.parent_id or message.id
    return list(
        session.execute(
            select(Message)
            .where(Message.agency_id == message.agency_id)
            .where(or_(Message.id == root, Message.parent_id == root))
            .order_by(Message.received_at, Message.id)
        ).scalars()
    )


def attachments_of(session: Session, messages: list[Message]) -> dict[int, list[Attachment]]:
    ids = [m.id for m in messages]
    found: dict[int, list[Attachment]] = {i: [] for i in ids}
    for attachment in session.execute(select(Attachment).where(Attachment.message_id.in_(ids))).scalars():
        found[attachment.message_id].append(attachment)
    return found


def handles_of(session: Session, citizen: Citizen) -> list[CitizenHandle]:
    return list(
        session.execute(
            select(CitizenHandle)
            .where(CitizenHandle.agency_id == citizen.agency_id, CitizenHandle.citizen_id == citizen.id)
            .order_by(CitizenHandle.id)
        ).scalars()
    )


def handles_by_citizen(session: Session, agency_id: int, citizen_ids: set[int]) -> dict[int, list[CitizenHandle]]:
    found: dict[int, list[CitizenHandle]] = {i: [] for i in citizen_ids}
    rows = session.execute(
        select(CitizenHandle).where(CitizenHandle.agency_id == agency_id, CitizenHandle.citizen_id.in_(citizen_ids))
    ).scalars()
    for handle in rows:
        found[handle.citizen_id].append(handle)
    return found


def messages_of_citizen(session: Session, citizen: Citizen) -> list[Message]:
    """Everything one person sent to any of the agency's accounts on any channel — shown together."""
    return list(
        session.execute(
            select(Message)
            .where(Message.agency_id == citizen.agency_id, Message.citizen_id == citizen.id)
            .where(Message.direction == Direction.INBOUND)
            .order_by(Message.received_at.desc(), Message.id.desc())
            .limit(PAGE)
        ).scalars()
    )


def inbound_counts_by_channel(session: Session, account_id: int, agency_id: int) -> dict[str, int]:
    rows = session.execute(
        select(Message.channel, func.count())
        .where(Message.agency_id == agency_id, Message.account_id == account_id)
        .where(Message.direction == Direction.INBOUND, Message.kind != "event")
        .group_by(Message.channel)
    ).all()
    return {channel: count for channel, count in rows}
