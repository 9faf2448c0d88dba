"""Shared arrangements for the callback tests: a tenant whose account is connected to WeChat."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import SYSTEM, Tenant, create_tenant
from wenzheng.channels.wechat.actions import do_connect_wechat
from wenzheng.channels.wechat.simulate import Credentials, open_reply, signed_push, text_xml

KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP_ID = "wx2c2769f8efd9abc2"
TOKEN = "spamtest"
_msg_ids = itertools.count(24_600_000_000_000_001)


@dataclass
class Connected:
    tenant: Tenant
    credentials: Credentials

    @property
    def url(self) -> str:
        return f"/wechat/{self.tenant.account.slug}"


def connect(db: Session, label: str = "t", *, mode: str = "safe", welcome: str = "") -> Connected:
    tenant = create_tenant(db, label)
    do_connect_wechat(
        db,
        SYSTEM,
        tenant.account,
        app_id=APP_ID,
        token=TOKEN,
        aes_key=KEY,
        encryption_mode=mode,
        original_id="gh_10f6c3c3ac5a",
        welcome_text=welcome,
    )
    return Connected(tenant, Credentials(token=TOKEN, app_id=APP_ID, aes_key=KEY, original_id="gh_10f6c3c3ac5a"))


def next_msg_id() -> int:
    return next(_msg_ids)


def push(client: TestClient, connected: Connected, xml: str, *, encrypt: bool = False) -> tuple[int, str]:
    """Send a push as WeChat would; returns (status, reply XML or body text)."""
    query, body = signed_push(connected.credentials, xml, encrypt=encrypt)
    response = client.post(f"{connected.url}?{query}", content=body, headers={"Content-Type": "text/xml"})
    if response.status_code != 200:
        return response.status_code, response.text
    return 200, open_reply(connected.credentials, response.content)


def send_text(
    client: TestClient,
    connected: Connected,
    content: str,
    *,
    openid: str = "o_citizen_1",
    msg_id: int | None = None,
    encrypt: bool = False,
) -> tuple[int, str]:
    xml = text_xml(content, openid=openid, msg_id=msg_id or next_msg_id(), original_id="gh_10f6c3c3ac5a")
    return push(client, connected, xml, encrypt=encrypt)
