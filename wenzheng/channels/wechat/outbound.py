"""What wenzheng sends through WeChat: customer-service messages, mass sends, template messages, media.

Every message to a citizen leaves a ``Message`` row (direction "out", status "sent" or "failed" with
an ``error_code``) in the caller's session; a failure is recorded first and raised after, so a caller
that commits keeps the record and can show the error's message. Where we already know WeChat would
refuse (outside the 48-hour window, the window's quota used up, no mass sends left) we refuse before
calling, with the same error types WeChat's errcodes become.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wenzheng.accounts.models import Account
from wenzheng.audit.actions import record_audit
from wenzheng.channels.wechat import api
from wenzheng.channels.wechat.errors import (
    MassSendQuotaExhausted,
    OutsideReplyWindow,
    ReplyQuotaExhausted,
    WeChatApiError,
    is_retryable,
)
from wenzheng.channels.wechat.models import MASS_COUNTS, AccountType, MassSend, note_mass_outcome
from wenzheng.channels.wechat.tokens import binding_for, call_with_token
from wenzheng.citizens.models import CitizenHandle
from wenzheng.config import get_settings
from wenzheng.db import utcnow
from wenzheng.errors import InvalidInput, WenzhengError
from wenzheng.followers.models import Follower, FollowerState
from wenzheng.jobs import queue  # the module: the queue imports every task module, ours included
from wenzheng.messages import delivery
from wenzheng.messages.models import Direction, Message
from wenzheng.staff.actor import Actor
from wenzheng.staff.roles import Role
from wenzheng.validation import clean_text

CHANNEL = "wechat"
# protocols.md 1.9.2: a message from the citizen opens 48 hours for 5 replies; a subscribe, a QR scan
# or a menu click opens 1 minute for 3.
MESSAGE_WINDOW = dt.timedelta(hours=48)
MESSAGE_WINDOW_QUOTA = 5
EVENT_WINDOW = dt.timedelta(minutes=1)
EVENT_WINDOW_QUOTA = 3
WINDOW_EVENTS = ("subscribe", "scan", "click")
COUNTED_STATUSES = ("sent", "queued")
_OUR_FIELDS = frozenset({"api", "purpose"})  # kept in a custom message's payload, not sent to WeChat
CUSTOM_ID_PREFIX = "cs:"  # channel_message_id of customer-service messages: WeChat gives them no id
TEMPLATE_ID_PREFIX = "tpl:"  # + WeChat's msgid, apart from the MsgIds of inbound messages
BEIJING = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")  # WeChat's days and months; no DST
MASS_SEND_MSGTYPES = ("text", "mpnews", "voice", "mpvideo", "image")
MASS_TEXT_MAX = 5000
MEDIA_LIMITS = {"image": 2 * 1024 * 1024, "voice": 2 * 1024 * 1024, "video": 10 * 1024 * 1024, "thumb": 64 * 1024}


# WeChat pushes MASSSENDJOBFINISH once (retried three times within 15 s), so a server that was down or
# unreachable then never hears how a mass send ended. Each mass send is asked about (/message/mass/get) 15 minutes
# after WeChat took it, unless the event has come by then, and again while WeChat answers SENDING: about a day
# and a half in all, by when a send still going is not one anybody waits for.
MASS_CHECKS = tuple(dt.timedelta(minutes=m) for m in (15, 30, 60, 120, 240, 480, 960))
# /message/mass/get's msg_status, as MASSSENDJOBFINISH's Status says it (SENDING is not an outcome).
POLLED_STATUSES = {"SEND_SUCCESS": "send success", "SEND_FAIL": "send fail", "DELETE": "deleted"}


class MassSendState:
    QUEUED = "queued"
    SUBMITTED = "submitted"  # WeChat accepted the job; MASSSENDJOBFINISH brings the outcome
    FINISHED = "finished"
    FAILED = "failed"
    COUNTING = (QUEUED, SUBMITTED, FINISHED)  # what uses up the account's quota


@dataclass(frozen=True)
class Article:
    """One external-link article of a ``news`` customer-service message."""

    title: str
    description: str = ""
    url: str = ""
    picurl: str = ""


@dataclass(frozen=True)
class ReplyWindow:
    """What the citizen's last interaction allows: replies until ``closes_at``, ``allowed`` of them."""

    opened_at: dt.datetime
    closes_at: dt.datetime
    allowed: int
    used: int

    @property
    def remaining(self) -> int:
        return max(0, self.allowed - self.used)


