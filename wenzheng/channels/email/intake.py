"""A received mail through the one door: threaded into its conversation, stored once, acknowledged by a job.

``deliver`` is what the SMTP listener calls once DATA is complete. It commits before returning, so the
listener answers 250 only for mail that is durable; any error propagates (the database down, the disk
full), and the listener turns it into a temporary failure that makes the sending server retry.
"""

from __future__ import annotations

import io
import logging
from dataclasses import replace
from functools import partial

from PIL import Image, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wenzheng import db
from wenzheng.accounts.models import Account
from wenzheng.attachments.store import get_store
from wenzheng.cases.followup import rating_reply
from wenzheng.channels.email.bindings import account_by_address
from wenzheng.channels.email.parse import CHANNEL, MailAttachment, ParsedMail, parse_mail
from wenzheng.channels.email.tasks import ACKNOWLEDGE_TASK
from wenzheng.citizens.models import CitizenHandle
from wenzheng.db import utcnow
from wenzheng.errors import PayloadTooLarge
from wenzheng.followers.confirmations import CONFIRM_DAYS, FollowRequest, confirm_url
from wenzheng.followers.keywords import follow_words
from wenzheng.followers.languages import language_request
from wenzheng.followers.models import Follower, FollowerState
from wenzheng.followers.regions import region_reply, region_request
from wenzheng.intake.actions import Accepted, Reply, accept
from wenzheng.intake.inbound import FollowAction, Inbound
from wenzheng.intake.replies import STATUS_QUERY, decide_reply, text_reply
from wenzheng.jobs import queue  # the module: the queue imports every task module, ours included
from wenzheng.messages.models import Attachment, Message

logger = logging.getLogger("wenzheng.channels.email")

FOLLOW_UP_REPLY = "已收到您的补充，已并入受理编号 {ref} 一并办理。"
FOLLOWED = (
    "您已关注「{account}」，将通过邮件收到其公告。{region}回复「地区」加县区名（如「地区 宝兴县」）可收到所在地的预警；"
    "回复「退订」可随时取消。\nFor bulletins in English, reply: English"
)
UNFOLLOWED = "您已退订「{account}」，不会再通过邮件收到其公告。回复「关注」可重新关注。"
CONFIRM_FOLLOW = (
    "有人用您的邮箱地址请求关注「{account}」的公告。如是您本人，请在 {days} 天内打开下面的链接确认：\n{url}\n"
    "如不是您，请忽略本邮件：不确认就不会收到任何公告。"
)


def deliver(raw: bytes, recipients: list[str], *, envelope_sender: str | None = None) -> list[Accepted]:
    """Accept one mail for each bound recipient, in one committed transaction; unbound ones are skipped."""
    parsed = parse_mail(raw, envelope_sender=envelope_sender)
    try:
        return _deliver_once(parsed, recipients)
    except IntegrityError:  # the same mail arrived through another connection a moment ago
        return _deliver_once(parsed, recipients)


def _deliver_once(parsed: ParsedMail, recipients: list[str]) -> list[Accepted]:
    with db.session_factory()() as session:
        accepted = []
        for recipient in dict.fromkeys(recipients):
            account = account_by_address(session, recipient)
            if account is not None:
                accepted.append(accept_mail(session, account, parsed, recipient=recipient))
        session.commit()
        return accepted


def accept_mail(session: Session, account: Account, parsed: ParsedMail, *, recipient: str) -> Accepted:
    """Store the mail once for ``account`` (uncommitted), threaded into the conversation it continues."""
    parent = conversation_of(session, account, parsed)
    inbound = to_inbound(parsed, recipient=recipient, parent=parent)
    if inbound.follow_action in (FollowAction.FOLLOW, FollowAction.PLACE, FollowAction.LANGUAGE) and not _follows(
        session, account, parsed.sender
    ):
        # Anyone can write any From address: a new follower confirms by a link only the address's owner receives.
        inbound = replace(inbound, event=FollowAction.REQUEST, follow_action=None)
    return accept(
        session,
        account,
        inbound,
        decide_reply=partial(_decide_reply, parent=parent, sender=parsed.sender),
        side_effect=partial(_on_new_mail, parsed=parsed),
    )


def _follows(session: Session, account: Account, sender: str) -> bool:
    return (
        session.scalar(
            select(Follower.id).where(
                Follower.account_id == account.id,
                Follower.channel == CHANNEL,
                Follower.handle == sender,
                Follower.state == FollowerState.FOLLOWING,
            )
        )
        is not None
    )


def to_inbound(parsed: ParsedMail, *, recipient: str, parent: Message | None = None) -> Inbound:
    action, place = _follow_words(parsed)
    return Inbound(
        channel=CHANNEL,
        channel_message_id=parsed.message_id,
        kind="event" if action else "text",
        event=action,
        follow_action=action,
        location_label=place,
        handle=parsed.sender or None,
        text=parsed.text or parsed.subject,
        sent_at=parsed.sent_at,
        parent_id=conversation_id(parent) if parent is not None else None,
        payload={
            "subject": parsed.subject,
            "from": parsed.sender,
            "to": recipient,
            "message_id": parsed.message_id if parsed.has_own_id else None,
            "references": list(parsed.references),
            "automatic": parsed.automatic,
            "attachments": [{"filename": a.filename, "content_type": a.content_type} for a in parsed.attachments],
        },
    )


