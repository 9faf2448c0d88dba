"""What the citizen page sends: validated, throttled, and accepted through the one intake action."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from wenzheng.accounts.models import Account
from wenzheng.channels.models import StatusLink
from wenzheng.channels.sms.phones import normalize_phone
from wenzheng.channels.web.photos import clean_photo
from wenzheng.channels.web.throttle import check_and_count
from wenzheng.config import get_settings
from wenzheng.errors import Conflict, InvalidInput, NotFound
from wenzheng.intake.actions import accept
from wenzheng.intake.inbound import Inbound
from wenzheng.intake.replies import decide_reply
from wenzheng.messages.models import Attachment
from wenzheng.validation import clean_text

CHANNEL = "web"
KINDS = ("help", "consultation", "complaint", "suggestion")


@dataclass(frozen=True)
class Submission:
    """A form as the citizen sent it (strings and bytes, unchecked)."""

    kind: str
    text: str
    phone: str = ""
    address: str = ""
    latitude: str = ""
    longitude: str = ""
    photo: bytes = b""
    honeypot: str = ""
    browser_token: str = ""
    ip: str = ""


@dataclass(frozen=True)
class Sent:
    ref: str
    status_token: str
    duplicate: bool


def account_by_slug(session: Session, slug: str) -> Account:
    account = session.execute(select(Account).where(Account.slug == slug)).scalar_one_or_none()
    if account is None:
        raise NotFound("There is no account at this address. Check the link you were given.", code="unknown_account")
    return account


def checked(submission: Submission) -> tuple[str, str, str | None, float | None, float | None, bytes | None]:
    """(kind, text, phone, latitude, longitude, photo JPEG), or a clear error — before anything is written."""
    if submission.honeypot:
        raise InvalidInput("This form looked automated. Please send it again yourself.", code="looks_automated")
    if submission.kind not in KINDS:
        raise InvalidInput(
            "Choose what you are writing: help, consultation, complaint or suggestion.", code="invalid_kind"
        )
    text = clean_text(submission.text, field="text", max_length=2000)
    if "\ufffd" in text:
        raise InvalidInput("The text is not valid UTF-8.", code="invalid_utf8")
    phone = normalize_phone(submission.phone) if submission.phone.strip() else None
    latitude, longitude = _coordinates(submission.latitude, submission.longitude)
    photo = clean_photo(submission.photo) if submission.photo else None
    return submission.kind, text, phone, latitude, longitude, photo


def _coordinates(lat: str, lon: str) -> tuple[float | None, float | None]:
    if not lat.strip() and not lon.strip():
        return None, None
    try:
        latitude, longitude = float(lat), float(lon)
    except ValueError as exc:
        raise InvalidInput(
            "The location must be two numbers (latitude, longitude).", code="invalid_coordinates"
        ) from exc
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise InvalidInput("The location is outside the earth's coordinates.", code="invalid_coordinates")
    return latitude, longitude


def accept_web(session: Session, slug: str, submission: Submission, idempotency_key: str) -> Sent:
    """The intake writer's part: throttle, store the message (and photo) once, issue its private status link."""
    kind, text, phone, latitude, longitude, photo = checked(submission)
    account = account_by_slug(session, slug)
    settings = get_settings()
    check_and_count(session, "web-ip", submission.ip, limit=settings.web_max_messages_per_address_per_hour)
    if phone:
        check_and_count(session, "web-phone", phone, limit=settings.web_max_messages_per_phone_per_hour)
    token = derive_status_token(idempotency_key)
    link_handle = ("link", _hash(token))
    handles = tuple(h for h in (("phone", phone or ""), link_handle) if h[1])
    inbound = Inbound(
        channel=CHANNEL,
        channel_message_id=idempotency_key,
        kind="text",
        handle=submission.browser_token or None,
        text=text,
        latitude=latitude,
        longitude=longitude,
        location_label=clean_text(submission.address, field="address", max_length=300, required=False) or None,
        requested_kind=kind,
        extra_handles=handles,
        payload={"kind": kind, "ip": submission.ip},
    )
    accepted = accept(session, account, inbound, decide_reply=decide_reply)
    if accepted.duplicate:  # the same form sent again (a double tap, a reload): the same link as the first time
        return Sent(accepted.ref or "", token, duplicate=True)
    session.add(StatusLink(agency_id=account.agency_id, message_id=accepted.message_id, token_hash=_hash(token)))
    if photo is not None:
        _store_photo(session, account, accepted.message_id, photo)
    return Sent(accepted.ref or "", token, duplicate=False)


