"""Operators answer through the citizen's channel; when WeChat cannot deliver, they see why and fall back."""

from __future__ import annotations

import datetime as dt
import re

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.citizen.test_web_page import send
from tests.factories import create_user, login
from tests.wechat.callback_helpers import connect, send_text
from wenzheng.audit.models import AuditEvent
from wenzheng.messages.models import Direction, Message
from wenzheng.staff.roles import Role


def _inbound(db: Session) -> Message:
    return db.execute(select(Message).where(Message.direction == Direction.INBOUND)).scalars().first()  # type: ignore[return-value]


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    return match.group(1)


def test_an_answer_on_the_status_page_reaches_the_web_citizen(client: TestClient, db: Session) -> None:
    connected = connect(db, mode="plaintext")
    status_path = send(client, connected.tenant.account.slug, text="安置点在哪里？").headers["location"].split("?")[0]
    message = _inbound(db)
    login(client, connected.tenant.operator.username)
    page = client.get(f"/console/messages/{message.id}").text
    response = client.post(
        f"/console/messages/{message.id}/reply",
        data={"csrf_token": _csrf(page), "text": "最近的安置点在县体育馆。", "channel": "web"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    client.cookies.clear()
    assert "最近的安置点在县体育馆。" in client.get(status_path).text
    assert db.execute(select(AuditEvent).where(AuditEvent.action == "console:message:reply")).scalar_one()


def test_outside_the_wechat_window_the_operator_sees_why_and_falls_back(client: TestClient, db: Session) -> None:
    connected = connect(db, mode="plaintext")
    send_text(client, connected, "桥断了，什么时候修？", openid="o_late")
    message = _inbound(db)
    three_days_ago = message.received_at - dt.timedelta(days=3)
    db.execute(update(Message).where(Message.id == message.id).values(received_at=three_days_ago))
    db.commit()
    login(client, connected.tenant.operator.username)
    page = client.get(f"/console/messages/{message.id}").text
    refused = client.post(
        f"/console/messages/{message.id}/reply",
        data={"csrf_token": _csrf(page), "text": "已派人查看。", "channel": "wechat"},
    )
    assert refused.status_code == 200
    assert 'data-code="wechat_outside_window"' in refused.text and "已派人查看。" in refused.text
    assert 'value="web"' in refused.text  # the fallback is offered
    events = db.execute(select(AuditEvent.data).where(AuditEvent.action == "console:message:reply")).scalars().all()
    assert events == [{"channel": "wechat", "refused": "wechat_outside_window"}]
    fallback = client.post(
        f"/console/messages/{message.id}/reply",
        data={"csrf_token": _csrf(page), "text": "已派人查看。", "channel": "web"},
        follow_redirects=False,
    )
    assert fallback.status_code == 303
    # The citizen can read it by asking for their reference on WeChat.
    reply = send_text(client, connected, f"查询 {message.ref}", openid="o_late")[1]
    assert "已派人查看。" in reply


def test_viewers_cannot_answer(client: TestClient, db: Session) -> None:
    connected = connect(db, mode="plaintext")
    send_text(client, connected, "咨询")
    message = _inbound(db)
    viewer = create_user(db, connected.tenant.agency, Role.VIEWER)
    csrf = login(client, viewer.username)
    page = client.get(f"/console/messages/{message.id}").text
    assert 'id="reply"' not in page
    refused = client.post(
        f"/console/messages/{message.id}/reply", data={"csrf_token": csrf, "text": "x", "channel": "web"}
    )
    assert refused.status_code == 403