def _follow_words(parsed: ParsedMail) -> tuple[str | None, str | None]:
    """关注 / 退订 / 「地区 宝兴县」 as the whole body, or as the subject of a mail with no body of its own (what a
    mail program's unsubscribe button sends: the List-Unsubscribe address, subject 退订). An automatic mail
    (an out-of-office answer) never follows or unfollows anyone."""
    if parsed.automatic or not parsed.sender:
        return None, None
    body = (parsed.text or "").strip()
    action, place = follow_words(body) if body else (None, None)
    if action is None and (not body or body == parsed.subject.strip()):
        action, place = follow_words(parsed.subject)
    return action, place


def conversation_of(session: Session, account: Account, parsed: ParsedMail) -> Message | None:
    """The message this mail continues: one whose Message-ID it answers (ours or the citizen's), else one
    whose reference its subject quotes. A reference is short and guessable, so it only threads mail from
    the same citizen; a Message-ID is only known to those who received the mail."""
    for message_id in parsed.replied_ids:
        found = _by_message_id(session, account, message_id)
        if found is not None:
            return found
    citizen_id = _citizen_of_sender(session, account, parsed.sender)
    if citizen_id is None:
        return None
    for ref in parsed.subject_refs:
        found = session.execute(
            select(Message)
            .where(Message.account_id == account.id)
            .where(Message.ref == ref)
            .where(Message.citizen_id == citizen_id)
        ).scalar_one_or_none()
        if found is not None:
            return found
    return None


def conversation_id(message: Message) -> int:
    """The first message of the conversation ``message`` belongs to."""
    return message.parent_id or message.id


def _by_message_id(session: Session, account: Account, message_id: str) -> Message | None:
    return session.execute(
        select(Message)
        .where(Message.account_id == account.id)
        .where(Message.channel == CHANNEL)
        .where(Message.channel_message_id == message_id)
        .limit(1)
    ).scalar_one_or_none()


def _citizen_of_sender(session: Session, account: Account, sender: str) -> int | None:
    if not sender:
        return None
    return session.execute(
        select(CitizenHandle.citizen_id)
        .where(CitizenHandle.agency_id == account.agency_id)
        .where(CitizenHandle.channel == "email")
        .where(CitizenHandle.handle == sender)
    ).scalar_one_or_none()


def _decide_reply(
    session: Session, account: Account, message: Message, *, parent: Message | None, sender: str
) -> Reply | None:
    if message.event == FollowAction.REQUEST:
        language = language_request(message.text or "") or ""
        request = FollowRequest(account.id, sender, message.location_label or "", language)
        url = confirm_url(account.slug, request)
        return text_reply(CONFIRM_FOLLOW.format(account=account.name, days=CONFIRM_DAYS, url=url))
    if message.event == FollowAction.FOLLOW:
        named = region_request(message.location_label or "")
        return text_reply(FOLLOWED.format(account=account.name, region=region_reply(named) if named else ""))
    if message.event == FollowAction.UNFOLLOW:
        return text_reply(UNFOLLOWED.format(account=account.name))
    if (
        parent is None
        or message.event in (FollowAction.PLACE, FollowAction.LANGUAGE)
        or STATUS_QUERY.match(message.text)
    ):
        return decide_reply(session, account, message)
    rated = rating_reply(session, message)  # 回访: 「5」 answered to our request for a rating
    if rated is not None:
        return text_reply(rated)
    first = session.get_one(Message, conversation_id(parent))
    return text_reply(FOLLOW_UP_REPLY.format(ref=first.ref or message.ref))


def _on_new_mail(session: Session, account: Account, message: Message, *, parsed: ParsedMail) -> None:
    """What a first delivery adds in the same transaction: the attachments and the acknowledgement job."""
    for attachment in parsed.attachments:
        session.add(_stored_attachment(message, attachment))
    if parsed.sender and not parsed.automatic:
        queue.enqueue(session, ACKNOWLEDGE_TASK, {"message_id": message.id}, agency_id=account.agency_id)


def _stored_attachment(message: Message, attachment: MailAttachment) -> Attachment:
    """An attachment row with its bytes in the store; one too large, or an "image" that is not, is kept
    as a failed row (the text of the mail matters more than its files)."""
    row = Attachment(
        agency_id=message.agency_id, message_id=message.id, kind=attachment_kind(attachment), channel_media_id=""
    )
    row.content_type, row.size = attachment.content_type, len(attachment.data)
    if attachment.content_type.startswith("image/") and row.kind != "image":
        return _failed(row, "not_an_image: the bytes are not an image of a known format")
    try:
        row.sha256, _size = get_store().put(attachment.data)
    except PayloadTooLarge as error:
        return _failed(row, f"{error.code}: {error.message}")
    row.state, row.stored_at = "stored", utcnow()
    return row


def attachment_kind(attachment: MailAttachment) -> str:
    """ "image" for bytes that really are an image (whatever the mail claims), else "file"."""
    try:
        with Image.open(io.BytesIO(attachment.data)) as image:
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return "file"
    return "image"


def _failed(row: Attachment, reason: str) -> Attachment:
    logger.info("attachment of message %s not stored: %s", row.message_id, reason)
    row.state, row.error = "failed", reason[:500]
    return row