def _store_photo(session: Session, account: Account, message_id: int, photo: bytes) -> None:
    from wenzheng.attachments.store import get_store
    from wenzheng.db import utcnow

    sha256, size = get_store().put(photo)
    session.add(
        Attachment(
            agency_id=account.agency_id,
            message_id=message_id,
            kind="image",
            state="stored",
            sha256=sha256,
            size=size,
            content_type="image/jpeg",
            stored_at=utcnow(),
        )
    )


def derive_status_token(idempotency_key: str) -> str:
    """The status token of a form, derived from its one-time key with our secret: a re-sent form finds the
    link it was given, and nobody without the secret can derive anyone's link."""
    digest = hmac.new(get_settings().secret_key.encode(), b"status-link:" + idempotency_key.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()[:18]).decode()


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def accept_follow_up(session: Session, slug: str, token: str, text: str, idempotency_key: str, ip: str) -> str:
    """A citizen adds to what they sent, from its status page; returns the new message's reference."""
    from wenzheng.channels.status import message_by_status_token

    account = account_by_slug(session, slug)
    original = message_by_status_token(session, account.id, token)
    check_and_count(session, "web-ip", ip, limit=get_settings().web_max_messages_per_address_per_hour)
    inbound = Inbound(
        channel=CHANNEL,
        channel_message_id=idempotency_key,
        kind="text",
        handle=None,
        text=clean_text(text, field="text", max_length=2000),
        parent_id=original.parent_id or original.id,
        extra_handles=(("link", _hash(token)),),
        requested_kind=original.requested_kind,
        payload={"ip": ip},
    )
    return accept(session, account, inbound, decide_reply=decide_reply).ref or ""


FOLLOW_CODE_TEXT = "【{account}】您的关注确认码：{code}，{minutes} 分钟内有效。如非本人操作，请忽略本短信。"
FOLLOW_CODES_PER_PHONE_PER_HOUR = 5  # texts of codes to one number: the page cannot be used to pester a phone
FOLLOW_TRIES_PER_PHONE_PER_HOUR = 10  # codes typed for one number, from anywhere: guessing gets ten tries


def send_follow_code(session: Session, slug: str, phone: str, ip: str, place: str = "") -> str:
    """The first step of following by SMS from the web page: check the number and the county (a place that is not
    one county is refused with what to write instead), then text the number a code (followers.codes). Nothing
    follows yet: anyone can type any number. Returns the number as normalized."""
    from wenzheng.channels.sms.access import sms_binding_of
    from wenzheng.channels.sms.actions import queue_sms
    from wenzheng.followers.codes import CODE_WINDOW_SECONDS, follow_code
    from wenzheng.followers.regions import checked_region

    number = normalize_phone(phone)
    checked_region(place)
    account = account_by_slug(session, slug)
    binding = sms_binding_of(session, account)
    if binding is None:
        raise Conflict(
            "This account sends no SMS yet, so it cannot be followed by SMS: follow it on WeChat, or by mail.",
            code="sms_not_configured",
        )
    check_and_count(session, "web-ip", ip, limit=get_settings().web_max_messages_per_address_per_hour)
    check_and_count(session, "follow-code", number, limit=FOLLOW_CODES_PER_PHONE_PER_HOUR)
    code = follow_code(account.id, number)
    text = FOLLOW_CODE_TEXT.format(account=account.name, code=code, minutes=CODE_WINDOW_SECONDS // 60)
    queue_sms(session, account, to=number, sender=binding.number, text=text, parent_id=None)
    return number


def follow_by_phone(
    session: Session, slug: str, phone: str, ip: str, place: str = "", code: str = "", *, language: str = "zh"
) -> None:
    """Follow the account from the web page with the code texted to the number (send_follow_code): its
    bulletins will come by SMS to this number, and those for the county named in ``place`` (optional: 宝兴县,
    雅安宝兴) too, in the page's ``language``. A wrong or old code is refused, and counted (committed) against the
    address and the number."""
    from wenzheng.followers.actions import follow_without_message
    from wenzheng.followers.codes import code_valid
    from wenzheng.followers.regions import checked_region

    number = normalize_phone(phone)
    region = checked_region(place)
    account = account_by_slug(session, slug)
    check_and_count(session, "web-ip", ip, limit=get_settings().web_max_messages_per_address_per_hour)
    check_and_count(session, "follow-try", number, limit=FOLLOW_TRIES_PER_PHONE_PER_HOUR)
    if not code_valid(account.id, number, code):
        session.commit()  # the attempt counts, though nothing else happens
        raise InvalidInput(
            "That is not the code we texted to this number, or it is more than 10 minutes old: check the SMS, or "
            "ask for a new code.",
            code="wrong_code",
            details={"field": "code"},
        )
    handles = (("phone", number),)
    follower = follow_without_message(session, account, "sms", handles, tags=("from:web",), language=language)
    if region is not None:
        follower.region_code = region