@dataclass(frozen=True)
class UploadedMedia:
    media_id: str
    type: str
    created_at: int


# Customer-service messages (客服消息)


def send_text(session: Session, account: Account, openid: str, text: str) -> Message:
    """Send a text customer-service message; the recorded Message, or the typed error after recording it."""
    content = clean_text(text, field="text", max_length=2000)
    return send_custom_message(session, account, openid, "text", {"content": content}, text=content)


def send_image(session: Session, account: Account, openid: str, media_id: str) -> Message:
    """Send an image (a media id from ``upload_media``) as a customer-service message."""
    return send_custom_message(session, account, openid, "image", {"media_id": media_id})


def send_news(session: Session, account: Account, openid: str, article: Article) -> Message:
    """Send one external-link article as a customer-service message."""
    body = {"articles": [asdict(article)]}
    return send_custom_message(session, account, openid, "news", body, text=article.title)


def send_custom_message(
    session: Session, account: Account, openid: str, msgtype: str, body: dict[str, Any], *, text: str = ""
) -> Message:
    """POST /cgi-bin/message/custom/send now, after our own check of the window and its quota."""
    record = _custom_record(session, account, openid, msgtype, body, text)
    try:
        check_reply_allowed(session, account, openid)
        _post_custom(session, account, record)
    except WenzhengError as error:
        _failed(session, record, error)
        raise
    return _sent(session, record)


def queue_custom_message(
    session: Session,
    account: Account,
    openid: str,
    msgtype: str,
    body: dict[str, Any],
    *,
    text: str = "",
    purpose: str = delivery.NOTICE,
) -> Message:
    """Check the window now and leave the sending to the job ``wechat.send_custom``; commits with the caller.

    The Message is "queued" until the job sends it. A refusal we can foresee is recorded and raised here.
    ``purpose``: ``delivery.ANSWER`` for staff's answer, whose failure later reopens its case.
    """
    record = _custom_record(session, account, openid, msgtype, body, text)
    record.payload = {**record.payload, "purpose": purpose}
    try:
        check_reply_allowed(session, account, openid)
    except WenzhengError as error:
        _failed(session, record, error)
        raise
    record.status = "queued"
    session.add(record)
    session.flush()
    queue.enqueue(session, "wechat.send_custom", {"message_id": record.id}, agency_id=account.agency_id)
    return record


def send_queued_custom_message(session: Session, record: Message) -> None:
    """The job's half of ``queue_custom_message``: check the window again (time has passed) and send.

    A refusal is recorded on the message (and an answer's case hears of it); a busy or unreachable WeChat is
    raised, for the job to retry.
    """
    if record.status != "queued":
        return  # sent or refused by an earlier run of the job
    account = session.get_one(Account, record.account_id)
    try:
        check_reply_allowed(session, account, str(record.payload["touser"]), counting=("sent",))
        _post_custom(session, account, record)
    except WenzhengError as error:
        if is_retryable(error):
            raise
        _failed(session, record, error)
        delivery.note_undelivered(session, record)
        return
    _sent(session, record)
    delivery.note_delivered(session, record)


def _custom_record(
    session: Session, account: Account, openid: str, msgtype: str, body: dict[str, Any], text: str
) -> Message:
    record = _outbound(session, account, openid, msgtype, text, f"{CUSTOM_ID_PREFIX}{uuid.uuid4().hex}")
    record.payload = {"api": "custom", "touser": openid, "msgtype": msgtype, msgtype: body}
    return record


def _post_custom(session: Session, account: Account, record: Message) -> None:
    body = {name: value for name, value in record.payload.items() if name not in _OUR_FIELDS}
    call_with_token(session, account, lambda token: api.post_json("/cgi-bin/message/custom/send", token, body))


