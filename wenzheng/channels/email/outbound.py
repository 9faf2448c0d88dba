"""Mail to citizens over SMTP: replies threaded to their mail, and the acknowledgement after a new one.

Every mail leaves a ``Message`` row (direction "out", channel "email", status "sent" or "failed" with an
``error_code``) whose ``channel_message_id`` is the Message-ID we gave it, so a citizen's answer to it
(In-Reply-To) finds its conversation. A temporary failure (the relay unreachable, a 4xx answer) raises
``MailUnavailable``, which a job lets through to be retried; a refusal (5xx) raises ``MailRejected``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import smtplib
import ssl
import uuid
from dataclasses import dataclass, replace
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from wenzheng.accounts.models import Account
from wenzheng.channels.email.bindings import binding_of_account
from wenzheng.channels.email.parse import CHANNEL
from wenzheng.channels.status import issue_status_link, status_url
from wenzheng.config import get_settings
from wenzheng.db import utcnow
from wenzheng.errors import InvalidInput, Unavailable, WenzhengError
from wenzheng.messages import delivery
from wenzheng.messages.models import Direction, Message
from wenzheng.validation import clean_text

logger = logging.getLogger("wenzheng.channels.email")

SMTP_TIMEOUT_SECONDS = 30.0
MAX_REFERENCES = 20  # keep the first and the latest: some servers refuse very long References headers
STATUS_LINK_LINE = "\n\n查看办理进度 / Status: {url}"
DEFAULT_SUBJECT = "您的来信"
MAX_REPLY_CHARACTERS = 20_000


class MailUnavailable(Unavailable):
    """The relay cannot take the mail now (unreachable, or a 4xx answer): try again later."""

    code = "smtp_unavailable"


class MailRejected(WenzhengError):
    """The relay refused the mail for good (a 5xx answer): retrying will not help."""

    status = 502
    code = "smtp_rejected"


@dataclass(frozen=True)
class Outgoing:
    """One mail to send, with its threading headers (Message-IDs without angle brackets)."""

    sender: str
    sender_name: str
    recipient: str
    subject: str
    body: str
    message_id: str
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    auto_reply: bool = False


def send_reply(
    session: Session, account: Account, to_message: Message, text: str, *, purpose: str = delivery.ANSWER
) -> Message:
    """Answer a citizen's mail; the recorded Message, or the typed error after recording the failure (and, when
    the relay refused it for good, telling its case)."""
    body = check_reply_text(text)
    outgoing = reply_to(session, account, to_message, body, message_id=new_message_id())
    record = _record(account, to_message, outgoing, purpose=purpose)
    try:
        send_mail(outgoing)
    except WenzhengError as error:
        _finish(session, record, error)
        if isinstance(error, MailRejected):  # final; a temporary failure is the job's to retry
            delivery.note_undelivered(session, record)
        raise
    return _finish(session, record)


def record_unsent_reply(
    session: Session, to_message: Message, text: str, *, code: str, purpose: str = delivery.ANSWER
) -> Message:
    """A reply that never left (the account lost its address, or the relay failed every try), put in the
    conversation as failed with ``code``, so that staff see it and can answer another way; its case is told."""
    record = Message(
        agency_id=to_message.agency_id,
        account_id=to_message.account_id,
        citizen_id=to_message.citizen_id,
        direction=Direction.OUTBOUND,
        channel=CHANNEL,
        channel_message_id=f"unsent:{uuid.uuid4().hex}",
        kind="text",
        parent_id=to_message.parent_id or to_message.id,
        text=text,
        payload={
            "purpose": purpose,
            "to": (to_message.payload or {}).get("from"),
            "reply_to_message_id": to_message.id,
        },
        status="failed",
        error_code=code[:64],
        received_at=utcnow(),
    )
    session.add(record)
    session.flush()
    delivery.note_undelivered(session, record)
    return record


def send_acknowledgement(session: Session, message_id: int) -> Message | None:
    """Mail the reply decided at intake (the reference, and a status link for a new conversation).

    Its Message-ID is derived from the inbound message, so a retried job finds its earlier send and
    stops, and a mail sent twice anyway carries one Message-ID that mail programs show once.
    """
    message = session.get(Message, message_id)
    if message is None or message.direction != Direction.INBOUND or not (message.reply or {}).get("content"):
        return None
    account = session.get_one(Account, message.account_id)
    mail_id = acknowledgement_id(message)
    if _already_recorded(session, account, mail_id):
        return None
    if binding_of_account(session, account) is None:
        logger.info("no acknowledgement for message %s: its account has no e-mail address now", message.id)
        return None
    outgoing = reply_to(session, account, message, _acknowledgement_text(session, account, message), message_id=mail_id)
    outgoing = replace(outgoing, auto_reply=True)
    record = _record(account, message, outgoing, purpose="acknowledgement")
    try:
        send_mail(outgoing)
    except MailRejected as error:
        return _finish(session, record, error)  # recorded; retrying cannot help
    return _finish(session, record)


def reply_to(session: Session, account: Account, to_message: Message, body: str, *, message_id: str) -> Outgoing:
    """The mail answering ``to_message``: to its sender, from the account's address, in its thread."""
    payload = to_message.payload or {}
    recipient = reply_address(to_message)
    binding = binding_of_account(session, account)
    if binding is None:
        raise InvalidInput("This account has no e-mail address; set one first.", code="no_email_address")
    replied = payload.get("message_id")
    references = [*payload.get("references", []), *([replied] if replied else [])]
    return Outgoing(
        sender=binding.address,
        sender_name=account.name,
        recipient=recipient,
        subject=reply_subject(str(payload.get("subject") or ""), _conversation_ref(session, to_message)),
        body=body,
        message_id=message_id,
        in_reply_to=replied,
        references=_trim(references),
    )


