"""Answering a citizen through the channel they used, or a fallback when that channel cannot deliver."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from wenzheng.accounts.models import Account
from wenzheng.audit.actions import record_audit
from wenzheng.cases.actions import note_answered
from wenzheng.cases.canned import fill
from wenzheng.cases.models import Case
from wenzheng.channels.sms.access import sms_binding_of
from wenzheng.citizens.models import CitizenHandle
from wenzheng.errors import InvalidInput, WenzhengError
from wenzheng.messages import delivery
from wenzheng.messages.models import Message
from wenzheng.staff.actor import Actor
from wenzheng.staff.roles import Role
from wenzheng.validation import clean_text

REPLY_CHANNELS = ("wechat", "sms", "email", "web")


class CannotReply(WenzhengError):
    status = 409
    code = "cannot_reply"


def reply_channels(session: Session, message: Message) -> list[str]:
    """The channels this conversation can be answered on: its own first, then the fallbacks the citizen allows."""
    kinds = _handle_kinds(session, message)
    channels = [message.channel] if message.channel in REPLY_CHANNELS else []
    if "phone" in kinds and message.channel != "sms":
        channels.append("sms")
    channels.append("web")  # the status page, which the citizen reaches by link or by asking for their reference
    return list(dict.fromkeys(channels))


def do_reply(
    session: Session,
    actor: Actor,
    message: Message,
    *,
    text: str,
    channel: str,
    for_case: Case | None = None,
    counts_as_answer: bool = True,
) -> Message | None:
    """Send ``text`` to the citizen on ``channel`` (committed). A refusal the channel explains (the WeChat window,
    a quota) is recorded and audited, committed, then raised for the operator to see and choose a fallback.

    ``for_case``: sent on behalf of the message's case, by its agency's staff — which is another agency than
    the message's when the case was transferred (cases.transfer). ``counts_as_answer=False`` for what is not an
    answer (the 回访 rating request), so the case's first-answer time stays true."""
    actor.require_role(message.agency_id if for_case is None else for_case.agency_id, Role.OPERATOR)
    agency_id = _answering_agency(session, message, for_case)
    account = session.get(Account, message.account_id)
    assert account is not None
    text = clean_text(fill(text, ref=message.ref, account=account.name), field="text", max_length=2000)
    if channel not in reply_channels(session, message):
        raise InvalidInput(f"This conversation cannot be answered on {channel}.", code="invalid_channel")
    root = message.parent_id or message.id
    purpose = delivery.ANSWER if counts_as_answer else delivery.NOTICE
    try:
        sent = _send(session, account, message, channel, text, purpose)
    except WenzhengError as error:
        _audit(session, actor, message, channel, failed=error.code, agency_id=agency_id)
        session.commit()
        raise
    if sent is not None:  # e-mail is recorded by its sending job, already in the conversation
        sent.parent_id = root
    if counts_as_answer:
        note_answered(session, message)
    _audit(session, actor, message, channel, failed=None, agency_id=agency_id)
    session.commit()
    return sent


def _answering_agency(session: Session, message: Message, for_case: Case | None) -> int:
    """Whose staff answer this message: its case's agency. That is the message's own, unless the case was
    transferred to another agency (cases.transfer): then that agency answers, through the case, and only it."""
    if for_case is not None and message.case_id == for_case.id:
        return for_case.agency_id
    if for_case is not None:
        raise InvalidInput("This message is not in that case.", code="not_in_case")
    if message.case_id is not None:
        case_agency = session.execute(select(Case.agency_id).where(Case.id == message.case_id)).scalar_one_or_none()
        if case_agency not in (None, message.agency_id):
            raise CannotReply(
                "This conversation's case was transferred to another agency, which answers it now.",
                code="case_transferred",
            )
    return message.agency_id


def _send(
    session: Session, account: Account, message: Message, channel: str, text: str, purpose: str
) -> Message | None:
    if channel == "email":
        from wenzheng.channels.email.tasks import queue_reply

        queue_reply(session, message, text, purpose=purpose)
        return None
    if channel == "wechat":
        from wenzheng.channels.wechat.outbound import queue_custom_message

        openid = str(message.payload.get("FromUserName", ""))
        return queue_custom_message(session, account, openid, "text", {"content": text}, text=text, purpose=purpose)
    if channel == "sms":
        return _send_sms(session, account, message, text, purpose)
    return delivery.post_on_status_page(session, message, text, {"purpose": purpose})


def _send_sms(session: Session, account: Account, message: Message, text: str, purpose: str) -> Message:
    from wenzheng.channels.sms.actions import queue_sms

    binding = sms_binding_of(session, account)
    phone = _handle(session, message, "phone")
    if binding is None:
        raise CannotReply(
            "This account has no SMS number; an admin can set one on its channels page.", code="sms_not_configured"
        )
    if phone is None:
        raise CannotReply("The citizen gave no phone number.", code="no_phone")
    return queue_sms(
        session, account, to=phone, sender=binding.number, text=text, parent_id=message.id, purpose=purpose
    )


def _handle_kinds(session: Session, message: Message) -> set[str]:
    if message.citizen_id is None:
        return set()
    rows = session.execute(select(CitizenHandle.channel).where(CitizenHandle.citizen_id == message.citizen_id))
    return set(rows.scalars())


def _handle(session: Session, message: Message, kind: str) -> str | None:
    if message.citizen_id is None:
        return None
    return session.execute(
        select(CitizenHandle.handle)
        .where(CitizenHandle.citizen_id == message.citizen_id, CitizenHandle.channel == kind)
        .order_by(CitizenHandle.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def _audit(
    session: Session, actor: Actor, message: Message, channel: str, *, failed: str | None, agency_id: int
) -> None:
    record_audit(
        session,
        actor,
        "console:message:reply",
        agency_id=agency_id,
        subject_type="message",
        subject_id=message.id,
        data={"channel": channel, **({"refused": failed} if failed else {})},
    )
