"""WeChat calling us: URL verification, and a push verified, decrypted, accepted once and answered.

Order matters: the signature and the replay window are checked before the body is trusted, and the
reply is only produced after ``accept`` has committed, so nothing is acknowledged before it is durable.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy.orm import Session

from wenzheng.accounts.models import Account
from wenzheng.channels.wechat import crypto
from wenzheng.channels.wechat.bindings import CachedBinding, cached_binding
from wenzheng.channels.wechat.models import WeChatBinding
from wenzheng.channels.wechat.parse import parse_xml, to_inbound
from wenzheng.channels.wechat.reply import SUCCESS, encrypted_envelope, render
from wenzheng.config import get_settings
from wenzheng.errors import BadRequest, Forbidden
from wenzheng.intake.actions import Accepted, AcceptRequest
from wenzheng.intake.replies import decide_reply
from wenzheng.jobs.registry import get_task
from wenzheng.messages.models import Message

MEDIA_TASK = "wechat.fetch_media"


@dataclass(frozen=True)
class Query:
    signature: str = ""
    timestamp: str = ""
    nonce: str = ""
    encrypt_type: str = ""
    msg_signature: str = ""

    @classmethod
    def of(cls, params: dict[str, str]) -> Query:
        return cls(**{k: params.get(k, "") for k in cls.__dataclass_fields__})


def verify_url(slug: str, query: Query, echostr: str) -> str:
    _verified_binding(slug, query)
    return echostr


@dataclass(frozen=True)
class OpenedPush:
    """A push whose signature checked out, decrypted and parsed: ready for the intake writer."""

    binding: WeChatBinding
    account: Account
    query: Query
    fields: dict[str, Any]
    key_used: str | None


def open_push(slug: str, query: Query, body: bytes) -> OpenedPush:
    """Verify and open a push before anything is written. A cached binding that refuses it is reloaded once,
    so a token or key the agency has just changed takes effect at once."""
    try:
        return _open_with(cached_binding(slug), query, body)
    except (Forbidden, BadRequest):
        return _open_with(cached_binding(slug, fresh=True), query, body)


def _open_with(entry: CachedBinding, query: Query, body: bytes) -> OpenedPush:
    check_signature(entry.binding, query)
    fields, key_used = _open(entry.binding, query, body)
    return OpenedPush(entry.binding, entry.account, query, fields, key_used)


def _verified_binding(slug: str, query: Query) -> WeChatBinding:
    try:
        binding = cached_binding(slug).binding
        check_signature(binding, query)
    except Forbidden:
        binding = cached_binding(slug, fresh=True).binding
        check_signature(binding, query)
    return binding


def check_signature(binding: WeChatBinding, query: Query) -> None:
    if not (query.signature and query.timestamp and query.nonce):
        raise Forbidden("The request is not signed (signature, timestamp and nonce needed).", code="bad_signature")
    if not crypto.signature_matches(query.signature, binding.token, query.timestamp, query.nonce):
        raise Forbidden("The signature does not match this account's token.", code="bad_signature")
    _check_fresh(query.timestamp)


def _check_fresh(timestamp: str) -> None:
    window = get_settings().wechat_replay_window_seconds
    try:
        skew = abs(time.time() - int(timestamp))
    except ValueError as exc:
        raise Forbidden("The timestamp is not a number.", code="bad_signature") from exc
    if skew > window:
        raise Forbidden(f"The timestamp is {int(skew)} s away from our clock (allowed {window} s).", code="replayed")


def accept_request(opened: OpenedPush) -> AcceptRequest:
    """What the intake writer stores for a push (with its neighbours, in one commit): the push once, with
    its reply."""
    return AcceptRequest(
        opened.account,
        to_inbound(opened.fields),
        decide_reply=partial(decide_reply, welcome_text=opened.binding.welcome_text),
        media_task=MEDIA_TASK if get_task(MEDIA_TASK) else None,
        side_effect=_wechat_effects,
    )


def answer(opened: OpenedPush, accepted: Accepted) -> tuple[bytes, str]:
    """The HTTP answer to WeChat: ``success``, or the reply XML (encrypted with the key the push used)."""
    if accepted.reply is None:
        return SUCCESS, "text/plain"
    fields, binding = opened.fields, opened.binding
    xml = render(accepted.reply, to_user=str(fields["FromUserName"]), from_user=str(fields.get("ToUserName", "")))
    if opened.key_used is None:
        return xml.encode(), "application/xml"
    envelope = encrypted_envelope(
        xml,
        token=binding.token,
        aes_key=opened.key_used,
        app_id=binding.app_id,
        timestamp=opened.query.timestamp,
        nonce=opened.query.nonce,
    )
    return envelope.encode(), "application/xml"


def _open(binding: WeChatBinding, query: Query, body: bytes) -> tuple[dict[str, Any], str | None]:
    """The push's fields, and the AES key that decrypted it (None for plaintext)."""
    envelope = parse_xml(body)
    if query.encrypt_type.lower() != "aes":
        return envelope, None
    encrypted = envelope.get("Encrypt")
    if not isinstance(encrypted, str) or not encrypted:
        raise BadRequest("encrypt_type=aes but the body has no <Encrypt> element.", code="malformed_push")
    if not crypto.signature_matches(query.msg_signature, binding.token, query.timestamp, query.nonce, encrypted):
        raise Forbidden("The msg_signature does not match this account's token.", code="bad_signature")
    for key in (k for k in (binding.aes_key, binding.previous_aes_key) if k):
        try:
            return parse_xml(crypto.decrypt(key, encrypted, binding.app_id)), key
        except crypto.WeChatCryptoError:
            continue
    raise BadRequest(
        "The push cannot be decrypted with this account's EncodingAESKey (current or previous). "
        "Check that the key and AppID entered here match the WeChat console.",
        code="undecryptable",
    )


def _wechat_effects(session: Session, account: Account, message: Message) -> None:
    """Delivery reports for our own sends arrive as events: record them against what we sent."""
    if message.event not in ("masssendjobfinish", "templatesendjobfinish"):
        return
    from wenzheng.channels.wechat import outbound  # the outbound side imports much more; only load it here

    if message.event == "masssendjobfinish":
        outbound.record_mass_send_finished(session, account, message.payload)
    else:
        outbound.record_template_send_finished(
            session, account, str(message.payload.get("MsgID", "")), str(message.payload.get("Status", ""))
        )
