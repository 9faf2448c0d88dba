"""The HTTP SMS-gateway adapter: wenzheng's one contract with whichever gateway an installation uses.

Send: ``POST {WENZHENG_SMS_GATEWAY_URL}`` with ``Authorization: Bearer {WENZHENG_SMS_GATEWAY_KEY}`` and JSON
``{"to", "from", "text", "client_ref"}``; the gateway answers ``{"id": "…"}``. Inbound messages and delivery
receipts come back to ``/sms/inbound`` and ``/sms/receipts``, signed with HMAC-SHA256 of the raw body under
``WENZHENG_SMS_WEBHOOK_SECRET`` in the header ``X-Wenzheng-Signature: sha256=<hex>``.
"""

from __future__ import annotations

import hashlib
import hmac

import httpx

from wenzheng.config import get_settings
from wenzheng.errors import Unavailable

SIGNATURE_HEADER = "x-wenzheng-signature"


class SmsNotConfigured(Unavailable):
    code = "sms_not_configured"


class SmsGatewayError(Unavailable):
    code = "sms_gateway_error"


def sign(body: bytes, secret: str | None = None) -> str:
    key = (secret if secret is not None else get_settings().sms_webhook_secret).encode()
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def signature_valid(body: bytes, header: str) -> bool:
    return bool(header) and hmac.compare_digest(sign(body), header.strip())


def send_sms(*, to: str, sender: str, text: str, client_ref: str) -> str:
    """Hand one SMS to the gateway; returns the gateway's id for it. Raises a retryable error on failure."""
    settings = get_settings()
    if not settings.sms_gateway_url:
        raise SmsNotConfigured("No SMS gateway is configured (WENZHENG_SMS_GATEWAY_URL); SMS replies cannot be sent.")
    try:
        response = httpx.post(
            settings.sms_gateway_url,
            json={"to": to, "from": sender, "text": text, "client_ref": client_ref},
            headers={"Authorization": f"Bearer {settings.sms_gateway_key}"} if settings.sms_gateway_key else {},
            timeout=10,
        )
    except httpx.HTTPError as exc:
        raise SmsGatewayError(f"The SMS gateway cannot be reached ({type(exc).__name__}).") from exc
    if response.status_code >= 300:
        raise SmsGatewayError(f"The SMS gateway refused the message (HTTP {response.status_code}).")
    gateway_id = (
        response.json().get("id") if response.headers.get("content-type", "").startswith("application/json") else None
    )
    if not gateway_id:
        raise SmsGatewayError("The SMS gateway answered without a message id.")
    return str(gateway_id)