def reply_window(
    session: Session,
    account: Account,
    openid: str,
    *,
    now: dt.datetime | None = None,
    counting: tuple[str, ...] = COUNTED_STATUSES,
) -> ReplyWindow:
    """The citizen's current reply window, from the messages table; OutsideReplyWindow when none is open.

    ``counting``: the statuses of our replies that use up the window's quota (sent, and queued to send).
    """
    now = now or utcnow()
    citizen_id = _citizen_id(session, account, openid)
    if citizen_id is None or _has_unfollowed(session, account, openid):
        raise OutsideReplyWindow(errcode=None)
    for opened_at, span, allowed in _window_openers(session, account, citizen_id):
        if opened_at + span > now:
            used = _custom_messages_since(session, account, citizen_id, opened_at, counting)
            return ReplyWindow(opened_at=opened_at, closes_at=opened_at + span, allowed=allowed, used=used)
    raise OutsideReplyWindow(errcode=None)


def check_reply_allowed(
    session: Session,
    account: Account,
    openid: str,
    *,
    now: dt.datetime | None = None,
    counting: tuple[str, ...] = COUNTED_STATUSES,
) -> ReplyWindow:
    """The open window with replies left; OutsideReplyWindow or ReplyQuotaExhausted otherwise."""
    window = reply_window(session, account, openid, now=now, counting=counting)
    if window.remaining == 0:
        raise ReplyQuotaExhausted(errcode=None)
    return window


def _window_openers(session: Session, account: Account, citizen_id: int) -> list[tuple[dt.datetime, dt.timedelta, int]]:
    """The last message and the last subscribe / scan / click of the citizen, with what each allows."""
    inbound = select(func.max(Message.received_at)).where(
        Message.account_id == account.id,
        Message.channel == CHANNEL,
        Message.direction == Direction.INBOUND,
        Message.citizen_id == citizen_id,
    )
    last_message = session.scalar(inbound.where(Message.kind != "event"))
    last_event = session.scalar(inbound.where(Message.kind == "event", func.lower(Message.event).in_(WINDOW_EVENTS)))
    openers = []
    if last_message is not None:
        openers.append((_aware(last_message), MESSAGE_WINDOW, MESSAGE_WINDOW_QUOTA))
    if last_event is not None:
        openers.append((_aware(last_event), EVENT_WINDOW, EVENT_WINDOW_QUOTA))
    return openers


def _custom_messages_since(
    session: Session, account: Account, citizen_id: int, since: dt.datetime, counting: tuple[str, ...]
) -> int:
    query = select(func.count(Message.id)).where(
        Message.account_id == account.id,
        Message.channel == CHANNEL,
        Message.direction == Direction.OUTBOUND,
        Message.citizen_id == citizen_id,
        Message.status.in_(counting),
        Message.channel_message_id.startswith(CUSTOM_ID_PREFIX),
        # received_at of an outbound message is when it was written: a queued reply has no sent_at yet.
        func.coalesce(Message.sent_at, Message.received_at) >= since,
    )
    return int(session.scalar(query) or 0)


def _has_unfollowed(session: Session, account: Account, openid: str) -> bool:
    state = session.scalar(
        select(Follower.state).where(
            Follower.account_id == account.id, Follower.channel == CHANNEL, Follower.handle == openid
        )
    )
    return state == FollowerState.UNFOLLOWED


# Template messages (模板消息)


def send_template_message(
    session: Session,
    account: Account,
    openid: str,
    template_id: str,
    data: Mapping[str, str],
    *,
    url: str = "",
    client_msg_id: str | None = None,
) -> Message:
    """POST /cgi-bin/message/template/send; ``data`` maps the template's placeholders to their values.

    ``client_msg_id`` makes a retried send a no-op at WeChat: pass the same one for the same notice.
    """
    client_msg_id = client_msg_id or f"wz-{uuid.uuid4().hex}"
    body: dict[str, Any] = {
        "touser": openid,
        "template_id": template_id,
        "client_msg_id": client_msg_id,
        "data": {name: {"value": value} for name, value in data.items()},
    }
    if url:
        body["url"] = url
    record = _outbound(session, account, openid, "template", "", f"failed:{uuid.uuid4().hex}")
    record.payload = {"api": "template", **body}
    try:
        answer = call_with_token(
            session, account, lambda token: api.post_json("/cgi-bin/message/template/send", token, body)
        )
    except WenzhengError as error:
        _failed(session, record, error)
        raise
    # A resend with the same client_msg_id gets the same msgid back: that message is already recorded.
    existing = _template_message(session, account, str(answer["msgid"]))
    if existing is not None:
        return existing
    record.channel_message_id = f"{TEMPLATE_ID_PREFIX}{answer['msgid']}"
    return _sent(session, record)


