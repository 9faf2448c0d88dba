"""An SMS gateway's webhook: verified, parsed (form or JSON), and handed to the one intake action."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from sqlalchemy import select
from sqlalchemy.orm import Session

from wenzheng.accounts.models import Account
from wenzheng.channels.models import SmsBinding
from wenzheng.channels.sms.phones import normalize_phone, normalize_service_number
from wenzheng.errors import BadRequest, Forbidden, InvalidInput, NotFound
from wenzheng.followers.keywords import follow_words
from wenzheng.intake.inbound import Inbound

CHANNEL = "sms"
MAX_TEXT = 2000


@dataclass(frozen=True)
class SmsPush:
    sender: str
    to: str
    body: str
    gateway_id: str


def parse_webhook(body: bytes, content_type: str) -> dict[str, str]:
    """The webhook's fields from form encoding or JSON; anything else is refused."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest("The body is not valid UTF-8.", code="invalid_utf8") from exc
    if content_type.startswith("application/json"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadRequest("The body is not valid JSON.", code="malformed_json") from exc
        if not isinstance(data, dict):
            raise BadRequest("The JSON body must be an object.", code="malformed_json")
        return {str(k): str(v) for k, v in data.items() if v is not None}
    if content_type.startswith("application/x-www-form-urlencoded"):
        return {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}
    raise BadRequest(
        "Send the webhook as application/x-www-form-urlencoded or application/json.", code="unsupported_media_type"
    )


def to_push(fields: dict[str, str]) -> SmsPush:
    gateway_id = fields.get("MessageId") or fields.get("MessageSid") or fields.get("id") or ""
    if not gateway_id:
        raise InvalidInput(
            "The webhook needs the gateway's MessageId, so a retried delivery is stored once.",
            code="missing_message_id",
        )
    body = fields.get("Body", "")
    if len(body) > MAX_TEXT:
        raise InvalidInput(f"An SMS body is at most {MAX_TEXT} characters.", code="field_too_long")
    return SmsPush(
        normalize_phone(fields.get("From", ""), field="From"),
        normalize_service_number(fields.get("To", "")),
        body,
        gateway_id[:200],
    )


def account_for_number(session: Session, number: str) -> Account:
    account = session.execute(
        select(Account).join(SmsBinding, SmsBinding.account_id == Account.id).where(SmsBinding.number == number)
    ).scalar_one_or_none()
    if account is None:
        raise NotFound(f"No account receives SMS at {number}.", code="unknown_number")
    return account


def to_inbound(push: SmsPush, raw: dict[str, Any]) -> Inbound:
    action, place = follow_words(push.body)
    return Inbound(
        channel=CHANNEL,
        channel_message_id=push.gateway_id,
        kind="event" if action else "text",
        event=action,
        follow_action=action,
        handle=push.sender,
        text=push.body,
        location_label=place,
        payload=raw,
    )


def require_signature(valid: bool) -> None:
    if not valid:
        raise Forbidden("The webhook signature is missing or wrong (X-Wenzheng-Signature).", code="bad_signature")
