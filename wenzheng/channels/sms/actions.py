"""SMS in and out: accept a gateway's push, answer it by SMS, record what the gateway reports back."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from wenzheng.accounts.models import Account
from wenzheng.audit.actions import record_audit
from wenzheng.channels.models import SmsBinding
from wenzheng.channels.sms import segments
from wenzheng.channels.sms.inbound import SmsPush, account_for_number, to_inbound
from wenzheng.channels.sms.phones import normalize_service_number
from wenzheng.errors import Conflict
from wenzheng.followers.regions import region_reply, region_request
from wenzheng.intake.actions import Accepted, Reply, accept
from wenzheng.intake.inbound import FollowAction
from wenzheng.intake.replies import decide_reply, text_reply
from wenzheng.jobs.queue import enqueue
from wenzheng.messages import delivery
from wenzheng.messages.models import Direction, Message
from wenzheng.staff.actor import Actor
from wenzheng.staff.roles import Role

SEND_TASK = "sms.send"
FOLLOWED = (
    "您已关注「{account}」，将收到其公告。回复「地区」加县区名（如「地区 宝兴县」）可收到所在地的预警；"
    "回复「退订」或 STOP 可随时取消。Reply ENGLISH for English."
)
FOLLOWED_IN = "您已关注「{account}」，将收到其公告。{region}回复「退订」或 STOP 可随时取消。"
UNFOLLOWED = "您已退订「{account}」，不会再收到其公告。回复「关注」可重新关注。"


def accept_sms(session: Session, push: SmsPush, raw: dict[str, Any]) -> Accepted:
    """The intake writer's part for one SMS: store it once and queue the answer by SMS."""
    account = account_for_number(session, push.to)
    accepted = accept(session, account, to_inbound(push, raw), decide_reply=_decide)
    if not accepted.duplicate and accepted.reply is not None:
        queue_sms(
            session,
            account,
            to=push.sender,
            sender=push.to,
            text=accepted.reply["content"],
            parent_id=accepted.message_id,
        )
    return accepted


def _decide(session: Session, account: Account, message: Message) -> Reply | None:
    if message.event == FollowAction.FOLLOW:
        named = region_request(message.location_label or "")
        if named is not None:  # 「关注 宝兴县」
            return text_reply(FOLLOWED_IN.format(account=account.name, region=region_reply(named)))
        return text_reply(FOLLOWED.format(account=account.name))
    if message.event == FollowAction.UNFOLLOW:
        return text_reply(UNFOLLOWED.format(account=account.name))
    reply = decide_reply(session, account, message)
    return reply if reply is None or reply["type"] == "text" else text_reply(_news_as_text(reply))


def _news_as_text(reply: Reply) -> str:
    return "\n".join(f"{a['title']} {a['url']}" for a in reply["articles"])


def queue_sms(
    session: Session,
    account: Account,
    *,
    to: str,
    sender: str,
    text: str,
    parent_id: int | None,
    purpose: str = delivery.NOTICE,
) -> Message:
    """Record an outbound SMS (with its billed length) and queue its sending, in the caller's transaction.
    ``purpose``: ``delivery.ANSWER`` for staff's answer, whose failure later reopens its case."""
    length = segments.measure(text)
    message = Message(
        agency_id=account.agency_id,
        account_id=account.id,
        direction=Direction.OUTBOUND,
        channel="sms",
        channel_message_id=f"pending:{uuid.uuid4().hex}",
        kind="text",
        text=text,
        parent_id=parent_id,
        status="queued",
        payload={
            "to": to,
            "from": sender,
            "encoding": length.encoding,
            "units": length.units,
            "segments": length.segments,
            "purpose": purpose,
        },
    )
    session.add(message)
    session.flush()
    enqueue(session, SEND_TASK, {"message_id": message.id}, agency_id=account.agency_id)
    return message


def record_receipt(session: Session, fields: dict[str, str]) -> Message | None:
    """A delivery receipt: the gateway's id and a status (delivered / failed, with an error code)."""
    gateway_id = fields.get("id") or fields.get("MessageId") or ""
    message = session.execute(
        select(Message)
        .where(Message.channel == "sms")
        .where(Message.direction == Direction.OUTBOUND)
        .where(Message.channel_message_id == gateway_id)
    ).scalar_one_or_none()
    if message is None:
        return None
    message.status = "delivered" if fields.get("status", "").lower() in ("delivered", "delivrd") else "failed"
    message.error_code = (fields.get("error_code") or "undelivered")[:64] if message.status == "failed" else None
    if message.status == "failed":
        delivery.note_undelivered(session, message)
    return message


def do_set_sms_number(session: Session, actor: Actor, account: Account, *, number: str) -> SmsBinding:
    actor.require_role(account.agency_id, Role.ADMIN)
    number = normalize_service_number(number)
    taken = session.execute(select(SmsBinding).where(SmsBinding.number == number)).scalar_one_or_none()
    if taken is not None and taken.account_id != account.id:
        raise Conflict(f"The number {number} already belongs to another account.", code="number_taken")
    binding = session.execute(select(SmsBinding).where(SmsBinding.account_id == account.id)).scalar_one_or_none()
    if binding is None:
        binding = SmsBinding(agency_id=account.agency_id, account_id=account.id, number=number)
        session.add(binding)
    binding.number = number
    session.flush()
    record_audit(
        session,
        actor,
        "console:sms:number",
        agency_id=account.agency_id,
        subject_type="account",
        subject_id=account.id,
        data={"number": number},
    )
    session.commit()
    return binding