def record_template_send_finished(session: Session, account: Account, msg_id: str, status: str) -> Message | None:
    """TEMPLATESENDJOBFINISH: mark the template message delivered or failed; None if we did not send it."""
    message = _template_message(session, account, msg_id)
    if message is None:
        return None
    delivered = status.strip().lower() == "success"
    message.status = "delivered" if delivered else "failed"
    message.error_code = None if delivered else _template_failure_code(status)
    message.payload = {**message.payload, "delivery_status": status}
    return message


def _template_message(session: Session, account: Account, msg_id: str) -> Message | None:
    return session.scalars(
        select(Message).where(
            Message.account_id == account.id,
            Message.channel == CHANNEL,
            Message.direction == Direction.OUTBOUND,
            Message.channel_message_id == f"{TEMPLATE_ID_PREFIX}{msg_id}",
        )
    ).first()


def _template_failure_code(status: str) -> str:
    # "failed:user block", "failed: system failed" (with the space), "failed:freq limit"
    reason = status.partition(":")[2].strip().lower().replace(" ", "_")
    return f"wechat_{reason}"[:64] if reason else "wechat_delivery_failed"


# Mass send (群发)


def do_mass_send(
    session: Session,
    actor: Actor,
    account: Account,
    *,
    msgtype: str,
    content: str = "",
    media_id: str = "",
    tag_id: int | None = None,
) -> MassSend:
    """Queue a mass send to every follower (``tag_id`` None) or to one WeChat tag; audited; commits.

    Refuses with MassSendQuotaExhausted when the account's sends for the day (subscription account)
    or calendar month (service account) are used up. The job ``wechat.mass_send`` submits it.
    """
    actor.require_role(account.agency_id, Role.SUPERVISOR)
    content, media_id = _mass_content(msgtype, content, media_id)
    check_mass_send_quota(session, account)
    mass_send = MassSend(
        agency_id=account.agency_id,
        account_id=account.id,
        client_msg_id=f"wz-{account.id}-{uuid.uuid4().hex}",
        tag_id=tag_id,
        msgtype=msgtype,
        content=content,
        media_id=media_id,
        state=MassSendState.QUEUED,
    )
    session.add(mass_send)
    session.flush()
    audience = "all" if tag_id is None else f"tag {tag_id}"
    record_audit(
        session,
        actor,
        "console:wechat_mass_send:create",
        agency_id=account.agency_id,
        subject_type="wechat_mass_send",
        subject_id=mass_send.id,
        data={"account_id": account.id, "msgtype": msgtype, "audience": audience},
    )
    queue.enqueue(session, "wechat.mass_send", {"mass_send_id": mass_send.id}, agency_id=account.agency_id)
    session.commit()
    return mass_send


def check_mass_send_quota(session: Session, account: Account, *, now: dt.datetime | None = None) -> int:
    """How many mass sends the account has left; MassSendQuotaExhausted when none.

    Locks the account's WeChat binding until the transaction ends, so two sends cannot both take the
    last one (PostgreSQL; SQLite's write lock already serialises them).
    """
    binding = binding_for(session, account.id, lock=True)
    allowed, since = _mass_quota(binding.account_type, now or utcnow())
    used = session.scalar(
        select(func.count(MassSend.id)).where(
            MassSend.account_id == account.id,
            MassSend.state.in_(MassSendState.COUNTING),
            MassSend.created_at >= since,
        )
    )
    left = allowed - int(used or 0)
    if left <= 0:
        raise MassSendQuotaExhausted(errcode=None)
    return left


def _mass_quota(account_type: str, now: dt.datetime) -> tuple[int, dt.datetime]:
    local = now.astimezone(BEIJING)
    if account_type == AccountType.SUBSCRIPTION:
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
        return 1, start.astimezone(dt.UTC)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return 4, start.astimezone(dt.UTC)


def _mass_content(msgtype: str, content: str, media_id: str) -> tuple[str, str]:
    if msgtype not in MASS_SEND_MSGTYPES:
        raise InvalidInput(f"A mass send is one of {', '.join(MASS_SEND_MSGTYPES)}, not {msgtype!r}.")
    if msgtype == "text":
        return clean_text(content, field="content", max_length=MASS_TEXT_MAX), ""
    return "", clean_text(media_id, field="media_id", max_length=200)