def reply_address(to_message: Message) -> str:
    """Where an answer to ``to_message`` goes: its sender; InvalidInput when it is not a citizen's mail."""
    address = str((to_message.payload or {}).get("from") or "")
    if to_message.channel != CHANNEL or to_message.direction != Direction.INBOUND or not address:
        raise InvalidInput("Only a citizen's mail can be answered by mail.", code="no_reply_address")
    return address


def check_reply_text(text: str) -> str:
    return clean_text(text, field="text", max_length=MAX_REPLY_CHARACTERS)


def reply_subject(subject: str, ref: str | None) -> str:
    """ "Re: " once, and the conversation's reference, so that an answer threads by subject too."""
    subject = subject.strip() or DEFAULT_SUBJECT
    if not subject.lower().startswith(("re:", "回复:", "回复：")):
        subject = f"Re: {subject}"
    return f"{subject} [{ref}]" if ref and ref not in subject else subject


def compose(outgoing: Outgoing) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = Address(display_name=outgoing.sender_name, addr_spec=outgoing.sender)
    mail["To"] = outgoing.recipient
    mail["Subject"] = outgoing.subject
    mail["Date"] = format_datetime(utcnow())
    mail["Message-ID"] = f"<{outgoing.message_id}>"
    if outgoing.in_reply_to:
        mail["In-Reply-To"] = f"<{outgoing.in_reply_to}>"
    if outgoing.references:
        mail["References"] = " ".join(f"<{ref}>" for ref in outgoing.references)
    if outgoing.auto_reply:
        mail["Auto-Submitted"] = "auto-replied"  # RFC 3834: other robots must not answer it
    mail.set_content(outgoing.body)
    return mail


def send_mail(outgoing: Outgoing) -> None:
    """Hand the mail to the configured relay (WENZHENG_SMTP_*), with typed errors."""
    settings = get_settings()
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password)
            smtp.send_message(compose(outgoing), from_addr=outgoing.sender, to_addrs=[outgoing.recipient])
    except smtplib.SMTPRecipientsRefused as error:
        code, answer = next(iter(error.recipients.values()))
        raise _answered(code, answer) from error
    except smtplib.SMTPResponseException as error:
        raise _answered(error.smtp_code, error.smtp_error) from error
    except (OSError, smtplib.SMTPException) as error:
        raise MailUnavailable(
            f"The mail relay {settings.smtp_host}:{settings.smtp_port} cannot be reached ({error})."
        ) from error


def new_message_id() -> str:
    return f"{uuid.uuid4().hex}@{get_settings().mail_domain}"


def acknowledgement_id(message: Message) -> str:
    """A Message-ID fixed for this inbound message and not guessable (it threads answers into the case)."""
    key = get_settings().secret_key.encode()
    tag = hmac.new(key, f"email-ack:{message.id}".encode(), hashlib.sha256).hexdigest()[:20]
    return f"ack.{message.id}.{tag}@{get_settings().mail_domain}"


def _acknowledgement_text(session: Session, account: Account, message: Message) -> str:
    content = str((message.reply or {}).get("content", ""))
    if message.parent_id is None and message.ref and message.ref in content:
        token = issue_status_link(session, message.id, message.agency_id)
        content += STATUS_LINK_LINE.format(url=status_url(account.slug, token))
    return content


def _conversation_ref(session: Session, message: Message) -> str | None:
    if message.parent_id is None:
        return message.ref
    return session.execute(select(Message.ref).where(Message.id == message.parent_id)).scalar_one_or_none()


def _trim(references: list[str]) -> tuple[str, ...]:
    unique = list(dict.fromkeys(ref for ref in references if ref))
    if len(unique) <= MAX_REFERENCES:
        return tuple(unique)
    return (unique[0], *unique[-(MAX_REFERENCES - 1) :])


def _answered(code: int, answer: bytes | str) -> WenzhengError:
    text = answer.decode(errors="replace") if isinstance(answer, bytes) else answer
    error_type = MailUnavailable if 400 <= code < 500 else MailRejected
    return error_type(f"The mail relay answered {code} {text}.", code=f"smtp_{code}")


def _already_recorded(session: Session, account: Account, mail_id: str) -> bool:
    return (
        session.execute(
            select(Message.id)
            .where(Message.account_id == account.id)
            .where(Message.channel == CHANNEL)
            .where(Message.channel_message_id == mail_id)
        ).first()
        is not None
    )


def _record(account: Account, to_message: Message, outgoing: Outgoing, *, purpose: str) -> Message:
    """The outbound row for a mail about to be sent; it joins the session once the outcome is known."""
    return Message(
        agency_id=account.agency_id,
        account_id=account.id,
        citizen_id=to_message.citizen_id,
        direction=Direction.OUTBOUND,
        channel=CHANNEL,
        channel_message_id=outgoing.message_id,
        kind="text",
        parent_id=to_message.parent_id or to_message.id,
        text=outgoing.body,
        payload={
            "purpose": purpose,
            "to": outgoing.recipient,
            "subject": outgoing.subject,
            "in_reply_to": outgoing.in_reply_to,
            "references": list(outgoing.references),
            "reply_to_message_id": to_message.id,
        },
        status="sending",
        received_at=utcnow(),
    )


def _finish(session: Session, record: Message, error: WenzhengError | None = None) -> Message:
    if error is None:
        record.status, record.sent_at = "sent", utcnow()
    else:
        record.status, record.error_code = "failed", error.code[:64]
    session.add(record)
    session.flush()
    return record