def submit_mass_send(session: Session, mass_send: MassSend) -> None:
    """Submit a queued mass send to WeChat (POST /cgi-bin/message/mass/sendall) with its clientmsgid.

    A resubmission of the same clientmsgid (45065) is taken as the success it is. Refusals are recorded
    on the MassSend; errors worth retrying (WeChat busy or unreachable) are raised for the job to retry.
    """
    if mass_send.state != MassSendState.QUEUED:
        return
    account = session.get_one(Account, mass_send.account_id)
    body = _sendall_body(mass_send)
    try:
        answer = call_with_token(session, account, lambda token: _sendall(token, body))
    except WeChatApiError as error:
        if error.retryable:
            raise
        mass_send.state = MassSendState.FAILED
        mass_send.error = f"{error.code}: {error.message}"[:500]
        return
    mass_send.state = MassSendState.SUBMITTED
    mass_send.wechat_msg_id = str(answer["msg_id"])
    mass_send.submitted_at = utcnow()
    schedule_mass_check(session, account, mass_send.wechat_msg_id)


def send_mass_preview(session: Session, account: Account, wechat_name: str, text: str) -> None:
    """POST /cgi-bin/message/mass/preview: a text mass message to one WeChat user, by their WeChat ID (微信号), to
    see it as followers will before it goes to all of them. It uses none of the mass-send quota."""
    body = {"towxname": wechat_name, "msgtype": "text", "text": {"content": text}}
    call_with_token(session, account, lambda token: api.post_json("/cgi-bin/message/mass/preview", token, body))


def _sendall(token: str, body: dict[str, Any]) -> dict[str, Any]:
    try:
        return api.post_json("/cgi-bin/message/mass/sendall", token, body)
    except WeChatApiError as error:
        if error.errcode == 45065 and _original_msg_id(error) is not None:
            return {"msg_id": _original_msg_id(error)}
        raise


def _original_msg_id(error: WeChatApiError) -> Any:
    return error.response.get("msg_id")


def _sendall_body(mass_send: MassSend) -> dict[str, Any]:
    audience = {"is_to_all": True} if mass_send.tag_id is None else {"is_to_all": False, "tag_id": mass_send.tag_id}
    if mass_send.msgtype == "text":
        content: dict[str, Any] = {"content": mass_send.content}
    elif mass_send.msgtype == "image":
        content = {"media_ids": [mass_send.media_id]}
    else:
        content = {"media_id": mass_send.media_id}
    field = "images" if mass_send.msgtype == "image" else mass_send.msgtype
    return {
        "filter": audience,
        "msgtype": mass_send.msgtype,
        field: content,
        "clientmsgid": mass_send.client_msg_id,
        "send_ignore_reprint": 0,
    }


def record_mass_send_finished(session: Session, account: Account, fields: Mapping[str, Any]) -> MassSend | None:
    """MASSSENDJOBFINISH: record the outcome (MsgID, Status, TotalCount, FilterCount, SentCount, ErrorCount).

    None when the MsgID is not one of ours (a send made in WeChat's own console). Recording the same
    event twice gives the same result.
    """
    counts = {name: _count(fields, name) for name in MASS_COUNTS}
    return _record_mass_outcome(session, account, str(fields.get("MsgID") or ""), str(fields.get("Status", "")), counts)


def _record_mass_outcome(
    session: Session, account: Account, msg_id: str, status: str, counts: Mapping[str, int | None] | None
) -> MassSend | None:
    from wenzheng.bulletins.refusals import record_wechat_report  # bulletins build on this module, not the reverse

    if not msg_id:
        return None
    record_wechat_report(session, account.id, msg_id, status, counts)
    mass_send = session.scalars(
        select(MassSend).where(MassSend.account_id == account.id, MassSend.wechat_msg_id == msg_id)
    ).first()
    if mass_send is None:
        return None
    note_mass_outcome(mass_send, status, counts)
    mass_send.state = MassSendState.FINISHED
    return mass_send


def schedule_mass_check(session: Session, account: Account, msg_id: str, check: int = 0) -> None:
    """Ask WeChat for a mass send's outcome later, in case its MASSSENDJOBFINISH never comes (see MASS_CHECKS)."""
    if check < len(MASS_CHECKS):
        payload = {"account_id": account.id, "msg_id": msg_id, "check": check}
        run_after = utcnow() + MASS_CHECKS[check]
        queue.enqueue(session, "wechat.check_mass_send", payload, agency_id=account.agency_id, run_after=run_after)


def check_mass_send(session: Session, account: Account, msg_id: str, check: int) -> str | None:
    """POST /cgi-bin/message/mass/get for a mass send WeChat has not reported; the status recorded, if any.

    SEND_SUCCESS, SEND_FAIL and DELETE are recorded as the event would (without its numbers, which this answer
    does not give); SENDING, or a state we do not know, is asked about again later. Nothing is asked once the
    event has come.
    """
    if not _awaiting_outcome(session, account.id, msg_id):
        return None
    body = {"msg_id": int(msg_id) if msg_id.isdigit() else msg_id}
    answer = call_with_token(session, account, lambda token: api.post_json("/cgi-bin/message/mass/get", token, body))
    status = POLLED_STATUSES.get(str(answer.get("msg_status", "")))
    if status is None:
        schedule_mass_check(session, account, msg_id, check + 1)
        return None
    _record_mass_outcome(session, account, msg_id, status, None)
    return status


def _awaiting_outcome(session: Session, account_id: int, msg_id: str) -> bool:
    from wenzheng.bulletins.models import BulletinWeChatReport

    waiting_send = select(MassSend.id).where(
        MassSend.account_id == account_id, MassSend.wechat_msg_id == msg_id, MassSend.state == MassSendState.SUBMITTED
    )
    waiting_report = select(BulletinWeChatReport.id).where(
        BulletinWeChatReport.account_id == account_id,
        BulletinWeChatReport.msg_id == msg_id,
        BulletinWeChatReport.finished_at.is_(None),
    )
    return session.scalar(waiting_send.union_all(waiting_report).limit(1)) is not None


def _count(fields: Mapping[str, Any], name: str) -> int | None:
    value = fields.get(name)
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


# Media (临时素材)


def upload_media(
    session: Session, account: Account, kind: str, filename: str, content: bytes, content_type: str
) -> UploadedMedia:
    """POST /cgi-bin/media/upload (multipart field ``media``): a media id valid for 3 days."""
    limit = MEDIA_LIMITS.get(kind)
    if limit is None:
        raise InvalidInput(f"Media is one of {', '.join(MEDIA_LIMITS)}, not {kind!r}.")
    if len(content) > limit:
        raise InvalidInput(f"WeChat takes {kind} files of at most {limit} bytes; this one is {len(content)}.")
    answer = call_with_token(
        session,
        account,
        lambda token: api.upload("/cgi-bin/media/upload", token, {"type": kind}, (filename, content, content_type)),
    )
    return UploadedMedia(
        media_id=str(answer["media_id"]), type=str(answer.get("type", kind)), created_at=int(answer["created_at"])
    )


def download_media(session: Session, account: Account, media_id: str) -> api.Download:
    """GET /cgi-bin/media/get: the file's bytes; MediaExpired (40007) once WeChat no longer has it."""
    max_bytes = get_settings().attachment_max_bytes
    return call_with_token(
        session,
        account,
        lambda token: api.download("/cgi-bin/media/get", token, {"media_id": media_id}, max_bytes=max_bytes),
    )


# Recording outbound messages


def _citizen_id(session: Session, account: Account, openid: str) -> int | None:
    return session.scalar(
        select(CitizenHandle.citizen_id).where(
            CitizenHandle.agency_id == account.agency_id,
            CitizenHandle.channel == CHANNEL,
            CitizenHandle.handle == openid,
        )
    )


def _outbound(
    session: Session, account: Account, openid: str, kind: str, text: str, channel_message_id: str
) -> Message:
    """A Message for what is about to be sent; it joins the session only once the outcome is known."""
    return Message(
        agency_id=account.agency_id,
        account_id=account.id,
        citizen_id=_citizen_id(session, account, openid),
        direction=Direction.OUTBOUND,
        channel=CHANNEL,
        channel_message_id=channel_message_id,
        kind=kind,
        text=text,
        status="sending",
        received_at=utcnow(),
    )


def _sent(session: Session, record: Message) -> Message:
    record.status = "sent"
    record.sent_at = utcnow()
    session.add(record)
    session.flush()
    return record


def _failed(session: Session, record: Message, error: WenzhengError) -> None:
    record.status = "failed"
    record.error_code = error.code[:64]
    session.add(record)
    session.flush()


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
